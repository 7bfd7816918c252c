// The models crate is usable alone: decode a reply, read fields, encode it back.
use wechatpay_models::{SendProductCouponResponse, SendCouponResult};

fn main() {
    let response: SendProductCouponResponse =
        serde_json::from_str(r#"{"send_coupon_result":{"stock_id":"1","out_request_no":"2","coupon_code":"3"}}"#).unwrap();
    let result: &SendCouponResult = response.send_coupon_result.as_ref().unwrap();
    assert_eq!(result.coupon_code.as_deref(), Some("3"));
    let built = SendProductCouponResponse::new().send_coupon_result(SendCouponResult::new().stock_id("1"));
    assert_eq!(serde_json::to_string(&built).unwrap(), r#"{"send_coupon_result":{"stock_id":"1"}}"#);
}
