//! Request numbers are idempotent, as in the real API: same number and body →
//! the same bytes; same number, different body → an error; a reply lost to a
//! dropped connection is recovered by retrying with the same number, and only
//! one coupon is issued.

use crate::common;

use std::sync::OnceLock;

use common::{keys_dir, now, unique, Sandbox};
use serde_json::json;
use wechatpay_transport::AuthScheme::{Brand, Merchant};

const MERCHANT_URL: &str = "/v3/marketing/busifavor/product-coupons/send";
const BRAND_URL: &str = "/brand/marketing/product-coupon/users/o-idem/coupons";

fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| Sandbox::start(&keys_dir("idempotency"), &[]))
}

fn counters(sb: &Sandbox, op: &str) -> (u64, u64) {
    let stats = sb.stats();
    let op = &stats["operations"][op];
    (
        op["issued"].as_u64().unwrap(),
        op["replayed"].as_u64().unwrap(),
    )
}

#[test]
fn same_number_and_body_give_byte_identical_results() {
    let sb = sandbox();
    let body = serde_json::to_vec(&json!({
        "product_coupon_id":"1000000013","stock_id":"1000000013001","appid":"wx2",
        "send_request_no":unique("SAME"),"attach":"first"
    }))
    .unwrap();
    let serial = sb.serial_header();
    let first = sb.signed(Brand, BRAND_URL, &body, now(), &[serial]);
    assert_eq!(
        first.status,
        200,
        "{}",
        String::from_utf8_lossy(&first.body)
    );
    // Signed afresh (new nonce and timestamp), same body: same result, byte for byte.
    let second = sb.signed(Brand, BRAND_URL, &body, now(), &[serial]);
    assert_eq!(second.status, 200);
    assert_eq!(first.body, second.body);
    assert_ne!(
        first.header("Wechatpay-Nonce"),
        second.header("Wechatpay-Nonce")
    );
    // The same JSON with keys in another order is the same request.
    let mut reordered: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&body).unwrap();
    let attach = reordered.remove("attach").unwrap();
    let mut text = serde_json::to_string(&reordered).unwrap();
    text.insert_str(1, &format!("\"attach\":{attach},"));
    let third = sb.signed(Brand, BRAND_URL, text.as_bytes(), now(), &[serial]);
    assert_eq!(third.body, first.body);
}

#[test]
fn same_number_with_a_different_body_is_an_error() {
    let sb = sandbox();
    let number = unique("DIFF");
    let body = |stock: &str, appid: &str| {
        serde_json::to_vec(&json!({"openid":"o1","appid":appid,"stock_id":stock,"out_request_no":number,"coupon_type":"NORMAL"})).unwrap()
    };
    // The two merchant stocks of page 000's examples.
    let (s1, s2) = ("12312354", "1262260000000268");
    let first = sb.signed(Merchant, MERCHANT_URL, &body(s1, "wx1"), now(), &[]);
    assert_eq!(first.status, 200);
    // out_request_no is unique per stock per user (page 000): another stock may reuse it.
    let other_stock = sb.signed(Merchant, MERCHANT_URL, &body(s2, "wx1"), now(), &[]);
    assert_eq!(other_stock.status, 200, "{}", other_stock.json());
    let conflict = sb.signed(Merchant, MERCHANT_URL, &body(s1, "wx2"), now(), &[]);
    let reply = conflict.json();
    assert_eq!(conflict.status, 400, "{reply}");
    assert_eq!(reply["code"], "RESOURCE_ALREADY_EXISTS", "{reply}");
    assert!(
        reply["message"].as_str().unwrap().contains(&number),
        "{reply}"
    );
    // The brand operation's table has no RESOURCE_ALREADY_EXISTS: INVALID_REQUEST.
    let brand = |attach: &str| {
        serde_json::to_vec(&json!({"product_coupon_id":"1000000013","stock_id":"1000000013001","appid":"wx","send_request_no":"DIFF_BRAND_1","attach":attach})).unwrap()
    };
    let serial = sb.serial_header();
    let first = sb.signed(
        Brand,
        "/brand/marketing/product-coupon/users/o-diff/coupons",
        &brand("a"),
        now(),
        &[serial],
    );
    assert_eq!(first.status, 200);
    let conflict = sb.signed(
        Brand,
        "/brand/marketing/product-coupon/users/o-diff/coupons",
        &brand("b"),
        now(),
        &[serial],
    );
    assert_eq!(
        (conflict.status, conflict.json()["code"].as_str()),
        (400, Some("INVALID_REQUEST"))
    );
    // A different openid (path parameter) is a different request too.
    let other_user = sb.signed(
        Brand,
        "/brand/marketing/product-coupon/users/o-other/coupons",
        &brand("a"),
        now(),
        &[serial],
    );
    assert_eq!(other_user.status, 400);
}

#[test]
fn dropped_reply_then_retry_returns_the_original_result_and_issues_once() {
    // The only test here on this operation, so its counters are not raced.
    let op = "pre-send-user-product-coupon-bundle";
    let url = "/brand/marketing/product-coupon/users/o-drop/pre-send-coupon-bundle";
    let sb = sandbox();
    let body = serde_json::to_vec(&json!({
        "product_coupon_id":"200000001","stock_bundle_id":"100232301","appid":"wx1","send_request_no":unique("DROP")
    }))
    .unwrap();
    let before = counters(sb, op);
    let auth = sb.authorization(Brand, "POST", url, &body, now());
    let dropped = common::http(
        sb.addr,
        "POST",
        url,
        &[
            ("Authorization", &auth),
            sb.serial_header(),
            ("X-Sandbox-Fault", "drop-after-receive"),
        ],
        &body,
    );
    assert!(
        dropped.is_none(),
        "expected the connection to close without a reply: {dropped:?}"
    );
    assert_eq!(
        counters(sb, op),
        (before.0 + 1, before.1),
        "the request was processed"
    );
    // The client retries with the same request number (the fault header still set).
    let retry = sb.signed(
        Brand,
        url,
        &body,
        now(),
        &[
            sb.serial_header(),
            ("X-Sandbox-Fault", "drop-after-receive"),
        ],
    );
    assert_eq!(retry.status, 200);
    let again = sb.signed(Brand, url, &body, now(), &[sb.serial_header()]);
    assert_eq!(retry.body, again.body);
    assert_eq!(
        counters(sb, op),
        (before.0 + 1, before.1 + 2),
        "one result issued, two replays"
    );
}
