//! Encoding and decoding cost of the generated types against `serde_json::Value`
//! on the same bytes (issue target: typed ≤ 1.0× Value).
//!
//! Run: `cargo bench -p wechatpay-endpoints --bench codec`. Prints one
//! `BENCH name value unit` line per measurement for `cargo xtask bench`.

use std::hint::black_box;

#[path = "../../../benches/measure.rs"]
mod measure;

use measure::{measure, report};
use serde_json::Value;
use wechatpay_endpoints::brand::SendUserProductCoupon;
use wechatpay_endpoints::Endpoint;
use wechatpay_models::{SendUserProductCouponRequest, UserProductCouponEntity};

fn main() {
    let info = SendUserProductCoupon::INFO;
    let reply = info.response_examples[0].body.as_bytes();
    let request_body = info.request_examples[0].body;
    let request: SendUserProductCouponRequest = serde_json::from_str(request_body).unwrap();
    let request_value: Value = serde_json::from_str(request_body).unwrap();

    let typed = measure(|| {
        black_box(serde_json::from_slice::<UserProductCouponEntity>(black_box(reply)).unwrap());
    });
    let value = measure(|| {
        black_box(serde_json::from_slice::<Value>(black_box(reply)).unwrap());
    });
    report("decode_002_reply_typed", typed, "ns/op");
    report("decode_002_reply_value", value, "ns/op");
    println!("BENCH decode_002_ratio {:.2} x", typed / value);

    let typed = measure(|| {
        black_box(serde_json::to_vec(black_box(&request)).unwrap());
    });
    let value = measure(|| {
        black_box(serde_json::to_vec(black_box(&request_value)).unwrap());
    });
    report("encode_002_request_typed", typed, "ns/op");
    report("encode_002_request_value", value, "ns/op");
    println!("BENCH encode_002_ratio {:.2} x", typed / value);
}
