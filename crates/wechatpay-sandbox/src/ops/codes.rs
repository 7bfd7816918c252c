//! upload-coupon-codes: codes for an UPLOAD stock, each reported as
//! uploaded, failed (not a code the send request could carry), already there,
//! or repeated in the request.

use std::collections::BTreeSet;

use wechatpay_endpoints::brand::{SendUserProductCoupon, UploadCouponCodes};
use wechatpay_models::{
    CouponCodeMode, FailedCouponCodeInfo, StockState, UploadCouponCodesRequest,
    UploadCouponCodesResponse,
};
use wechatpay_runtime::Endpoint;

use super::stocks::require_state;
use super::{Ctx, Operation};
use crate::answers;
use crate::model::product_coupon::wire;
use crate::model::stock;
use crate::replies::Rejection;
use crate::sql;

impl Operation for UploadCouponCodes {
    fn run(
        ctx: &mut Ctx<'_>,
        r: UploadCouponCodesRequest,
    ) -> Result<UploadCouponCodesResponse, Rejection> {
        let s = stock::require(ctx, &r.product_coupon_id, &r.stock_id)?;
        require_state(ctx, &s, &[StockState::Sending, StockState::Paused])?;
        if s.entity.coupon_code_mode != CouponCodeMode::Upload {
            return Err(answers::invalid(
                ctx.info,
                format!(
                    "stock {} has coupon_code_mode {}; codes are uploaded to UPLOAD stocks only",
                    s.id,
                    wire(&s.entity.coupon_code_mode)
                ),
                None,
            ));
        }
        // An uploaded code must be one the send request could carry: the schema's rule of
        // send-user-product-coupon's coupon_code.
        let rule = <SendUserProductCoupon as Endpoint>::INFO
            .request
            .field("coupon_code")
            .and_then(|f| f.str_rule().copied());
        let mut seen = BTreeSet::new();
        let (mut ok, mut failed, mut existing, mut duplicate) = (vec![], vec![], vec![], vec![]);
        for code in &r.code_list {
            if !seen.insert(code.as_str()) {
                duplicate.push(code.clone());
                continue;
            }
            let mut problems = Vec::new();
            if let Some(rule) = &rule {
                wechatpay_runtime::validation::check_str(
                    &mut problems,
                    &|| code.clone(),
                    code,
                    true,
                    rule,
                );
            }
            if let Some(problem) = problems.first() {
                let mut f = FailedCouponCodeInfo::new();
                f.coupon_code = Some(code.clone());
                f.code = Some("PARAM_ERROR".into());
                f.message = Some(problem.to_string());
                failed.push(f);
                continue;
            }
            let seq = sql::next_seq(ctx.db)?;
            let inserted = sql::exec(
                ctx.db,
                "INSERT OR IGNORE INTO coupon_codes (stock_id, code, seq) VALUES (?1, ?2, ?3)",
                rusqlite::params![s.id, code, seq],
            )?;
            if inserted == 0 {
                existing.push(code.clone());
            } else {
                ok.push(code.clone());
            }
        }
        let mut reply = UploadCouponCodesResponse::new().total_count(seen.len() as i64);
        reply.success_code_list = Some(ok);
        reply.failed_code_list = Some(failed).filter(|v| !v.is_empty());
        reply.already_exist_code_list = Some(existing).filter(|v| !v.is_empty());
        reply.duplicate_code_list = Some(duplicate).filter(|v| !v.is_empty());
        Ok(reply)
    }
}
