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
