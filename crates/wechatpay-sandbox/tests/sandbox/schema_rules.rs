//! Rules of the schema that the audit found missing, checked where every
//! caller meets them (the CLI, campaigns and the sandbox all decode a body
//! with `decode_request`): a multi-use coupon's `progressive_bundle_usage_info`
//! without `count` (3–15) was accepted.

use crate::common;

use serde_json::{json, Value};
use wechatpay_endpoints::brand::CreateProductCoupon;
use wechatpay_runtime::json::decode_request;
use wechatpay_runtime::Endpoint;

#[test]
fn a_multi_use_coupon_without_its_count_is_refused_naming_it() {
    let mut body: Value = common::examples::example_request(CreateProductCoupon::INFO, 0);
    let about_count = |body: &Value| match decode_request::<CreateProductCoupon>(body) {
        Ok(_) => Vec::new(),
        Err(problems) => problems
            .into_iter()
            .filter(|p| p.path.contains("count") || p.message.contains("count"))
            .collect(),
    };
    body["progressive_bundle_usage_info"] = json!({"count": 3, "interval_days": 1});
    assert_eq!(about_count(&body), [], "with its count");
    body["progressive_bundle_usage_info"] = json!({"interval_days": 1});
    let problems = decode_request::<CreateProductCoupon>(&body).unwrap_err();
    assert!(
        problems
            .iter()
            .any(|p| p.path == "progressive_bundle_usage_info.count" && p.message == "is required"),
        "{problems:?}"
    );
}

/// A use names exactly one order object (partner page 4016435636: 订单信息必须且
/// 只能传入 associated_order_info 与 associated_pay_score_order_info 之一): both,
/// or neither, is refused before the coupon is touched.
#[test]
fn a_use_with_both_order_objects_or_neither_is_refused_naming_them() {
    use wechatpay_endpoints::brand::UseUserProductCoupon;
    let mut body: Value = common::examples::example_request(UseUserProductCoupon::INFO, 0);
    assert!(
        decode_request::<UseUserProductCoupon>(&body).is_ok(),
        "one order object"
    );
    body["associated_pay_score_order_info"] = json!({"out_order_no": "PAYSCORE_1"});
    let both = decode_request::<UseUserProductCoupon>(&body).unwrap_err();
    assert!(
        both.iter().any(|p| p.path == "associated_order_info"
            && p.message
                == "exactly one of associated_order_info, associated_pay_score_order_info is required, 2 given"),
        "{both:?}"
    );
    let object = body.as_object_mut().unwrap();
    object.remove("associated_order_info");
    assert!(
        decode_request::<UseUserProductCoupon>(&body).is_ok(),
        "the other one"
    );
    body.as_object_mut()
        .unwrap()
        .remove("associated_pay_score_order_info");
    let neither = decode_request::<UseUserProductCoupon>(&body).unwrap_err();
    assert!(
        neither.iter().any(|p| p.message.contains("0 given")),
        "{neither:?}"
    );
}
