//! Stocks (批次), alone or as one round of a stock bundle.
//!
//! The body is the stock's `StockEntity` JSON; the columns are what changes
//! with every coupon (counters) or with time (state). A SENDING or PAUSED
//! stock whose `available_end_time` has passed reads as STOPPED, and the
//! daily counter reads as 0 on a new business day: both are computed in the
//! queries below, on the business clock, so no stored value goes stale.

use rusqlite::types::ToSql;
use rusqlite::{params, Connection, Row};
use wechatpay_models::{
    CouponCodeCountInfo, CouponCodeMode, StockBundleInfo, StockEntity, StockEntityInBundle,
    StockSentCountInfo, StockState,
};
use wechatpay_runtime::WireEnum;

use crate::answers::{self, trouble};
use crate::clock;
use crate::ctx::Ctx;
use crate::model::{period, product_coupon};
use crate::replies::Rejection;
use crate::sql;

/// The state a stock reads as at business time `?2`.
pub const STATE_SQL: &str = "CASE WHEN state IN ('SENDING', 'PAUSED') AND end_time IS NOT NULL \
     AND end_time <= ?2 THEN 'STOPPED' ELSE state END";

/// A stock as loaded at one business time.
#[derive(Debug, Clone)]
pub struct Stock {
    pub id: String,
    pub product_coupon_id: String,
    pub bundle_id: Option<String>,
    pub bundle_index: Option<i64>,
    pub seq: i64,
    /// The state at the time it was loaded (STOPPED once past its end time).
    pub state: String,
    pub sent_total: i64,
    /// Coupons issued on the business day it was loaded.
    pub sent_today: i64,
    /// The stored entity; its state and counters are rendered from the columns.
    pub entity: StockEntity,
}

type Columns = (
    String,
    String,
    Option<String>,
    Option<i64>,
    i64,
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
    ))
}

/// Stocks matching `filter` (SQL after WHERE, parameters from `?4`), in creation order.
pub fn select(
    db: &Connection,
    now: i64,
    filter: &str,
    extra: &[&dyn ToSql],
) -> Result<Vec<Stock>, Rejection> {
    let sql = format!(
        "SELECT id, product_coupon_id, bundle_id, bundle_index, seq, {STATE_SQL}, sent_total, \
         CASE WHEN sent_day = ?3 THEN sent_today ELSE 0 END, body FROM stocks \
         WHERE ?1 = ?1 AND ({filter}) ORDER BY seq"
    );
    let day = clock::day(now);
    let mut args: Vec<&dyn ToSql> = vec![&0, &now, &day];
    args.extend_from_slice(extra);
    let mut stmt = db.prepare_cached(&sql)?;
    let rows = stmt.query_map(args.as_slice(), row)?;
    let mut out = Vec::new();
    for r in rows {
        let (
            id,
            product_coupon_id,
            bundle_id,
            bundle_index,
            seq,
            state,
            sent_total,
            sent_today,
            body,
        ) = r?;
        out.push(Stock {
            id,
            product_coupon_id,
            bundle_id,
            bundle_index,
            seq,
            state,
            sent_total,
            sent_today,
            entity: serde_json::from_str(&body)?,
        });
    }
    Ok(out)
}

/// The stock `id`, if it exists.
pub fn load(db: &Connection, id: &str, now: i64) -> Result<Option<Stock>, Rejection> {
    Ok(select(db, now, "id = ?4", &[&id])?.into_iter().next())
}

/// The stock `stock_id` of product coupon `product_coupon_id`, or 404
/// RESOURCE_NOT_EXISTS (268578608) when either is unknown, they do not belong
/// together, or the caller does not reach the product coupon (`tenancy`).
pub fn require(ctx: &Ctx<'_>, product_coupon_id: &str, stock_id: &str) -> Result<Stock, Rejection> {
    let stock = load(ctx.db, stock_id, ctx.now)?.ok_or_else(|| {
        answers::not_found(ctx.info, "stock", stock_id, trouble::OBJECT_NOT_FOUND)
    })?;
    let what = format!("stock of product coupon {product_coupon_id}");
    if stock.product_coupon_id != product_coupon_id {
        return Err(answers::not_found(
            ctx.info,
            &what,
            stock_id,
            trouble::OBJECT_NOT_FOUND,
        ));
    }
    product_coupon::check_reach(ctx, product_coupon_id, &what, stock_id)?;
    Ok(stock)
}

/// The stocks of bundle `bundle_id` of product coupon `product_coupon_id`, in round order,
/// or 404 RESOURCE_NOT_EXISTS when the bundle is unknown, belongs elsewhere or is
/// out of the caller's reach.
pub fn require_bundle(
    ctx: &Ctx<'_>,
    product_coupon_id: &str,
    bundle_id: &str,
) -> Result<Vec<Stock>, Rejection> {
    let what = format!("stock bundle of product coupon {product_coupon_id}");
    let stocks = select(
        ctx.db,
        ctx.now,
        "bundle_id = ?4 AND product_coupon_id = ?5",
        &[&bundle_id, &product_coupon_id],
    )?;
    if stocks.is_empty() {
        return Err(answers::not_found(
            ctx.info,
            &what,
            bundle_id,
            trouble::OBJECT_NOT_FOUND,
        ));
    }
    product_coupon::check_reach(ctx, product_coupon_id, &what, bundle_id)?;
    let mut stocks = stocks;
    stocks.sort_by_key(|s| s.bundle_index);
    Ok(stocks)
}

/// Stores a new stock (its state and send rule as in `entity`).
pub fn insert(
    db: &Connection,
    entity: &StockEntity,
    bundle: Option<(&str, i64)>,
) -> Result<(), Rejection> {
    let seq = sql::next_seq(db)?;
    sql::exec(db,
        "INSERT INTO stocks (id, product_coupon_id, bundle_id, bundle_index, seq, state, end_time, body) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            entity.stock_id,
            entity.product_coupon_id,
            bundle.map(|b| b.0),
            bundle.map(|b| b.1),
            seq,
            entity.state.as_wire(),
            period::end_time(entity),
            serde_json::to_string(entity)?
        ],
    )?;
    Ok(())
}

/// Writes a changed entity back (rules, display, send rule).
pub fn update_body(db: &Connection, stock: &Stock) -> Result<(), Rejection> {
    sql::exec(
        db,
        "UPDATE stocks SET body = ?2, end_time = ?3 WHERE id = ?1",
        params![
            stock.id,
            serde_json::to_string(&stock.entity)?,
            period::end_time(&stock.entity)
        ],
    )?;
    Ok(())
}

/// Sets the stored state (SENDING, PAUSED, DEACTIVATED).
pub fn set_state(db: &Connection, id: &str, state: &StockState) -> Result<(), Rejection> {
    sql::exec(
        db,
        "UPDATE stocks SET state = ?2 WHERE id = ?1",
        params![id, state.as_wire()],
    )?;
    Ok(())
}

/// Counts one issued coupon (rolling the daily counter over on a new business day).
pub fn count_issue(db: &Connection, id: &str, now: i64) -> Result<(), Rejection> {
    sql::exec(
        db,
        "UPDATE stocks SET sent_total = sent_total + 1, \
         sent_today = CASE WHEN sent_day = ?2 THEN sent_today + 1 ELSE 1 END, sent_day = ?2 \
         WHERE id = ?1",
        params![id, clock::day(now)],
    )?;
    Ok(())
}

/// A fresh stock id: the product coupon id and a three-digit round (1000000013001 style).
pub fn new_id(db: &Connection, product_coupon_id: &str) -> Result<String, Rejection> {
    let n = sql::next(db, &format!("stock_id:{product_coupon_id}"), 101)?;
    Ok(format!("{product_coupon_id}{n:03}"))
}

/// The entity as the API shows it now: state, counters and code counts from the columns.
pub fn render(db: &Connection, stock: &Stock) -> Result<StockEntity, Rejection> {
    let mut entity = stock.entity.clone();
    entity.state = StockState::from_wire(&stock.state);
    let mut sent = StockSentCountInfo::new();
    sent.total_count = Some(stock.sent_total);
    sent.today_count = Some(stock.sent_today);
    entity.sent_count_info = sent;
    if entity.coupon_code_mode == CouponCodeMode::Upload {
        let (total, available): (i64, i64) = sql::row(
            db,
            "SELECT COUNT(*), COALESCE(SUM(issued = 0), 0) FROM coupon_codes WHERE stock_id = ?1",
            [&stock.id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let mut counts = CouponCodeCountInfo::new();
        counts.total_count = Some(total);
        counts.available_count = Some(available);
        entity.coupon_code_count_info = Some(counts);
    }
    if let (Some(bundle), Some(index)) = (&stock.bundle_id, stock.bundle_index) {
        entity.stock_bundle_info = Some(StockBundleInfo::new(bundle.as_str(), index));
    }
    Ok(entity)
}

/// The entity as a bundle response shows it (a `StockEntityInBundle`).
pub fn render_in_bundle(db: &Connection, stock: &Stock) -> Result<StockEntityInBundle, Rejection> {
    let mut value = serde_json::to_value(render(db, stock)?)?;
    if let Some(map) = value.as_object_mut() {
        map.remove("single_usage_rule");
    }
    Ok(serde_json::from_value(value)?)
}
