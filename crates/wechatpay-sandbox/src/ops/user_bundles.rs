//! User coupon bundles of PROGRESSIVE_BUNDLE product coupons: send (one
//! coupon per round of the stock bundle, all in one user bundle) and
//! deactivate (every coupon of the user bundle that can still be used).

use wechatpay_endpoints::brand::{DeactivateUserProductCouponBundle, SendUserProductCouponBundle};
use wechatpay_models::{
    DeactivateUserProductCouponBundleRequest, ProductCouponEntity,
    SendUserProductCouponBundleRequest, UsageMode, UserProductCouponBundleResult,
    UserProductCouponSendChannel,
};
use wechatpay_runtime::WireEnum;

use super::issue::{self, InBundle, Send};
use super::user_coupons::deactivate;
use super::{Ctx, Operation};
use crate::answers::{self, trouble};
use crate::model::coupon::{self, Renderer};
use crate::model::product_coupon::{self, wire};
use crate::model::stock::{self, Stock};
use crate::replies::Rejection;
use crate::sql;

/// The PROGRESSIVE_BUNDLE product coupon `id` (INVALID_REQUEST for another usage mode).
pub(super) fn bundle_coupon(ctx: &Ctx<'_>, id: &str) -> Result<ProductCouponEntity, Rejection> {
    let pc = product_coupon::require(ctx, id)?;
    if pc.usage_mode != UsageMode::ProgressiveBundle {
        return Err(answers::invalid(
            ctx.info,
            format!(
                "product coupon {id} is {}: stock bundles belong to PROGRESSIVE_BUNDLE product coupons",
                wire(&pc.usage_mode)
            ),
            None,
        ));
    }
    Ok(pc)
}

/// The bundle's stocks, all SENDING.
pub(super) fn sending_bundle(
    ctx: &Ctx<'_>,
    pc: &str,
    bundle: &str,
) -> Result<Vec<Stock>, Rejection> {
    let stocks = stock::require_bundle(ctx, pc, bundle)?;
    for s in &stocks {
        issue::check_sending(ctx, s)?;
    }
    Ok(stocks)
}

/// Issues one coupon per round of bundle `bundle_id` of `pc` to `send.openid`,
/// all in one new user coupon bundle (send-bundle, and a claimed bundle pre-send).
pub(super) fn send_bundle(
    ctx: &mut Ctx<'_>,
    pc: &str,
    bundle_id: &str,
    send: &Send<'_>,
) -> Result<UserProductCouponBundleResult, Rejection> {
    bundle_coupon(ctx, pc)?;
    let stocks = sending_bundle(ctx, pc, bundle_id)?;
    // Every round's stock has the bundle's rule and counters: the first one decides.
    issue::check_budget(ctx, &stocks[0], send.openid)?;
    let user_bundle_id = sql::next(ctx.db, "user_coupon_bundle_id", 900_000_000_001)?.to_string();
    let total = stocks.len() as i64;
    let mut issued = Vec::new();
    for s in &stocks {
        let place = InBundle {
            user_bundle_id: &user_bundle_id,
            index: s.bundle_index.unwrap_or(0),
            total,
        };
        issued.push(issue::issue(ctx, s, None, send, Some(place))?);
    }
    let mut renderer = Renderer::default();
    let list = issued
        .iter()
        .map(|c| renderer.entity(ctx.db, ctx.now, c))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(UserProductCouponBundleResult::new(user_bundle_id, list))
}

impl Operation for SendUserProductCouponBundle {
    fn run(
        ctx: &mut Ctx<'_>,
        r: SendUserProductCouponBundleRequest,
    ) -> Result<UserProductCouponBundleResult, Rejection> {
        let send = Send {
            openid: &r.openid,
            appid: &r.appid,
            send_request_no: &r.send_request_no,
            send_channel: UserProductCouponSendChannel::Api.as_wire(),
            attach: r.attach.as_deref(),
            coupon_tag_info: r.coupon_tag_info.as_ref(),
        };
        send_bundle(ctx, &r.product_coupon_id, &r.stock_bundle_id, &send)
    }
}

impl Operation for DeactivateUserProductCouponBundle {
    fn run(
        ctx: &mut Ctx<'_>,
        r: DeactivateUserProductCouponBundleRequest,
    ) -> Result<UserProductCouponBundleResult, Rejection> {
        let stocks = stock::require_bundle(ctx, &r.product_coupon_id, &r.stock_bundle_id)?;
        let mut coupons = coupon::select(
            ctx.db,
            ctx.now,
            "user_bundle_id = ?2 AND openid = ?3",
            &[&r.user_coupon_bundle_id, &r.openid],
        )?;
        if coupons.is_empty()
            || coupons
                .iter()
                .any(|c| !stocks.iter().any(|s| s.id == c.stock_id))
        {
            return Err(answers::not_found(
                ctx.info,
                "user coupon bundle",
                &r.user_coupon_bundle_id,
                trouble::COUPON_NOT_FOUND,
            ));
        }
        let mut first_error = None;
        let mut changed = 0;
        for c in &mut coupons {
            match deactivate(ctx, c, &r.out_request_no, &r.deactivate_reason) {
                Ok(()) => changed += 1,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if changed == 0 {
            return Err(first_error.unwrap_or_else(|| Rejection::internal("nothing to deactivate")));
        }
        let mut renderer = Renderer::default();
        let list = coupons
            .iter()
            .map(|c| {
                coupon::reload(ctx.db, ctx.now, c.seq)
                    .and_then(|c| renderer.entity(ctx.db, ctx.now, &c))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(UserProductCouponBundleResult::new(
            r.user_coupon_bundle_id,
            list,
        ))
    }
}
