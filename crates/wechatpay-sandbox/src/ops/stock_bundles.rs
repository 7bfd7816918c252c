//! Stock bundles (批次组) of PROGRESSIVE_BUNDLE product coupons: create,
//! update, update-budget (how a bundle is stored: `model::bundle`).

use wechatpay_endpoints::brand::{CreateStockBundle, UpdateStockBundle, UpdateStockBundleBudget};
use wechatpay_models::{
    CouponCodeMode, CreateStockBundleRequest, ProductCouponEntity, StockBundleEntity,
    StockBundleForCreate, StockState, UpdateStockBundleBudgetRequest, UpdateStockBundleRequest,
    UsageMode,
};

use super::budget::BudgetChange;
use super::stocks::require_state;
use super::{Ctx, Operation};
use crate::answers;
use crate::model::bundle;
use crate::model::product_coupon::{self, wire};
use crate::model::stock::{self, Stock};
use crate::replies::Rejection;
use crate::sql;

/// The bundle as the API shows it.
pub(super) fn entity(
    ctx: &Ctx<'_>,
    bundle_id: &str,
    stocks: &[Stock],
) -> Result<StockBundleEntity, Rejection> {
    let list = stocks
        .iter()
        .map(|s| stock::render_in_bundle(ctx.db, s))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(StockBundleEntity::new(bundle_id, list))
}

/// Creates a SENDING bundle under `pc` (create-stock-bundle, and create-product-coupon's first bundle).
pub(super) fn create_in(
    ctx: &Ctx<'_>,
    pc: &ProductCouponEntity,
    b: StockBundleForCreate,
) -> Result<StockBundleEntity, Rejection> {
    if pc.usage_mode != UsageMode::ProgressiveBundle {
        return Err(answers::invalid(
            ctx.info,
            format!(
                "product coupon {} is {}: stock bundles belong to PROGRESSIVE_BUNDLE product coupons",
                pc.product_coupon_id,
                wire(&pc.usage_mode)
            ),
            None,
        ));
    }
    if b.coupon_code_mode == CouponCodeMode::ApiAssign {
        return Err(Rejection::param(
            "stock_bundle.coupon_code_mode",
            "body",
            "API_ASSIGN is not allowed for stock bundles (WECHATPAY or UPLOAD, README #18)",
        ));
    }
    if b.progressive_bundle_usage_rule.is_none() {
        return Err(answers::invalid(
            ctx.info,
            "多次优惠使用模式的商品券批次,应该在「多次优惠使用规则」中包含对应类型的优惠规则",
            None,
        ));
    }
    let bundle_id = sql::next(ctx.db, "stock_bundle_id", 100_300_001)?.to_string();
    bundle::insert(ctx.db, pc, &bundle_id, &b)?;
    let stocks = stock::require_bundle(ctx, &pc.product_coupon_id, &bundle_id)?;
    entity(ctx, &bundle_id, &stocks)
}

impl Operation for CreateStockBundle {
    fn run(ctx: &mut Ctx<'_>, r: CreateStockBundleRequest) -> Result<StockBundleEntity, Rejection> {
        let pc = product_coupon::require_effective(ctx, &r.product_coupon_id)?;
        create_in(ctx, &pc, r.stock_bundle)
    }
}

impl Operation for UpdateStockBundle {
    fn run(ctx: &mut Ctx<'_>, r: UpdateStockBundleRequest) -> Result<StockBundleEntity, Rejection> {
        let mut stocks = stock::require_bundle(ctx, &r.product_coupon_id, &r.stock_bundle_id)?;
        for s in &mut stocks {
            require_state(ctx, s, &[StockState::Sending, StockState::Paused])?;
            let e = &mut s.entity;
            if r.remark.is_some() {
                e.remark = r.remark.clone();
            }
            if let Some(v) = &r.usage_rule_display_info {
                e.usage_rule_display_info = v.clone();
            }
            if let Some(v) = &r.coupon_display_info {
                e.coupon_display_info = v.clone();
            }
            if let Some(v) = &r.notify_config {
                e.notify_config = v.clone();
            }
            if let Some(v) = &r.store_scope {
                e.store_scope = v.clone();
            }
            stock::update_body(ctx.db, s)?;
        }
        entity(ctx, &r.stock_bundle_id, &stocks)
    }
}

impl Operation for UpdateStockBundleBudget {
    fn run(
        ctx: &mut Ctx<'_>,
        r: UpdateStockBundleBudgetRequest,
    ) -> Result<StockBundleEntity, Rejection> {
        let mut stocks = stock::require_bundle(ctx, &r.product_coupon_id, &r.stock_bundle_id)?;
        let change = BudgetChange {
            mode: r.update_mode,
            current_max_count: r.current_max_count,
            target_max_count: r.target_max_count,
            current_max_count_per_day: r.current_max_count_per_day,
            target_max_count_per_day: r.target_max_count_per_day,
        };
        for s in &mut stocks {
            require_state(
                ctx,
                s,
                &[
                    StockState::Sending,
                    StockState::Paused,
                    StockState::Auditing,
                ],
            )?;
            change.apply(ctx, &mut s.entity.stock_send_rule, s.sent_total)?;
            stock::update_body(ctx.db, s)?;
        }
        entity(ctx, &r.stock_bundle_id, &stocks)
    }
}
