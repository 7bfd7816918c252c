//! What a downstream crate must be able to write with the models crate
//! alone (this test crate is one: public API only, no endpoints, no HTTP):
//! decode a reply, read fields, encode it back. Misuse that must not compile
//! is pinned by trybuild (`api_surface`).

use wechatpay_models::{SendCouponResult, SendProductCouponResponse};

#[test]
fn models_alone_decode_read_encode() {
    let response: SendProductCouponResponse = serde_json::from_str(
        r#"{"send_coupon_result":{"stock_id":"1","out_request_no":"2","coupon_code":"3"}}"#,
    )
    .unwrap();
    let result: &SendCouponResult = response.send_coupon_result.as_ref().unwrap();
    assert_eq!(result.coupon_code.as_deref(), Some("3"));
    let built =
        SendProductCouponResponse::new().send_coupon_result(SendCouponResult::new().stock_id("1"));
    assert_eq!(
        serde_json::to_string(&built).unwrap(),
        r#"{"send_coupon_result":{"stock_id":"1"}}"#
    );
}
