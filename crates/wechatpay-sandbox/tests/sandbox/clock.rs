//! The business clock's limits: it moves forward only, and never so far that
//! dates stall at the last representable year (the hostile run advanced it
//! to 9999, where new coupons were valid from receipt to receipt).

use crate::common;

use std::time::Duration;

use serde_json::{json, Value};
use wechatpay_sandbox::clock::MAX_OFFSET_SECONDS;
use wechatpay_sandbox::Sandbox;

async fn advance(sandbox: &Sandbox, seconds: i64) -> (u16, Value) {
    let reply = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
        .post(format!("{}/sandbox/clock", sandbox.base_url()))
        .body(json!({ "advance_seconds": seconds }).to_string())
        .send()
        .await
        .unwrap();
    let status = reply.status().as_u16();
    (
        status,
        serde_json::from_slice(&reply.bytes().await.unwrap()).unwrap(),
    )
}

#[test]
fn the_clock_is_never_moved_beyond_its_stated_maximum() {
    let keys = common::keys();
    let sb = Sandbox::start(common::options(keys.path())).unwrap();
    common::runtime().block_on(async {
        // About ten years at a time, as the hostile run did, until the limit.
        let step = wechatpay_sandbox::clock::MAX_ADVANCE_SECONDS - 1000;
        let mut offset = 0;
        while offset + step <= MAX_OFFSET_SECONDS {
            let (status, body) = advance(&sb, step).await;
            assert_eq!(status, 200, "{body}");
            offset += step;
            assert_eq!(body["offset_seconds"], offset);
        }
        let (status, body) = advance(&sb, step).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["code"], "PARAM_ERROR");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains("100 years"), "{message}");
        assert!(
            message.contains(&(MAX_OFFSET_SECONDS - offset).to_string()),
            "{message}"
        );
        // Refused means unmoved; the rest up to the limit is still accepted.
        let now = common::admin(&sb, "GET", "/sandbox/clock", None).await;
        assert_eq!(now["offset_seconds"], offset);
        let (status, body) = advance(&sb, MAX_OFFSET_SECONDS - offset).await;
        assert_eq!(
            (status, &body["offset_seconds"]),
            (200, &json!(MAX_OFFSET_SECONDS))
        );
        assert_eq!(advance(&sb, 1).await.0, 400);
        // Far from 9999: the business year is about a century from now.
        let year: i32 = body["now"].as_str().unwrap()[..4].parse().unwrap();
        assert!((2100..2200).contains(&year), "{body}");
    });
}
