//! `route`: method and path to the operation, as the sandbox dispatches.

use wechatpay_endpoints::{route, Route};

#[test]
fn routes_paths_to_operations() {
    let path = "/brand/marketing/product-coupon/users/o%2F1/coupons";
    let Route::Found(info, params) = route("POST", path) else {
        panic!("no route");
    };
    assert_eq!(info.operation_id, "send-user-product-coupon");
    assert_eq!(params, [("openid", "o%2F1")]);
    let Route::Found(info, _) = route("GET", path) else {
        panic!("no route");
    };
    assert_eq!(info.operation_id, "list-user-product-coupons");
    assert!(matches!(route("DELETE", path), Route::WrongMethod(_)));
    let Route::Found(info, params) = route("POST", "/v3/marketing/busifavor/product-coupons/send")
    else {
        panic!("no route");
    };
    assert_eq!(info.operation_id, "send-product-coupon");
    assert!(params.is_empty());
    assert!(matches!(
        route("POST", "/brand/marketing/product-coupon/users//coupons"),
        Route::NotFound
    ));
    assert!(matches!(
        route("POST", "/v3/marketing/busifavor/product-coupons/send/x"),
        Route::NotFound
    ));
}
