//! Product coupons, stored as their `ProductCouponEntity` JSON with the brand
//! they belong to and the provider that created them (`tenancy`).

use rusqlite::{params, Connection, OptionalExtension};
use wechatpay_models::{ProductCouponEntity, ProductCouponState};

use crate::answers::{self, trouble};
use crate::ctx::Ctx;
use crate::replies::Rejection;
use crate::sql;
use crate::tenancy::Owner;

/// The product coupon `id`, if it exists (whoever owns it).
pub fn load(db: &Connection, id: &str) -> Result<Option<ProductCouponEntity>, Rejection> {
    Ok(load_owned(db, id)?.map(|(pc, _)| pc))
}

fn load_owned(
    db: &Connection,
    id: &str,
) -> Result<Option<(ProductCouponEntity, Owner)>, Rejection> {
    let row: Option<(String, String, Option<String>)> = db
        .prepare_cached("SELECT body, brand_id, provider FROM product_coupons WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    row.map(|(body, brand_id, provider)| {
        Ok((serde_json::from_str(&body)?, Owner { brand_id, provider }))
    })
    .transpose()
}

/// Who product coupon `id` belongs to, if it exists.
pub fn owner(db: &Connection, id: &str) -> Result<Option<Owner>, Rejection> {
    Ok(db
        .prepare_cached("SELECT brand_id, provider FROM product_coupons WHERE id = ?1")?
        .query_row([id], |r| {
            Ok(Owner {
                brand_id: r.get(0)?,
                provider: r.get(1)?,
            })
        })
        .optional()?)
}

/// Fails with 404 RESOURCE_NOT_EXISTS (268578608) unless product coupon `id`
/// exists and the caller reaches it (`tenancy`). `what` names the object asked for.
pub fn check_reach(ctx: &Ctx<'_>, id: &str, what: &str, what_id: &str) -> Result<(), Rejection> {
    match owner(ctx.db, id)? {
        Some(o) if ctx.caller.reaches(&o) => Ok(()),
        _ => Err(answers::not_found(
            ctx.info,
            what,
            what_id,
            trouble::OBJECT_NOT_FOUND,
        )),
    }
}

/// The product coupon `id`, or 404 RESOURCE_NOT_EXISTS (268578608) when it does
/// not exist or the caller does not reach it.
pub fn require(ctx: &Ctx<'_>, id: &str) -> Result<ProductCouponEntity, Rejection> {
    match load_owned(ctx.db, id)? {
        Some((pc, o)) if ctx.caller.reaches(&o) => Ok(pc),
        _ => Err(answers::not_found(
            ctx.info,
            "product coupon",
            id,
            trouble::OBJECT_NOT_FOUND,
        )),
    }
}

/// Like [`require`], and the product coupon must be EFFECTIVE (INVALID_REQUEST otherwise).
pub fn require_effective(ctx: &Ctx<'_>, id: &str) -> Result<ProductCouponEntity, Rejection> {
    let coupon = require(ctx, id)?;
    if coupon.state != ProductCouponState::Effective {
        return Err(answers::invalid(
            ctx.info,
            format!(
                "product coupon {id} is {}; this operation needs EFFECTIVE",
                wire(&coupon.state)
            ),
            None,
        ));
    }
    Ok(coupon)
}

/// Stores a new product coupon of `owner`.
pub fn insert(
    db: &Connection,
    coupon: &ProductCouponEntity,
    owner: &Owner,
) -> Result<(), Rejection> {
    let seq = sql::next_seq(db)?;
    sql::exec(
        db,
        "INSERT INTO product_coupons (id, seq, body, brand_id, provider) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            coupon.product_coupon_id,
            seq,
            serde_json::to_string(coupon)?,
            owner.brand_id,
            owner.provider
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
