//! The test kit: the shared one (`wechatpay-test-kit`: fixtures, the OpenSSL
//! oracle, an independent `Authorization` parser, replies signed by OpenSSL as
//! data) and what only this crate's tests use (no HTTP server here: replies
//! become `http` header maps).
#![allow(dead_code)]

pub use wechatpay_test_kit::*;

use http::{HeaderMap, HeaderName, HeaderValue};
use wechatpay_protocol::notification::EncryptedResource;

/// A reply's headers as the `http` header map a server framework hands over.
pub fn header_map(reply: &Reply) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in &reply.headers {
        map.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    map
}

/// A `PRODUCT_COUPON.SEND` notification with event id `id` around `resource`.
pub fn notification_body(id: &str, resource: &EncryptedResource) -> String {
    serde_json::json!({
        "id": id,
        "create_time": "2025-01-01T13:29:35+08:00",
        "resource_type": "encrypt-resource",
        "event_type": "PRODUCT_COUPON.SEND",
        "summary": "商品券发放",
        "resource": resource,
    })
    .to_string()
}
