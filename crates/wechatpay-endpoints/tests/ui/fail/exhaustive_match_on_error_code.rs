// Error-code enums are #[non_exhaustive]: a match must handle codes added later.
use wechatpay_endpoints::merchant::SendProductCouponErrorCode;

fn describe(code: SendProductCouponErrorCode) -> &'static str {
    match code {
        SendProductCouponErrorCode::Unknown(_) => "unknown",
    }
}

fn main() {
    let _ = describe;
}
