//! create / get / update / deactivate product coupon.
//!
//! A new product coupon is EFFECTIVE at once (the sandbox approves
//! everything), with its first stock (usage_mode SINGLE) or stock bundle
//! (PROGRESSIVE_BUNDLE). Deactivating it deactivates its stocks; coupons
//! already issued stay valid (family README, "Product coupon and stock states").
//! A product coupon belongs to the brand the call acts for and records who
//! created it (`tenancy`); a provider must have set its notify URL first.

use wechatpay_endpoints::brand::{
    CreateProductCoupon, DeactivateProductCoupon, GetProductCoupon, UpdateProductCoupon,
};
use wechatpay_models::{
    CreateProductCouponRequest, CreateProductCouponResponse, DeactivateProductCouponRequest,
    GetProductCouponRequest, ProductCouponEntity, ProductCouponScope, ProductCouponState,
    ProductCouponType, StockState, UpdateProductCouponRequest, UsageMode,
};

use super::{stock_bundles, stocks, Ctx, Operation};
use crate::answers;
use crate::clock::datetime;
use crate::model::product_coupon::{self, wire};
use crate::model::stock;
use crate::notify;
use crate::replies::Rejection;

/// The rules of seed page 002's error table that only the server can check
/// (they span fields of the product coupon and its stock).
fn check_rules(ctx: &Ctx<'_>, r: &CreateProductCouponRequest) -> Result<(), Rejection> {
    let invalid = |m: &str| Err(answers::invalid(ctx.info, m, None));
    if r.scope == ProductCouponScope::All && r.r#type == ProductCouponType::Exchange {
        return invalid("type EXCHANGE needs scope SINGLE (全场券只能是满减券或折扣券)");
    }
    // 品类券: NORMAL or DISCOUNT only (brand page 4016427370, 查询商品券).
    if r.scope == ProductCouponScope::Category && r.r#type == ProductCouponType::Exchange {
        return invalid("type EXCHANGE needs scope SINGLE (品类券只能是满减券或折扣券)");
    }
    match (&r.scope, &r.usage_mode) {
        (ProductCouponScope::All, UsageMode::Single) => {
            let info = r.single_usage_info.as_ref();
            let has_rule = match r.r#type {
                ProductCouponType::Normal => info.is_some_and(|i| i.normal_coupon.is_some()),
                ProductCouponType::Discount => info.is_some_and(|i| i.discount_coupon.is_some()),
                _ => true,
            };
            if !has_rule {
                return invalid(
                    "单券模式下,全场券需要提供「单券模式信息(single_usage_info)」,含与 type 对应的满减或折扣规则",
                );
            }
        }
        (ProductCouponScope::Single, _) => {
            if r.single_usage_info.is_some() {
                return invalid("单品满减券或单品折扣券不应在商品券中设置「满减券使用规则」或「折扣券使用规则」,而是应该在商品券批次中设置");
            }
            if r.display_info.original_price.is_none() {
                return invalid("单品券必须提供商品原价,请补充");
            }
            if r.display_info.combo_package_list.is_none() {
                return invalid("单品券必须提供商品券套餐组合信息,请补充");
            }
        }
        _ => {}
    }
    Ok(())
}

impl Operation for CreateProductCoupon {
    fn run(
        ctx: &mut Ctx<'_>,
        r: CreateProductCouponRequest,
    ) -> Result<CreateProductCouponResponse, Rejection> {
        check_rules(ctx, &r)?;
        let owner = ctx.caller.owner().ok_or_else(|| {
            Rejection::internal(format!("{} names no brand", ctx.info.operation_id))
        })?;
        if let Some(provider) = &owner.provider {
            // The partner page's precondition: the provider's one notify URL is set.
            if notify::configured_url(ctx.db, provider)?.is_none() {
                return Err(answers::invalid(
                    ctx.info,
                    format!(
                        "service provider {provider} has no notify URL yet (服务商未设置商品券事件通知地址): \
                         call partner-set-notify-config first"
                    ),
                    None,
                ));
            }
        }
        let id = product_coupon::new_id(ctx.db)?;
        let mut pc = ProductCouponEntity::new(
            id.as_str(),
            r.scope.clone(),
            r.r#type.clone(),
            r.usage_mode.clone(),
            r.display_info.clone(),
            ProductCouponState::Effective,
        );
        pc.single_usage_info = r.single_usage_info.clone();
        pc.progressive_bundle_usage_info = r.progressive_bundle_usage_info.clone();
        pc.out_product_no = r.out_product_no.clone();
        product_coupon::insert(ctx.db, &pc, &owner)?;
        let mut reply = CreateProductCouponResponse::new(
            id.as_str(),
            pc.scope.clone(),
            pc.r#type.clone(),
            pc.usage_mode.clone(),
            pc.display_info.clone(),
            pc.state.clone(),
        );
        reply.single_usage_info = pc.single_usage_info.clone();
        reply.progressive_bundle_usage_info = pc.progressive_bundle_usage_info.clone();
        reply.out_product_no = pc.out_product_no.clone();
        if r.usage_mode == UsageMode::ProgressiveBundle {
            if let Some(bundle) = r.stock_bundle {
                reply.stock_bundle = Some(stock_bundles::create_in(ctx, &pc, bundle)?);
            }
        } else if let Some(s) = r.stock {
            reply.stock = Some(stocks::create_in(ctx, &pc, s)?);
        }
        Ok(reply)
    }
}

impl Operation for GetProductCoupon {
    fn run(
        ctx: &mut Ctx<'_>,
        r: GetProductCouponRequest,
    ) -> Result<ProductCouponEntity, Rejection> {
        product_coupon::require(ctx, &r.product_coupon_id)
    }
}

impl Operation for UpdateProductCoupon {
    fn run(
        ctx: &mut Ctx<'_>,
        r: UpdateProductCouponRequest,
    ) -> Result<ProductCouponEntity, Rejection> {
        let mut pc = product_coupon::require_effective(ctx, &r.product_coupon_id)?;
        if pc.scope == ProductCouponScope::Single
            && (r.display_info.original_price.is_none()
                || r.display_info.combo_package_list.is_none())
        {
            return Err(answers::invalid(
                ctx.info,
                "单品券必须提供商品原价和商品券套餐组合信息,请补充",
                None,
            ));
        }
        pc.display_info = r.display_info;
        product_coupon::update(ctx.db, &pc)?;
        Ok(pc)
    }
}

impl Operation for DeactivateProductCoupon {
    fn run(
        ctx: &mut Ctx<'_>,
        r: DeactivateProductCouponRequest,
    ) -> Result<ProductCouponEntity, Rejection> {
        let mut pc = product_coupon::require(ctx, &r.product_coupon_id)?;
        if pc.state == ProductCouponState::Deactivated {
            return Err(answers::invalid(
                ctx.info,
                format!(
                    "product coupon {} is already {}",
                    pc.product_coupon_id,
                    wire(&pc.state)
                ),
                None,
            ));
        }
        pc.state = ProductCouponState::Deactivated;
        pc.deactivate_request_no = Some(r.out_request_no);
        pc.deactivate_time = Some(datetime(ctx.now).to_string());
        pc.deactivate_reason = Some(r.deactivate_reason.clone());
        product_coupon::update(ctx.db, &pc)?;
        for s in stock::select(
            ctx.db,
            ctx.now,
            "product_coupon_id = ?4",
            &[&pc.product_coupon_id],
        )? {
            if s.state != wire(&StockState::Deactivated) {
                stocks::deactivate(
                    ctx,
                    s,
                    &pc.deactivate_request_no.clone().unwrap_or_default(),
                    &r.deactivate_reason,
                )?;
            }
        }
        Ok(pc)
    }
}
