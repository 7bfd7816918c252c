//! Product coupons, stored as their `ProductCouponEntity` JSON.

use rusqlite::{params, Connection, OptionalExtension};
use wechatpay_models::{ProductCouponEntity, ProductCouponState};
use wechatpay_runtime::EndpointInfo;

use crate::answers::{self, trouble};
use crate::replies::Rejection;
use crate::sql;

/// The product coupon `id`, if it exists.
pub fn load(db: &Connection, id: &str) -> Result<Option<ProductCouponEntity>, Rejection> {
    let body: Option<String> = db
        .query_row(
            "SELECT body FROM product_coupons WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
}

/// The product coupon `id`, or 404 RESOURCE_NOT_EXISTS (268578608).
pub fn require(
    info: &EndpointInfo,
    db: &Connection,
    id: &str,
) -> Result<ProductCouponEntity, Rejection> {
    load(db, id)?
        .ok_or_else(|| answers::not_found(info, "product coupon", id, trouble::OBJECT_NOT_FOUND))
}

/// Like [`require`], and the product coupon must be EFFECTIVE (INVALID_REQUEST otherwise).
pub fn require_effective(
    info: &EndpointInfo,
    db: &Connection,
    id: &str,
) -> Result<ProductCouponEntity, Rejection> {
    let coupon = require(info, db, id)?;
    if coupon.state != ProductCouponState::Effective {
        return Err(answers::invalid(
            info,
            format!(
                "product coupon {id} is {}; this operation needs EFFECTIVE",
                wire(&coupon.state)
            ),
            None,
        ));
    }
    Ok(coupon)
}

/// Stores a new product coupon.
pub fn insert(db: &Connection, coupon: &ProductCouponEntity) -> Result<(), Rejection> {
    let seq = sql::next_seq(db)?;
    sql::exec(
        db,
        "INSERT INTO product_coupons (id, seq, body) VALUES (?1, ?2, ?3)",
        params![
            coupon.product_coupon_id,
            seq,
            serde_json::to_string(coupon)?
        ],
    )?;
    Ok(())
}

/// Writes a changed product coupon back.
pub fn update(db: &Connection, coupon: &ProductCouponEntity) -> Result<(), Rejection> {
    sql::exec(
        db,
        "UPDATE product_coupons SET body = ?2 WHERE id = ?1",
        params![coupon.product_coupon_id, serde_json::to_string(coupon)?],
    )?;
    Ok(())
}

/// A fresh product coupon id (ten digits, like the doc's 1000000013).
pub fn new_id(db: &Connection) -> Result<String, Rejection> {
    Ok(sql::next(db, "product_coupon_id", 1_000_100_001)?.to_string())
}

/// The wire spelling of an enum value.
pub fn wire<E: wechatpay_runtime::WireEnum>(value: &E) -> &str {
    value.as_wire()
}
