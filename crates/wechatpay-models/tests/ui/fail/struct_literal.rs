// Generated types are #[non_exhaustive]: no struct literal outside the crate, so
// adding an optional field in a later schema is not a breaking change.
use wechatpay_models::SendCouponResult;

fn main() {
    let _ = SendCouponResult { stock_id: None, out_request_no: None, coupon_code: None };
}
