//! The ids of the doc examples, present from the first start so that the
//! examples work out of the box. Every value comes from the schema's own
//! examples (`EndpointInfo::request_examples` / `response_examples`):
//!
//! - product coupon 1000000013 and its stock 1000000013001: the
//!   send-user-product-coupon reply example (UPLOAD, one coupon per user),
//!   with `UPLOADED_CODES` uploaded codes and the page's `Code_123456` last;
//! - product coupon 200000001 (PROGRESSIVE_BUNDLE, 3 rounds, display info of
//!   the create-product-coupon example) with stock bundles 100232301,
//!   123456789 and 712315129419284901 built from the create-stock-bundle
//!   example — in WECHATPAY mode so that they issue without uploaded codes,
//!   and 123456789 with the max_count 1 that the update-stock-bundle-budget
//!   example names as current;
//! - merchant stocks 12312354 and 1262260000000268 (seed page 000).
//!
//! Availability windows keep the examples' length but start on the day the
//! state is created, so the seeded stocks are SENDING now.

use rusqlite::{params, Connection};
use serde_json::Value;
use wechatpay_models::{
    CouponAvailablePeriod, CouponCodeMode, CreateProductCouponRequest, ProductCouponEntity,
    ProductCouponScope, ProductCouponState, ProductCouponType, ProgressiveBundleUsageInfo,
    StockBundleForCreate, StockEntity, StockSentCountInfo, StockState, UsageMode,
};

use crate::clock::{datetime, start_of_day};
use crate::model::{bundle, product_coupon, stock};
use crate::replies::Rejection;
use crate::sql;
use crate::tenancy::Owner;

/// Uploaded codes of stock 1000000013001 besides the page's `Code_123456`.
pub const UPLOADED_CODES: usize = 999;
/// The code the doc's send example asks for.
pub const EXAMPLE_CODE: &str = "Code_123456";

fn example(operation: &str, response: bool) -> Result<Value, Rejection> {
    let info = wechatpay_endpoints::find(operation)
        .ok_or_else(|| Rejection::internal(format!("no operation {operation}")))?;
    let examples = if response {
        info.response_examples
    } else {
        info.request_examples
    };
    let first = examples
        .first()
        .ok_or_else(|| Rejection::internal(format!("{operation} has no example")))?;
    Ok(serde_json::from_str(first.body)?)
}

/// Moves a period to start today (business time `now`), keeping its length.
fn rebase(period: &mut CouponAvailablePeriod, now: i64) {
    let begin = period.available_begin_time.unix_timestamp();
    let end = period.available_end_time.unix_timestamp();
    let start = start_of_day(now);
    period.available_begin_time = datetime(start);
    period.available_end_time = datetime(start + (end - begin));
}

/// Seeds a fresh store: the examples belong to `brand_id`, created by the brand.
pub fn run(db: &Connection, now: i64, brand_id: &str) -> Result<(), Rejection> {
    let owner = Owner {
        brand_id: brand_id.to_owned(),
        provider: None,
    };
    let send_reply = example("send-user-product-coupon", true)?;
    let pc: ProductCouponEntity = serde_json::from_value(send_reply["product_coupon"].clone())?;
    product_coupon::insert(db, &pc, &owner)?;
    let mut s: StockEntity = serde_json::from_value(send_reply["stock"].clone())?;
    if let Some(p) = s
        .single_usage_rule
        .as_mut()
        .and_then(|r| r.coupon_available_period.as_mut())
    {
        rebase(p, now);
    }
    s.state = StockState::Sending;
    s.sent_count_info = StockSentCountInfo::new();
    s.coupon_code_count_info = None;
    stock::insert(db, &s, None)?;
    let codes = (1..=UPLOADED_CODES)
        .map(|i| format!("SBXCODE{i:06}"))
        .chain([EXAMPLE_CODE.to_owned()]);
    for code in codes {
        let seq = sql::next_seq(db)?;
        db.execute(
            "INSERT INTO coupon_codes (stock_id, code, seq) VALUES (?1, ?2, ?3)",
            params![s.stock_id, code, seq],
        )?;
    }

    let create: CreateProductCouponRequest =
        serde_json::from_value(example("create-product-coupon", false)?)?;
    let mut bundled = ProductCouponEntity::new(
        "200000001",
        ProductCouponScope::All,
        ProductCouponType::Normal,
        UsageMode::ProgressiveBundle,
        create.display_info,
        ProductCouponState::Effective,
    );
    let rounds = ProgressiveBundleUsageInfo::new(3).interval_days(1);
    bundled.progressive_bundle_usage_info = Some(rounds);
    product_coupon::insert(db, &bundled, &owner)?;
    let template: StockBundleForCreate =
        serde_json::from_value(example("create-stock-bundle", false)?["stock_bundle"].clone())?;
    for (id, max_count) in [
        ("100232301", None),
        ("123456789", Some(1)),
        ("712315129419284901", None),
    ] {
        let mut b = template.clone();
        b.coupon_code_mode = CouponCodeMode::Wechatpay;
        if let Some(max) = max_count {
            b.stock_send_rule.max_count = max;
        }
        if let Some(rule) = b.progressive_bundle_usage_rule.as_mut() {
            rebase(&mut rule.coupon_available_period, now);
        }
        bundle::insert(db, &bundled, id, &b)?;
    }

    for id in ["12312354", "1262260000000268"] {
        db.execute("INSERT INTO merchant_stocks (id) VALUES (?1)", [id])?;
    }
    Ok(())
}
