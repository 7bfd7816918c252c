//! The answer to each business situation, in one place.
//!
//! The brand pages publish only the common error rows (PARAM_ERROR,
//! INVALID_REQUEST, SIGN_ERROR, SYSTEM_ERROR, …) and a table of numeric
//! troubleshooting codes without their status or code string. For each
//! situation the sandbox therefore answers: the row of the operation's own
//! error table when it has one for the code; otherwise the status of the
//! same code on seed page 000 (the merchant coupon family, which documents
//! these situations); and the troubleshooting code as the suffix of the
//! `Request-ID`. The choices are listed in the crate's README.

use serde_json::json;
use wechatpay_runtime::EndpointInfo;

use crate::replies::Rejection;

/// The troubleshooting codes the sandbox answers with (family README).
pub mod trouble {
    /// 用户券已过期 — user coupon expired.
    pub const COUPON_EXPIRED: u32 = 268_578_776;
    /// 用户券状态非法 — illegal coupon state.
    pub const ILLEGAL_STATE: u32 = 268_578_367;
    /// 券已被其他订单核销 — already used.
    pub const ALREADY_USED: u32 = 272_756_745;
    /// 券已过期不能再操作 — expired, no further operation (deactivate).
    pub const EXPIRED_NO_OPERATION: u32 = 272_756_790;
    /// 用户券不存在 — user coupon not found.
    pub const COUPON_NOT_FOUND: u32 = 268_578_851;
    /// 用户领取张数已达上限 — per-user limit reached.
    pub const USER_LIMIT: u32 = 272_756_740;
    /// 参数非法 — illegal parameter.
    pub const ILLEGAL_PARAMETER: u32 = 268_435_461;
    /// 参数超出取值范围 — parameter out of range.
    pub const OUT_OF_RANGE: u32 = 268_435_464;
    /// 访问对象不存在 — object does not exist.
    pub const OBJECT_NOT_FOUND: u32 = 268_578_608;
    /// 频率过快 — too frequent.
    pub const TOO_FREQUENT: u32 = 270_924_289;
    /// 服务商没有此接口权限 — the brand has not authorised the service provider (partner handbook).
    pub const PROVIDER_NOT_AUTHORISED: u32 = 268_579_803;
}

/// `code` at the status the operation's table gives it, else at `status`.
fn answer(info: &EndpointInfo, status: u16, code: &str, message: String) -> Rejection {
    let status = info
        .errors
        .iter()
        .find(|row| row.code == code)
        .map_or(status, |row| row.status);
    Rejection::new(status, code, message)
}

/// An id that does not exist (or not under the parent the request names):
/// 404 RESOURCE_NOT_EXISTS (page 000: 查询的资源不存在).
pub fn not_found(info: &EndpointInfo, what: &str, id: &str, trouble: u32) -> Rejection {
    answer(
        info,
        404,
        "RESOURCE_NOT_EXISTS",
        format!("{what} {id:?} does not exist"),
    )
    .with_detail(json!({"object": what, "id": id}))
    .with_trouble(trouble)
}

/// How far ahead of the business clock a `use_time` may be: the ±300 s that
/// WeChat Pay allows between a request's timestamp and its own clock.
pub const USE_TIME_TOLERANCE_SECONDS: i64 = 300;

/// A `use_time` before the coupon was received, or beyond the tolerance in the
/// future: 400 PARAM_ERROR naming use_time (common row), 268435464 (参数超出取值范围).
pub fn use_time(message: impl Into<String>) -> Rejection {
    Rejection::param("use_time", "body", message).with_trouble(trouble::OUT_OF_RANGE)
}

/// A request the object's state does not allow: 400 INVALID_REQUEST (common row).
pub fn invalid(info: &EndpointInfo, message: impl Into<String>, trouble: Option<u32>) -> Rejection {
    let r = answer(info, 400, "INVALID_REQUEST", message.into());
    match trouble {
        Some(code) => r.with_trouble(code),
        None => r,
    }
}

/// A confirm of a coupon whose PRODUCT_COUPON.SEND has not been delivered
/// (`--confirm-after-notify`): 400 INVALID_REQUEST, 268578367 (用户券状态非法),
/// like every other state a confirm cannot act on. `notice` says where the
/// notification is (`pending`, `dropped`, `not_queued`); `why` says it in words.
pub fn send_not_delivered(info: &EndpointInfo, code: &str, notice: &str, why: &str) -> Rejection {
    answer(
        info,
        400,
        "INVALID_REQUEST",
        format!(
            "user coupon {code}: its PRODUCT_COUPON.SEND has not been delivered yet ({why}); \
             the sandbox runs with --confirm-after-notify, so a coupon is confirmed only after \
             the notify URL answered its PRODUCT_COUPON.SEND with 2xx"
        ),
    )
    .with_detail(json!({
        "coupon_code": code,
        "event_type": "PRODUCT_COUPON.SEND",
        "notification": notice,
    }))
    .with_trouble(trouble::ILLEGAL_STATE)
}

/// A stock that is not SENDING (or not SENDING/PAUSED where that is enough):
/// 400 STOCK_STATE_ERROR (page 000: 批次状态错误).
pub fn stock_state(info: &EndpointInfo, stock_id: &str, state: &str, need: &str) -> Rejection {
    answer(
        info,
        400,
        "STOCK_STATE_ERROR",
        format!("stock {stock_id} is {state}; this operation needs {need}"),
    )
}

/// A stock past its availability end time: 400 STOCK_EXPIRED (page 000: 批次已过期).
pub fn stock_expired(info: &EndpointInfo, stock_id: &str) -> Rejection {
    answer(
        info,
        400,
        "STOCK_EXPIRED",
        format!("stock {stock_id} is past its available_end_time (STOPPED)"),
    )
}

/// A budget (max_count or max_count_per_day) or the uploaded codes used up:
/// 400 STOCK_INSUFFICIENT (page 000: 批次库存不足).
pub fn budget(info: &EndpointInfo, message: impl Into<String>) -> Rejection {
    answer(info, 400, "STOCK_INSUFFICIENT", message.into())
}

/// max_count_per_user reached: 400 USER_RECEIVE_LIMIT (page 000: 用户领取限制), 272756740.
pub fn user_limit(info: &EndpointInfo, openid: &str, limit: i64) -> Rejection {
    answer(
        info,
        400,
        "USER_RECEIVE_LIMIT",
        format!("user {openid} already holds {limit} coupon(s) of this stock (max_count_per_user)"),
    )
    .with_trouble(trouble::USER_LIMIT)
}

/// Beyond the rate: 429 FREQUENCY_LIMITED (page 000), 270924289. `whom` names the
/// bucket ("this brand", "this service provider").
pub fn frequency_limited(info: &EndpointInfo, per_second: u32, whom: &str) -> Rejection {
    answer(
        info,
        429,
        "FREQUENCY_LIMITED",
        format!(
            "more than {per_second} requests per second to {} for {whom}",
            info.operation_id
        ),
    )
    .with_trouble(trouble::TOO_FREQUENT)
}

/// A request number reused with a different request: the operation's
/// RESOURCE_ALREADY_EXISTS row if it has one, else 400 INVALID_REQUEST.
pub fn number_reused(info: &EndpointInfo, field: &str, number: &str) -> Rejection {
    let r = Rejection::documented(info, "RESOURCE_ALREADY_EXISTS")
        .unwrap_or_else(|| Rejection::new(400, "INVALID_REQUEST", ""));
    Rejection {
        message: format!("{field} {number:?} was already used with a different request"),
        ..r
    }
    .with_detail(json!({"field": field, "location": "body"}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operation_table_wins_then_the_chosen_status() {
        let merchant = wechatpay_endpoints::find("send-product-coupon").unwrap();
        let brand = wechatpay_endpoints::find("send-user-product-coupon").unwrap();
        assert_eq!(frequency_limited(merchant, 1, "this merchant").status, 429);
        let r = user_limit(brand, "o", 1);
        assert_eq!((r.status, r.code.as_str()), (400, "USER_RECEIVE_LIMIT"));
        assert_eq!(r.trouble, Some(trouble::USER_LIMIT));
        assert_eq!(
            number_reused(brand, "send_request_no", "N").code,
            "INVALID_REQUEST"
        );
        assert_eq!(
            number_reused(merchant, "out_request_no", "N").code,
            "RESOURCE_ALREADY_EXISTS"
        );
        assert_eq!(not_found(brand, "stock", "S", 1).status, 404);
    }
}
