//! Issuing a user coupon from a stock: the checks every send path shares
//! (stock state, budgets, per-user limit, coupon code mode) and the issue
//! itself (coupon in CONFIRMING, counters, PRODUCT_COUPON.SEND).

use wechatpay_models::{CouponCodeMode, CouponTagInfo, StockState};
use wechatpay_runtime::WireEnum;

use super::Ctx;
use crate::answers::{self, trouble};
use crate::model::coupon::{self, Coupon, Details};
use crate::model::period;
use crate::model::product_coupon::wire;
use crate::model::stock::{self, Stock};
use crate::notify;
use crate::replies::Rejection;
use crate::sql;

/// What the send request says about the coupon to issue.
pub struct Send<'r> {
    pub openid: &'r str,
    pub appid: &'r str,
    pub send_request_no: &'r str,
    pub send_channel: &'r str,
    pub attach: Option<&'r str>,
    pub coupon_tag_info: Option<&'r CouponTagInfo>,
}

/// A coupon's place in a user coupon bundle.
pub struct InBundle<'b> {
    pub user_bundle_id: &'b str,
    pub index: i64,
    pub total: i64,
}

/// Fails unless the stock is SENDING (STOPPED: STOCK_EXPIRED; otherwise STOCK_STATE_ERROR).
pub fn check_sending(ctx: &Ctx<'_>, s: &Stock) -> Result<(), Rejection> {
    if s.state == StockState::Sending.as_wire() {
        Ok(())
    } else if s.state == StockState::Stopped.as_wire() {
        Err(answers::stock_expired(ctx.info, &s.id))
    } else {
        Err(answers::stock_state(ctx.info, &s.id, &s.state, "SENDING"))
    }
}

/// Fails when one more coupon for `openid` would break a budget of the stock.
pub fn check_budget(ctx: &Ctx<'_>, s: &Stock, openid: &str) -> Result<(), Rejection> {
    let rule = &s.entity.stock_send_rule;
    if s.sent_total >= rule.max_count {
        return Err(answers::budget(
            ctx.info,
            format!(
                "stock {} has issued its max_count of {} coupons",
                s.id, rule.max_count
            ),
        ));
    }
    if let Some(per_day) = rule.max_count_per_day {
        if s.sent_today >= per_day {
            return Err(answers::budget(
                ctx.info,
                format!(
                    "stock {} has issued its max_count_per_day of {per_day} coupons today",
                    s.id
                ),
            ));
        }
    }
    if coupon::count_for_user(ctx.db, &s.id, openid)? >= rule.max_count_per_user {
        return Err(answers::user_limit(
            ctx.info,
            openid,
            rule.max_count_per_user,
        ));
    }
    Ok(())
}

/// Checks `coupon_code` against the stock's mode: API_ASSIGN needs one, WECHATPAY
/// takes none, UPLOAD takes one of its uploaded codes or none (README: the page's
/// own example sends an uploaded code).
pub fn check_code_rule(s: &Stock, requested: Option<&str>) -> Result<(), Rejection> {
    let mode = &s.entity.coupon_code_mode;
    match (mode, requested) {
        (CouponCodeMode::ApiAssign, None) => Err(Rejection::param(
            "coupon_code",
            "body",
            format!("is required: stock {}'s coupon_code_mode is API_ASSIGN", s.id),
        )),
        (CouponCodeMode::Wechatpay, Some(_)) => Err(Rejection::param(
            "coupon_code",
            "body",
            format!(
                "must not be sent: stock {}'s coupon_code_mode is WECHATPAY (WeChat Pay assigns the code)",
                s.id
            ),
        )),
        _ => Ok(()),
    }
}

/// The code the coupon gets, taken from the stock's codes when it has uploaded ones.
fn take_code(ctx: &Ctx<'_>, s: &Stock, requested: Option<&str>) -> Result<String, Rejection> {
    check_code_rule(s, requested)?;
    match &s.entity.coupon_code_mode {
        CouponCodeMode::Upload => {
            let code: Option<String> = match requested {
                Some(c) => rusqlite::OptionalExtension::optional(sql::row(ctx.db,
                    "SELECT code FROM coupon_codes WHERE stock_id = ?1 AND code = ?2 AND issued = 0",
                    [&s.id, c],
                    |r| r.get(0),
                ))?,
                None => rusqlite::OptionalExtension::optional(sql::row(ctx.db,
                    "SELECT code FROM coupon_codes WHERE stock_id = ?1 AND issued = 0 ORDER BY seq LIMIT 1",
                    [&s.id],
                    |r| r.get(0),
                ))?,
            };
            let code = code.ok_or_else(|| match requested {
                Some(c) => answers::invalid(
                    ctx.info,
                    format!(
                        "coupon_code {c} is not an uploaded, unissued code of stock {}",
                        s.id
                    ),
                    Some(trouble::ILLEGAL_PARAMETER),
                ),
                None => answers::budget(
                    ctx.info,
                    format!(
                        "stock {} has no uploaded coupon codes left (upload-coupon-codes)",
                        s.id
                    ),
                ),
            })?;
            sql::exec(
                ctx.db,
                "UPDATE coupon_codes SET issued = 1 WHERE stock_id = ?1 AND code = ?2",
                [&s.id, &code],
            )?;
            Ok(code)
        }
        CouponCodeMode::ApiAssign => {
            let code = requested.unwrap_or_default().to_owned();
            let taken: i64 = sql::row(
                ctx.db,
                "SELECT COUNT(*) FROM user_coupons WHERE stock_id = ?1 AND code = ?2",
                [&s.id, &code],
                |r| r.get(0),
            )?;
            if taken > 0 {
                return Err(answers::invalid(
                    ctx.info,
                    format!("coupon_code {code} was already issued from stock {}", s.id),
                    Some(trouble::ILLEGAL_PARAMETER),
                ));
            }
            Ok(code)
        }
        CouponCodeMode::Wechatpay => {
            Ok(sql::next(ctx.db, "coupon_code", 8_000_000_000_000_001)?.to_string())
        }
        other => Err(Rejection::internal(format!(
            "unknown coupon_code_mode {}",
            wire(other)
        ))),
    }
}

/// Issues one coupon of `s` (budgets already checked) and queues PRODUCT_COUPON.SEND.
pub fn issue(
    ctx: &mut Ctx<'_>,
    s: &Stock,
    requested_code: Option<&str>,
    send: &Send<'_>,
    bundle: Option<InBundle<'_>>,
) -> Result<Coupon, Rejection> {
    let code = take_code(ctx, s, requested_code)?;
    let (valid_begin, valid_end) = period::validity(period::of(&s.entity), ctx.now);
    let c = Coupon {
        seq: sql::next_seq(ctx.db)?,
        code,
        openid: send.openid.to_owned(),
        product_coupon_id: s.product_coupon_id.clone(),
        stock_id: s.id.clone(),
        user_bundle_id: bundle.as_ref().map(|b| b.user_bundle_id.to_owned()),
        state: "CONFIRMING".into(),
        valid_begin,
        valid_end,
        details: Details {
            appid: send.appid.to_owned(),
            receive_time: ctx.now,
            send_request_no: send.send_request_no.to_owned(),
            send_channel: send.send_channel.to_owned(),
            attach: send.attach.map(str::to_owned),
            coupon_tag_info: send.coupon_tag_info.cloned(),
            bundle_index: bundle.as_ref().map(|b| b.index),
            bundle_total: bundle.as_ref().map(|b| b.total),
            ..Details::default()
        },
    };
    coupon::insert(ctx.db, &c)?;
    stock::count_issue(ctx.db, &s.id, ctx.now)?;
    notify::enqueue(ctx, notify::SEND, &c)?;
    Ok(c)
}
