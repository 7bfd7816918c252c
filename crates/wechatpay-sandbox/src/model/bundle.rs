//! Stock bundles (批次组) as stored: one stock per round (`stock_bundle_index`
//! 0, 1, …; as many as the product coupon's `progressive_bundle_usage_info.count`),
//! each with the bundle's send rule and its round's usage rule. Sending the
//! bundle issues one coupon per stock, so every stock's counters equal the
//! bundle's.

use rusqlite::Connection;
use wechatpay_models::{
    ProductCouponEntity, StockBundleForCreate, StockEntity, StockSendRule, StockSentCountInfo,
    StockState, StockUsageRule,
};

use crate::model::stock;
use crate::replies::Rejection;
use crate::sql;

/// Rounds of a bundle whose product coupon gives no count (the documented minimum).
const DEFAULT_ROUNDS: i64 = 3;

/// Stores bundle `bundle_id` of `pc` as SENDING stocks. The caller checked
/// that `b` has a usage rule (`progressive_bundle_usage_rule`).
pub fn insert(
    db: &Connection,
    pc: &ProductCouponEntity,
    bundle_id: &str,
    b: &StockBundleForCreate,
) -> Result<(), Rejection> {
    let rule = b
        .progressive_bundle_usage_rule
        .as_ref()
        .ok_or_else(|| Rejection::internal("a bundle without a usage rule"))?;
    let rounds = pc
        .progressive_bundle_usage_info
        .as_ref()
        .map_or(DEFAULT_ROUNDS, |i| i.count)
        .clamp(1, 15);
    let seq = sql::next_seq(db)?;
    sql::exec(
        db,
        "INSERT INTO stock_bundles (id, product_coupon_id, seq) VALUES (?1, ?2, ?3)",
        rusqlite::params![bundle_id, pc.product_coupon_id, seq],
    )?;
    let mut send_rule = StockSendRule::new(
        b.stock_send_rule.max_count,
        b.stock_send_rule.max_count_per_user,
    );
    send_rule.max_count_per_day = b.stock_send_rule.max_count_per_day;
    for round in 0..rounds {
        // Each round's rule; a shorter list repeats its last entry.
        fn pick<T: Clone>(list: &Option<Vec<T>>, round: i64) -> Option<T> {
            let list = list.as_ref()?;
            list.get((round as usize).min(list.len().saturating_sub(1)))
                .cloned()
        }
        let mut usage = StockUsageRule::new(rule.coupon_available_period.clone());
        usage.normal_coupon = pick(&rule.normal_coupon_list, round);
        usage.discount_coupon = pick(&rule.discount_coupon_list, round);
        usage.exchange_coupon = pick(&rule.exchange_coupon_list, round);
        let id = stock::new_id(db, &pc.product_coupon_id)?;
        let mut e = StockEntity::new(
            pc.product_coupon_id.as_str(),
            id.as_str(),
            b.coupon_code_mode.clone(),
            send_rule.clone(),
            b.usage_rule_display_info.clone(),
            b.coupon_display_info.clone(),
            b.notify_config.clone(),
            b.store_scope.clone(),
            StockSentCountInfo::new(),
            StockState::Sending,
        );
        e.remark = b.remark.clone();
        e.progressive_bundle_usage_rule = Some(usage);
        stock::insert(db, &e, Some((bundle_id, round)))?;
    }
    Ok(())
}
