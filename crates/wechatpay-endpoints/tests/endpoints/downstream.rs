//! What a downstream crate must be able to write (this test crate is one:
//! public API only): build requests, validate them, read operation facts and
//! handle error codes. Misuse that must not compile is pinned by trybuild
//! (`api_surface`).

use wechatpay_endpoints::brand::PreSendUserProductCouponBundle;
use wechatpay_endpoints::merchant::{SendProductCoupon, SendProductCouponErrorCode};
use wechatpay_endpoints::{Endpoint, ErrorCode};
use wechatpay_models::{
    CouponType, PreSendUserProductCouponBundleRequest, SendProductCouponRequest, Validate, WireEnum,
};

#[test]
fn build_validate_and_describe() {
    let request =
        SendProductCouponRequest::new("openid", "wx1", "stock", "req-1", CouponType::Member)
            .member_card_id("card")
            .coupon_code("code");
    request.validate().unwrap();
    Validate::validate(&request).unwrap();
    let body: String = request.out_request_no.clone();
    assert_eq!(body, "req-1");

    let bundle =
        PreSendUserProductCouponBundleRequest::new("o/1", "p", "b", "wx", "123456").attach("附加");
    assert_eq!(
        PreSendUserProductCouponBundle::path(&bundle),
        "/brand/marketing/product-coupon/users/o%2F1/pre-send-coupon-bundle"
    );
    assert_eq!(
        <SendProductCoupon as Endpoint>::INFO.operation_id,
        "send-product-coupon"
    );

    let code = SendProductCouponErrorCode::from_code("SYSTEM_ERROR");
    let advice = match code {
        SendProductCouponErrorCode::SystemError => "retry with the same out_request_no",
        SendProductCouponErrorCode::ResourceAlreadyExists => "already sent",
        _ => "see docs",
    };
    assert!(code.retryable());
    assert_eq!(advice, "retry with the same out_request_no");

    let kind = CouponType::from_wire("NEW_KIND");
    match kind {
        CouponType::Normal | CouponType::Member => {}
        CouponType::Unknown(raw) => assert_eq!(raw, "NEW_KIND"),
        _ => {}
    }
}

/// The signature of `Client::execute` (the transport's): the operation is
/// inferred from the request type, so a caller writes no turbofish.
fn operation_of<R, E>(_request: &R) -> &'static str
where
    R: wechatpay_endpoints::OperationRequest<E>,
    E: Endpoint<Request = R>,
{
    E::INFO.operation_id
}

#[test]
fn the_request_names_its_operation() {
    let request =
        SendProductCouponRequest::new("openid", "wx1", "stock", "req-1", CouponType::Normal);
    assert_eq!(operation_of(&request), "send-product-coupon");
    let bundle = PreSendUserProductCouponBundleRequest::new("o", "p", "b", "wx", "123456");
    assert_eq!(operation_of(&bundle), "pre-send-user-product-coupon-bundle");
}
