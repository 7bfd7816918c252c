//! Encoding and decoding cost of the generated types against `serde_json::Value`
//! on the same bytes (issue target: typed ≤ 1.0× Value).
//!
//! Run: `cargo bench -p wechatpay-endpoints --bench codec`. Prints one
//! `BENCH name value unit` line per measurement for `cargo xtask bench`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use serde_json::Value;
use wechatpay_endpoints::{Endpoint, SendUserProductCoupon};
use wechatpay_models::{SendUserProductCouponRequest, UserProductCouponEntity};

/// Median nanoseconds per call over 21 batches of about 20 ms each.
fn measure(mut f: impl FnMut()) -> f64 {
    let mut per_batch = 1u64;
    loop {
        let start = Instant::now();
        for _ in 0..per_batch {
            f();
        }
        if start.elapsed() >= Duration::from_millis(20) {
            break;
        }
        per_batch *= 2;
    }
    let mut samples: Vec<f64> = (0..21)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..per_batch {
                f();
            }
            start.elapsed().as_nanos() as f64 / per_batch as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn report(name: &str, ns: f64) {
    println!("BENCH {name} {ns:.0} ns/op");
}

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
    report("decode_002_reply_typed", typed);
    report("decode_002_reply_value", value);
    println!("BENCH decode_002_ratio {:.2} x", typed / value);

    let typed = measure(|| {
        black_box(serde_json::to_vec(black_box(&request)).unwrap());
    });
    let value = measure(|| {
        black_box(serde_json::to_vec(black_box(&request_value)).unwrap());
    });
    report("encode_002_request_typed", typed);
    report("encode_002_request_value", value);
    println!("BENCH encode_002_ratio {:.2} x", typed / value);
}
