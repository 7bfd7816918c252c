//! The merchant coupon send of seed page 000 (`send-product-coupon`): the
//! stock must exist (the doc's 12312354 and 1262260000000268 do), a given
//! `coupon_code` must be new in the stock, otherwise a code is assigned.

use rusqlite::{params, OptionalExtension};
use wechatpay_endpoints::merchant::SendProductCoupon;
use wechatpay_models::{SendCouponResult, SendProductCouponRequest, SendProductCouponResponse};

use super::{Ctx, Operation};
use crate::replies::Rejection;
use crate::sql;

impl Operation for SendProductCoupon {
    fn run(
        ctx: &mut Ctx<'_>,
        r: SendProductCouponRequest,
    ) -> Result<SendProductCouponResponse, Rejection> {
        let known: Option<String> = ctx
            .db
            .query_row(
                "SELECT id FROM merchant_stocks WHERE id = ?1",
                [&r.stock_id],
                |row| row.get(0),
            )
            .optional()?;
        if known.is_none() {
            let r2 = Rejection::documented(ctx.info, "STOCK_NOT_EXISTS")
                .unwrap_or_else(|| Rejection::new(400, "STOCK_NOT_EXISTS", ""));
            return Err(Rejection {
                message: format!("stock {} does not exist (批次不存在)", r.stock_id),
                ..r2
            });
        }
        let code = match &r.coupon_code {
            Some(code) => code.clone(),
            None => sql::next(ctx.db, "merchant_coupon_code", 7_000_000_000_001)?.to_string(),
        };
        let inserted = sql::exec(
            ctx.db,
            "INSERT OR IGNORE INTO merchant_coupons (stock_id, code, openid) VALUES (?1, ?2, ?3)",
            params![r.stock_id, code, r.openid],
        )?;
        if inserted == 0 {
            let base = Rejection::documented(ctx.info, "INVALID_REQUEST")
                .unwrap_or_else(|| Rejection::new(400, "INVALID_REQUEST", ""));
            return Err(Rejection {
                message: format!(
                    "coupon_code {code} was already issued from stock {}",
                    r.stock_id
                ),
                ..base
            });
        }
        let mut result = SendCouponResult::new();
        result.stock_id = Some(r.stock_id);
        result.out_request_no = Some(r.out_request_no);
        result.coupon_code = Some(code);
        let mut reply = SendProductCouponResponse::new();
        reply.send_coupon_result = Some(result);
        Ok(reply)
    }
}
