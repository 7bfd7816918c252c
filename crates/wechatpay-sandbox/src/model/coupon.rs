//! User coupons (用户商品券) and their lifecycle (family README, "Lifecycle"):
//!
//! ```text
//! send ─▶ CONFIRMING ─confirm─▶ PENDING ─(valid_begin)─▶ EFFECTIVE ─use─▶ USED ─return─▶ PENDING/EFFECTIVE
//!                                              └──────────(valid_end)──▶ EXPIRED
//! CONFIRMING / PENDING / EFFECTIVE ─deactivate─▶ DEACTIVATED
//! ```
//!
//! Only the transitions made by calls are stored; the ones made by time
//! (PENDING → EFFECTIVE, → EXPIRED) are computed by [`STATE_SQL`] on the
//! business clock whenever a coupon is read, so moving the clock moves them.

use std::collections::HashMap;

use rusqlite::types::ToSql;
use rusqlite::{params, Connection, Row};
use serde::{Deserialize, Serialize};
use wechatpay_models::{
    CouponTagInfo, CouponUsageDetail, PartnerProductCouponNotification, ProductCouponEntity,
    ProductCouponNotification, UserProductCouponBundleInfo, UserProductCouponEntity,
    UserProductCouponSendChannel, UserProductCouponState,
};
use wechatpay_runtime::WireEnum;

use crate::answers::{self, trouble};
use crate::clock::datetime;
use crate::ctx::Ctx;
use crate::model::{product_coupon, stock};
use crate::replies::Rejection;
use crate::sql;

/// The state a coupon reads as at business time `?1`.
pub const STATE_SQL: &str = "CASE \
     WHEN state IN ('CONFIRMING', 'PENDING', 'EFFECTIVE') AND valid_end <= ?1 THEN 'EXPIRED' \
     WHEN state = 'PENDING' AND valid_begin <= ?1 THEN 'EFFECTIVE' \
     ELSE state END";

/// What a coupon keeps besides its indexed columns (stored as JSON).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Details {
    pub appid: String,
    pub receive_time: i64,
    pub send_request_no: String,
    pub send_channel: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon_tag_info: Option<CouponTagInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm_request_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<CouponUsageDetail>,
    /// Business time of the last use (orders the uses within a user bundle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deactivate_request_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deactivate_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deactivate_reason: Option<String>,
    /// Position and size of the user bundle, for a coupon of a PROGRESSIVE_BUNDLE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle_index: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle_total: Option<i64>,
}

/// A coupon as loaded at one business time.
#[derive(Debug, Clone)]
pub struct Coupon {
    pub seq: i64,
    pub code: String,
    pub openid: String,
    pub product_coupon_id: String,
    pub stock_id: String,
    pub user_bundle_id: Option<String>,
    /// The state at the time it was loaded.
    pub state: String,
    pub valid_begin: i64,
    pub valid_end: i64,
    pub details: Details,
}

type Columns = (
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    i64,
    i64,
    String,
);

fn row(r: &Row<'_>) -> rusqlite::Result<Columns> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
    ))
}

/// Coupons matching `filter` (SQL after WHERE, parameters from `?2`), in issue order.
pub fn select(
    db: &Connection,
    now: i64,
    filter: &str,
    extra: &[&dyn ToSql],
) -> Result<Vec<Coupon>, Rejection> {
    select_page(db, now, filter, extra, -1)
}

/// [`select`] returning at most `limit` coupons (`-1`: all).
pub fn select_page(
    db: &Connection,
    now: i64,
    filter: &str,
    extra: &[&dyn ToSql],
    limit: i64,
) -> Result<Vec<Coupon>, Rejection> {
    let sql = format!(
        "SELECT seq, code, openid, product_coupon_id, stock_id, user_bundle_id, {STATE_SQL}, \
         valid_begin, valid_end, body FROM user_coupons WHERE {filter} ORDER BY seq LIMIT {limit}"
    );
    let mut args: Vec<&dyn ToSql> = vec![&now];
    args.extend_from_slice(extra);
    let mut stmt = db.prepare_cached(&sql)?;
    let rows = stmt.query_map(args.as_slice(), row)?;
    let mut out = Vec::new();
    for r in rows {
        let (seq, code, openid, product_coupon_id, stock_id, user_bundle_id, state, b, e, body) =
            r?;
        out.push(Coupon {
            seq,
            code,
            openid,
            product_coupon_id,
            stock_id,
            user_bundle_id,
            state,
            valid_begin: b,
            valid_end: e,
            details: serde_json::from_str(&body)?,
        });
    }
    Ok(out)
}

/// The coupon `code` of `openid` in stock `stock_id` of `product_coupon_id`, or 404
/// RESOURCE_NOT_EXISTS: 268578608 for an unknown (or unreachable) product coupon
/// or stock, 268578851 for a coupon this user does not hold there.
pub fn require(
    ctx: &Ctx<'_>,
    openid: &str,
    code: &str,
    product_coupon_id: &str,
    stock_id: &str,
) -> Result<Coupon, Rejection> {
    stock::require(ctx, product_coupon_id, stock_id)?;
    select(
        ctx.db,
        ctx.now,
        "openid = ?2 AND code = ?3 AND stock_id = ?4",
        &[&openid, &code, &stock_id],
    )?
    .into_iter()
    .next()
    .ok_or_else(|| answers::not_found(ctx.info, "user coupon", code, trouble::COUPON_NOT_FOUND))
}

/// The coupon with issue position `seq`, as it reads now.
pub fn reload(db: &Connection, now: i64, seq: i64) -> Result<Coupon, Rejection> {
    select(db, now, "seq = ?2", &[&seq])?
        .into_iter()
        .next()
        .ok_or_else(|| Rejection::internal("coupon vanished"))
}

/// Stores a new coupon.
pub fn insert(db: &Connection, coupon: &Coupon) -> Result<(), Rejection> {
    sql::exec(db,
        "INSERT INTO user_coupons (seq, code, openid, product_coupon_id, stock_id, user_bundle_id, \
         state, valid_begin, valid_end, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            coupon.seq,
            coupon.code,
            coupon.openid,
            coupon.product_coupon_id,
            coupon.stock_id,
            coupon.user_bundle_id,
            coupon.state,
            coupon.valid_begin,
            coupon.valid_end,
            serde_json::to_string(&coupon.details)?
        ],
    )?;
    Ok(())
}

/// Writes a coupon's state and details back.
pub fn update(db: &Connection, coupon: &Coupon) -> Result<(), Rejection> {
    sql::exec(
        db,
        "UPDATE user_coupons SET state = ?2, body = ?3 WHERE seq = ?1",
        params![
            coupon.seq,
            coupon.state,
            serde_json::to_string(&coupon.details)?
        ],
    )?;
    Ok(())
}

/// How many coupons of `stock_id` the user holds (any state): the per-user budget.
pub fn count_for_user(db: &Connection, stock_id: &str, openid: &str) -> Result<i64, Rejection> {
    Ok(sql::row(
        db,
        "SELECT COUNT(*) FROM user_coupons WHERE stock_id = ?1 AND openid = ?2",
        [stock_id, openid],
        |r| r.get(0),
    )?)
}

/// Renders coupons as the API shows them; product coupons and stocks are read once each.
#[derive(Default)]
pub struct Renderer {
    product_coupons: HashMap<String, ProductCouponEntity>,
    stocks: HashMap<String, wechatpay_models::StockEntity>,
}

impl Renderer {
    /// A renderer that already knows a product coupon and a stock as they are now.
    pub fn knowing(pc: ProductCouponEntity, stock: wechatpay_models::StockEntity) -> Self {
        let mut r = Renderer::default();
        r.stocks.insert(stock.stock_id.clone(), stock);
        r.product_coupons.insert(pc.product_coupon_id.clone(), pc);
        r
    }

    /// The `UserProductCouponEntity` of `coupon`, with its product coupon and stock as they are now.
    pub fn entity(
        &mut self,
        db: &Connection,
        now: i64,
        coupon: &Coupon,
    ) -> Result<UserProductCouponEntity, Rejection> {
        if !self.product_coupons.contains_key(&coupon.product_coupon_id) {
            let pc = product_coupon::load(db, &coupon.product_coupon_id)?
                .ok_or_else(|| Rejection::internal("coupon of a missing product coupon"))?;
            self.product_coupons
                .insert(coupon.product_coupon_id.clone(), pc);
        }
        if !self.stocks.contains_key(&coupon.stock_id) {
            let s = stock::load(db, &coupon.stock_id, now)?
                .ok_or_else(|| Rejection::internal("coupon of a missing stock"))?;
            self.stocks
                .insert(coupon.stock_id.clone(), stock::render(db, &s)?);
        }
        let d = &coupon.details;
        let mut e = UserProductCouponEntity::new(
            coupon.code.as_str(),
            UserProductCouponState::from_wire(&coupon.state),
            datetime(coupon.valid_begin),
            datetime(coupon.valid_end),
            datetime(d.receive_time),
            d.send_request_no.as_str(),
            UserProductCouponSendChannel::from_wire(&d.send_channel),
            self.product_coupons[&coupon.product_coupon_id].clone(),
            self.stocks[&coupon.stock_id].clone(),
        );
        e.confirm_request_no = d.confirm_request_no.clone();
        e.confirm_time = d.confirm_time.map(datetime);
        e.deactivate_request_no = d.deactivate_request_no.clone();
        e.deactivate_time = d.deactivate_time.map(datetime);
        e.deactivate_reason = d.deactivate_reason.clone();
        e.attach = d.attach.clone();
        e.coupon_tag_info = d.coupon_tag_info.clone();
        let usage = d.usage.clone().unwrap_or_default();
        match &coupon.user_bundle_id {
            Some(bundle) => {
                let used: i64 = sql::row(db,
                    "SELECT COUNT(*) FROM user_coupons WHERE user_bundle_id = ?1 AND state = 'USED'",
                    [bundle],
                    |r| r.get(0),
                )?;
                e.user_product_coupon_bundle_info = Some(UserProductCouponBundleInfo::new(
                    bundle.as_str(),
                    d.bundle_index.unwrap_or(0),
                    d.bundle_total.unwrap_or(1),
                    used,
                ));
                e.progressive_bundle_usage_detail = Some(usage);
            }
            None => e.single_usage_detail = Some(usage),
        }
        Ok(e)
    }
}

/// The decrypted payload of this coupon's notifications (notifications.md: the guide's key fields).
pub fn notification(coupon: &Coupon) -> ProductCouponNotification {
    let d = &coupon.details;
    ProductCouponNotification::new()
        .coupon_code(coupon.code.as_str())
        .product_coupon_id(coupon.product_coupon_id.as_str())
        .stock_id(coupon.stock_id.as_str())
        .openid(coupon.openid.as_str())
        .send_channel(d.send_channel.as_str())
        .send_request_no(d.send_request_no.as_str())
        .receive_time(datetime(d.receive_time).to_string())
        .valid_begin_time(datetime(coupon.valid_begin).to_string())
        .valid_end_time(datetime(coupon.valid_end).to_string())
}

/// The decrypted payload of this coupon's PRODUCT_COUPON_SP.SEND: the brand it
/// belongs to and the coupon's facts (`bundle`: the stock bundle of its stock).
pub fn partner_notification(
    coupon: &Coupon,
    brand_id: &str,
    bundle: Option<&str>,
) -> PartnerProductCouponNotification {
    let d = &coupon.details;
    let mut n = PartnerProductCouponNotification::new(
        brand_id,
        coupon.code.as_str(),
        coupon.product_coupon_id.as_str(),
        coupon.stock_id.as_str(),
        d.appid.as_str(),
        coupon.openid.as_str(),
        datetime(coupon.valid_begin),
        datetime(coupon.valid_end),
        datetime(d.receive_time),
        d.send_request_no.as_str(),
        UserProductCouponSendChannel::from_wire(&d.send_channel),
    );
    n.stock_bundle_id = bundle.map(str::to_owned);
    n.user_coupon_bundle_id = coupon.user_bundle_id.clone();
    n.attach = d.attach.clone();
    n
}
