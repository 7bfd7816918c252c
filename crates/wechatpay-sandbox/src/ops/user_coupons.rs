//! One user's coupons: send, confirm, get, list, use, return, deactivate — the lifecycle of the family README (see `model::coupon`).
//!
//! Each state a call cannot act on gets 400 INVALID_REQUEST with the
//! troubleshooting code of the situation in the Request-ID: 268578367 (state
//! illegal), 268578776 (expired), 272756745 (already used), 272756790
//! (expired, deactivate); an unknown coupon is 404 with 268578851. With
//! `--confirm-after-notify` a CONFIRMING coupon whose PRODUCT_COUPON.SEND was
//! not delivered yet counts as a state confirm cannot act on (268578367).

use wechatpay_endpoints::brand::{
    ConfirmSendUserProductCoupon, DeactivateUserProductCoupon, GetUserProductCoupon,
    ListUserProductCoupons, ReturnUserProductCoupon, SendUserProductCoupon, UseUserProductCoupon,
};
use wechatpay_models::{
    ConfirmSendUserProductCouponRequest, CouponUsageDetail, DeactivateUserProductCouponRequest,
    GetUserProductCouponRequest, ListUserProductCouponsRequest, ListUserProductCouponsResponse,
    ReturnUserProductCouponRequest, SendUserProductCouponRequest, StockStoreScope, UsageMode,
    UseUserProductCouponRequest, UserProductCouponEntity, UserProductCouponSendChannel,
};
use wechatpay_runtime::WireEnum;

use super::issue::{self, Send};
use super::{Ctx, Operation};
use crate::answers::{self, trouble};
use crate::clock::datetime;
use crate::model::coupon::{self, Coupon, Renderer, STATE_SQL};
use crate::model::paging::Page;
use crate::model::product_coupon::{self, wire};
use crate::model::stock;
use crate::notify::{self, SendNotice};
use crate::replies::Rejection;
use crate::sql;

/// The coupon's entity as it reads now.
fn render(ctx: &Ctx<'_>, c: &Coupon) -> Result<UserProductCouponEntity, Rejection> {
    let fresh = coupon::reload(ctx.db, ctx.now, c.seq)?;
    Renderer::default().entity(ctx.db, ctx.now, &fresh)
}

/// 400 INVALID_REQUEST for a coupon in a state the operation cannot act on.
fn wrong_state(ctx: &Ctx<'_>, c: &Coupon, trouble: u32) -> Rejection {
    answers::invalid(
        ctx.info,
        format!(
            "user coupon {} is {}; {} cannot act on it",
            c.code, c.state, ctx.info.operation_id
        ),
        Some(trouble),
    )
}

impl Operation for SendUserProductCoupon {
    fn run(
        ctx: &mut Ctx<'_>,
        r: SendUserProductCouponRequest,
    ) -> Result<UserProductCouponEntity, Rejection> {
        let pc = product_coupon::require(ctx, &r.product_coupon_id)?;
        if pc.usage_mode != UsageMode::Single {
            return Err(answers::invalid(
                ctx.info,
                format!(
                    "product coupon {} is {}: send its stock bundles with send-user-product-coupon-bundle",
                    pc.product_coupon_id,
                    wire(&pc.usage_mode)
                ),
                None,
            ));
        }
        let s = stock::require(ctx, &r.product_coupon_id, &r.stock_id)?;
        issue::check_sending(ctx, &s)?;
        issue::check_budget(ctx, &s, &r.openid)?;
        let send = Send {
            openid: &r.openid,
            appid: &r.appid,
            send_request_no: &r.send_request_no,
            send_channel: UserProductCouponSendChannel::Api.as_wire(),
            attach: r.attach.as_deref(),
            coupon_tag_info: r.coupon_tag_info.as_ref(),
        };
        let c = issue::issue(ctx, &s, r.coupon_code.as_deref(), &send, None)?;
        // The stock as it is now: one more issued (the hot path reads nothing twice).
        let mut after = s;
        after.sent_total += 1;
        after.sent_today += 1;
        let stock = stock::render(ctx.db, &after)?;
        Renderer::knowing(pc, stock).entity(ctx.db, ctx.now, &c)
    }
}

impl Operation for ConfirmSendUserProductCoupon {
    fn run(
        ctx: &mut Ctx<'_>,
        r: ConfirmSendUserProductCouponRequest,
    ) -> Result<UserProductCouponEntity, Rejection> {
        let mut c = coupon::require(
            ctx,
            &r.openid,
            &r.coupon_code,
            &r.product_coupon_id,
            &r.stock_id,
        )?;
        match c.state.as_str() {
            "CONFIRMING" => {}
            "EXPIRED" => return Err(wrong_state(ctx, &c, trouble::COUPON_EXPIRED)),
            _ => return Err(wrong_state(ctx, &c, trouble::ILLEGAL_STATE)),
        }
        if ctx.confirm_after_notify {
            // A refusal is an error: the transaction rolls back and the request
            // number stays unrecorded, so the same confirm succeeds once delivered.
            let notice = notify::send_notice(ctx, c.seq)?;
            let why = match notice {
                SendNotice::Delivered => None,
                SendNotice::Pending { attempts: 0 } => {
                    Some("its first attempt has not been answered yet".to_owned())
                }
                SendNotice::Pending { attempts } => Some(format!(
                    "{attempts} attempt(s) got no 2xx in time; it is being retried"
                )),
                SendNotice::Dropped => Some(
                    "every attempt failed and it was dropped: this coupon cannot be confirmed"
                        .to_owned(),
                ),
                SendNotice::NotQueued => Some(
                    "it was never queued: no notify URL was set when the coupon was issued"
                        .to_owned(),
                ),
            };
            if let Some(why) = why {
                return Err(answers::send_not_delivered(
                    ctx.info,
                    &c.code,
                    notice.as_str(),
                    &why,
                ));
            }
        }
        c.details.confirm_request_no = Some(r.out_request_no);
        c.details.confirm_time = Some(ctx.now);
        // PENDING until valid_begin_time, then EFFECTIVE (computed on read).
        c.state = "PENDING".into();
        coupon::update(ctx.db, &c)?;
        render(ctx, &c)
    }
}

impl Operation for GetUserProductCoupon {
    fn run(
        ctx: &mut Ctx<'_>,
        r: GetUserProductCouponRequest,
    ) -> Result<UserProductCouponEntity, Rejection> {
        let c = coupon::require(
            ctx,
            &r.openid,
            &r.coupon_code,
            &r.product_coupon_id,
            &r.stock_id,
        )?;
        Renderer::default().entity(ctx.db, ctx.now, &c)
    }
}

impl Operation for ListUserProductCoupons {
    fn run(
        ctx: &mut Ctx<'_>,
        r: ListUserProductCouponsRequest,
    ) -> Result<ListUserProductCouponsResponse, Rejection> {
        let page = Page::from_request(ctx.info, r.page_size, r.page_token.as_deref())?;
        let state = r.coupon_state.as_ref().map(|s| s.as_wire().to_owned());
        // Only coupons of product coupons the caller reaches (`tenancy`).
        let filter = format!(
            "openid = ?2 AND (?3 IS NULL OR product_coupon_id = ?3) AND (?4 IS NULL OR stock_id = ?4) \
             AND (?5 IS NULL OR {STATE_SQL} = ?5) AND (?6 IS NULL OR user_bundle_id = ?6) \
             AND product_coupon_id IN (SELECT id FROM product_coupons WHERE brand_id = ?7 \
             AND (?8 IS NULL OR provider = ?8))"
        );
        let args: [&dyn rusqlite::types::ToSql; 7] = [
            &r.openid,
            &r.product_coupon_id,
            &r.stock_id,
            &state,
            &r.user_coupon_bundle_id,
            &ctx.caller.brand,
            &ctx.caller.provider,
        ];
        let total: i64 = {
            let sql = format!("SELECT COUNT(*) FROM user_coupons WHERE {filter}");
            let mut all: Vec<&dyn rusqlite::types::ToSql> = vec![&ctx.now];
            all.extend_from_slice(&args);
            sql::row(ctx.db, &sql, all.as_slice(), |row| row.get(0))?
        };
        let mut args = args.to_vec();
        args.push(&page.after);
        let rows = coupon::select_page(
            ctx.db,
            ctx.now,
            &format!("{filter} AND seq > ?9"),
            &args,
            page.size + 1,
        )?;
        let more = rows.len() as i64 > page.size;
        let mut renderer = Renderer::default();
        let mut list = Vec::new();
        for c in rows.iter().take(page.size as usize) {
            list.push(renderer.entity(ctx.db, ctx.now, c)?);
        }
        let mut reply = ListUserProductCouponsResponse::new().total_count(total);
        reply.next_page_token =
            Page::next_token(rows.get(list.len().wrapping_sub(1)).map(|c| c.seq), more);
        reply.user_coupon_list = Some(list);
        Ok(reply)
    }
}

impl Operation for UseUserProductCoupon {
    fn run(
        ctx: &mut Ctx<'_>,
        r: UseUserProductCouponRequest,
    ) -> Result<UserProductCouponEntity, Rejection> {
        let mut c = coupon::require(
            ctx,
            &r.openid,
            &r.coupon_code,
            &r.product_coupon_id,
            &r.stock_id,
        )?;
        match c.state.as_str() {
            "EFFECTIVE" => {}
            "USED" => return Err(wrong_state(ctx, &c, trouble::ALREADY_USED)),
            "EXPIRED" => return Err(wrong_state(ctx, &c, trouble::COUPON_EXPIRED)),
            _ => return Err(wrong_state(ctx, &c, trouble::ILLEGAL_STATE)),
        }
        let used = r.use_time.unix_timestamp();
        if used < c.details.receive_time {
            return Err(answers::use_time(format!(
                "{} is before the coupon was received ({})",
                r.use_time,
                datetime(c.details.receive_time)
            )));
        }
        if used > ctx.now + answers::USE_TIME_TOLERANCE_SECONDS {
            return Err(answers::use_time(format!(
                "{} is in the future (now {}; at most {} s ahead is accepted)",
                r.use_time,
                datetime(ctx.now),
                answers::USE_TIME_TOLERANCE_SECONDS
            )));
        }
        if let Some(store_id) = &r.store_id {
            let s = stock::require(ctx, &r.product_coupon_id, &r.stock_id)?;
            let linked: i64 = sql::row(
                ctx.db,
                "SELECT COUNT(*) FROM stores WHERE stock_id = ?1 AND store_id = ?2",
                [&s.id, store_id],
                |row| row.get(0),
            )?;
            if s.entity.store_scope == StockStoreScope::Specific && linked == 0 {
                return Err(answers::invalid(
                    ctx.info,
                    format!(
                        "store {store_id} is not associated with stock {} (store_scope SPECIFIC)",
                        s.id
                    ),
                    None,
                ));
            }
        }
        let mut usage = CouponUsageDetail::new();
        usage.use_request_no = Some(r.out_request_no);
        usage.use_time = Some(r.use_time.to_string());
        usage.associated_order_info = r.associated_order_info;
        usage.associated_pay_score_order_info = r.associated_pay_score_order_info;
        c.details.usage = Some(usage);
        c.details.used_at = Some(ctx.now);
        c.state = "USED".into();
        coupon::update(ctx.db, &c)?;
        notify::enqueue(ctx, notify::USE, &c)?;
        render(ctx, &c)
    }
}

impl Operation for ReturnUserProductCoupon {
    fn run(
        ctx: &mut Ctx<'_>,
        r: ReturnUserProductCouponRequest,
    ) -> Result<UserProductCouponEntity, Rejection> {
        let mut c = coupon::require(
            ctx,
            &r.openid,
            &r.coupon_code,
            &r.product_coupon_id,
            &r.stock_id,
        )?;
        if c.state != "USED" {
            return Err(wrong_state(ctx, &c, trouble::ILLEGAL_STATE));
        }
        if c.valid_end <= ctx.now {
            return Err(answers::invalid(
                ctx.info,
                format!(
                    "user coupon {} expired at {}; expired coupons cannot be returned",
                    c.code,
                    datetime(c.valid_end)
                ),
                Some(trouble::COUPON_EXPIRED),
            ));
        }
        if let Some(bundle) = &c.user_bundle_id {
            let later = coupon::select(
                ctx.db,
                ctx.now,
                "user_bundle_id = ?2 AND state = 'USED'",
                &[bundle],
            )?
            .into_iter()
            .any(|other| other.details.used_at > c.details.used_at);
            if later {
                return Err(answers::invalid(
                    ctx.info,
                    "only the most recently used coupon of a user coupon bundle can be returned",
                    Some(trouble::ILLEGAL_STATE),
                ));
            }
        }
        let usage = c.details.usage.get_or_insert_with(CouponUsageDetail::new);
        usage.return_request_no = Some(r.out_request_no);
        usage.return_time = Some(datetime(ctx.now));
        // Given back to the user: usable again until it expires (README: the page leaves the state open).
        c.state = "PENDING".into();
        coupon::update(ctx.db, &c)?;
        notify::enqueue(ctx, notify::RETURN, &c)?;
        render(ctx, &c)
    }
}

/// Deactivates a coupon that can still be used (shared with the bundle deactivation).
pub(super) fn deactivate(
    ctx: &Ctx<'_>,
    c: &mut Coupon,
    request_no: &str,
    reason: &str,
) -> Result<(), Rejection> {
    match c.state.as_str() {
        "CONFIRMING" | "PENDING" | "EFFECTIVE" => {}
        "EXPIRED" => return Err(wrong_state(ctx, c, trouble::EXPIRED_NO_OPERATION)),
        _ => return Err(wrong_state(ctx, c, trouble::ILLEGAL_STATE)),
    }
    c.details.deactivate_request_no = Some(request_no.to_owned());
    c.details.deactivate_time = Some(ctx.now);
    c.details.deactivate_reason = Some(reason.to_owned());
    c.state = "DEACTIVATED".into();
    coupon::update(ctx.db, c)
}

impl Operation for DeactivateUserProductCoupon {
    fn run(
        ctx: &mut Ctx<'_>,
        r: DeactivateUserProductCouponRequest,
    ) -> Result<UserProductCouponEntity, Rejection> {
        let mut c = coupon::require(
            ctx,
            &r.openid,
            &r.coupon_code,
            &r.product_coupon_id,
            &r.stock_id,
        )?;
        if c.user_bundle_id.is_some() {
            return Err(answers::invalid(
                ctx.info,
                "coupons of a PROGRESSIVE_BUNDLE product coupon are deactivated with deactivate-user-product-coupon-bundle",
                Some(trouble::ILLEGAL_STATE),
            ));
        }
        deactivate(ctx, &mut c, &r.out_request_no, &r.deactivate_reason)?;
        render(ctx, &c)
    }
}
