//! Pre-sends (pre-send-user-product-coupon, pre-send-user-product-coupon-bundle):
//! a token for the mini-program 领券组件, which issues the coupon when the
//! user takes it. Each pre-send gets its own token. The sandbox's
//! `POST /sandbox/pre-sends/claim {"token": …}` plays the user taking it:
//! the coupon (or bundle) is issued with send_channel RECEIVE_COMPONENT, with
//! its PRODUCT_COUPON.SEND notification, once per token. The claim acts for the
//! pre-send's caller (its brand, and the provider when a provider made it).

use serde::Serialize;
use serde_json::Value;
use wechatpay_endpoints::brand::{PreSendUserProductCoupon, PreSendUserProductCouponBundle};
use wechatpay_models::{
    PreSendUserProductCouponBundleRequest, PreSendUserProductCouponBundleResponse,
    PreSendUserProductCouponRequest, PreSendUserProductCouponResponse, UsageMode,
    UserProductCouponEntity, UserProductCouponSendChannel,
};
use wechatpay_runtime::{Described, Endpoint, EndpointInfo, WireEnum};

use super::issue::{self, Send};
use super::user_bundles::{bundle_coupon, send_bundle, sending_bundle};
use super::{Ctx, Operation};
use crate::answers::{self, trouble};
use crate::model::coupon::Renderer;
use crate::model::product_coupon::{self, wire};
use crate::model::stock;
use crate::replies::Rejection;
use crate::sql;
use crate::tenancy::{Caller, Owner};

/// Records a pre-send under a fresh random token, with the operation whose
/// request it keeps (a partner twin's brand operation) and the caller's tenancy.
fn new_token(ctx: &Ctx<'_>, openid: &str, request: &impl Serialize) -> Result<String, Rejection> {
    let token = format!("SBX{}", crate::keys::random_hex(32));
    let operation = ctx.info.twin_of.unwrap_or(ctx.info.operation_id);
    sql::exec(
        ctx.db,
        "INSERT INTO pre_sends (token, operation, openid, body, brand_id, provider) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        rusqlite::params![
            token,
            operation,
            openid,
            serde_json::to_string(request)?,
            ctx.caller.brand,
            ctx.caller.provider
        ],
    )?;
    Ok(token)
}

/// Who claims the pre-send of `token`: the caller that made it (the coupon is
/// issued as if it sent it); for an unknown token, a caller that reaches nothing.
pub fn claimer(db: &rusqlite::Connection, token: &str) -> Result<Caller, Rejection> {
    let owner: Option<(Option<String>, Option<String>)> =
        rusqlite::OptionalExtension::optional(sql::row(
            db,
            "SELECT brand_id, provider FROM pre_sends WHERE token = ?1",
            [token],
            |r| Ok((r.get(0)?, r.get(1)?)),
        ))?;
    Ok(match owner {
        Some((Some(brand_id), provider)) => Caller::owner_of(&Owner { brand_id, provider }),
        _ => Caller {
            signer: String::new(),
            brand: None,
            provider: None,
        },
    })
}

impl Operation for PreSendUserProductCoupon {
    fn run(
        ctx: &mut Ctx<'_>,
        r: PreSendUserProductCouponRequest,
    ) -> Result<PreSendUserProductCouponResponse, Rejection> {
        let pc = product_coupon::require(ctx, &r.product_coupon_id)?;
        if pc.usage_mode != UsageMode::Single {
            return Err(answers::invalid(
                ctx.info,
                format!(
                    "product coupon {} is {}",
                    pc.product_coupon_id,
                    wire(&pc.usage_mode)
                ),
                None,
            ));
        }
        let s = stock::require(ctx, &r.product_coupon_id, &r.stock_id)?;
        issue::check_sending(ctx, &s)?;
        issue::check_code_rule(&s, r.coupon_code.as_deref())?;
        Ok(PreSendUserProductCouponResponse::new(new_token(
            ctx, &r.openid, &r,
        )?))
    }
}

impl Operation for PreSendUserProductCouponBundle {
    fn run(
        ctx: &mut Ctx<'_>,
        r: PreSendUserProductCouponBundleRequest,
    ) -> Result<PreSendUserProductCouponBundleResponse, Rejection> {
        bundle_coupon(ctx, &r.product_coupon_id)?;
        sending_bundle(ctx, &r.product_coupon_id, &r.stock_bundle_id)?;
        Ok(PreSendUserProductCouponBundleResponse::new(new_token(
            ctx, &r.openid, &r,
        )?))
    }
}

/// The user takes the pre-sent coupon(s) of `token`: issues them (in the
/// caller's transaction) and returns the issued coupons' entities.
///
/// The stored body is the wire body, which leaves out the path parameter
/// `openid`: the user is the `openid` column recorded next to it.
pub fn claim(ctx: &mut Ctx<'_>, token: &str) -> Result<Vec<Value>, Rejection> {
    let row: Option<(String, String, String, i64)> =
        rusqlite::OptionalExtension::optional(sql::row(
            ctx.db,
            "SELECT operation, openid, body, claimed FROM pre_sends WHERE token = ?1",
            [token],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        ))?;
    let Some((operation, openid, body, claimed)) = row else {
        return Err(answers::not_found(
            ctx.info,
            "pre-send token",
            token,
            trouble::OBJECT_NOT_FOUND,
        ));
    };
    let single: &EndpointInfo = <PreSendUserProductCoupon as Endpoint>::INFO;
    let bundle: &EndpointInfo = <PreSendUserProductCouponBundle as Endpoint>::INFO;
    ctx.info = if operation == single.operation_id {
        single
    } else {
        bundle
    };
    if claimed != 0 {
        return Err(answers::invalid(
            ctx.info,
            format!("pre-send token {token} was already claimed"),
            Some(trouble::ILLEGAL_STATE),
        ));
    }
    let channel = UserProductCouponSendChannel::ReceiveComponent;
    let entities = if operation == single.operation_id {
        let mut r: PreSendUserProductCouponRequest = serde_json::from_str(&body)?;
        r.openid = openid;
        let s = stock::require(ctx, &r.product_coupon_id, &r.stock_id)?;
        issue::check_sending(ctx, &s)?;
        issue::check_budget(ctx, &s, &r.openid)?;
        let send = Send {
            openid: &r.openid,
            appid: &r.appid,
            send_request_no: &r.send_request_no,
            send_channel: channel.as_wire(),
            attach: r.attach.as_deref(),
            coupon_tag_info: None,
        };
        let c = issue::issue(ctx, &s, r.coupon_code.as_deref(), &send, None)?;
        vec![serde_json::to_value(
            Renderer::default().entity(ctx.db, ctx.now, &c)?,
        )?]
    } else {
        let mut r: PreSendUserProductCouponBundleRequest = serde_json::from_str(&body)?;
        r.openid = openid;
        let send = Send {
            openid: &r.openid,
            appid: &r.appid,
            send_request_no: &r.send_request_no,
            send_channel: channel.as_wire(),
            attach: r.attach.as_deref(),
            coupon_tag_info: None,
        };
        let result = send_bundle(ctx, &r.product_coupon_id, &r.stock_bundle_id, &send)?;
        result
            .user_product_coupon_list
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<_, _>>()?
    };
    sql::exec(
        ctx.db,
        "UPDATE pre_sends SET claimed = 1 WHERE token = ?1",
        [token],
    )?;
    let mut entities = entities;
    if ctx.caller.provider.is_some() {
        if let Some(brand) = &ctx.caller.brand {
            let ty = <UserProductCouponEntity as Described>::TYPE_INFO;
            for e in &mut entities {
                crate::twin::stamp(e, ty, "brand_id", brand);
            }
        }
    }
    Ok(entities)
}
