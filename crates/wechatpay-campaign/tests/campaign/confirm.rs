//! The send → confirm flow: every coupon a campaign issues is confirmed by the
//! follow-up the schema declares, as a second journaled step of its row; a row
//! succeeds only once its coupon is confirmed.

use crate::common;

use std::time::Duration;

use common::{bounded, client, sandbox, spec, stats, users, USER_TEMPLATE};
use serde_json::Value;
use wechatpay_campaign::{report, Campaign, Control, ReportFormat, RunEnd, RunOptions};
use wechatpay_models::DeactivateUserProductCouponRequest;

fn json_report(path: &std::path::Path) -> Vec<Value> {
    let mut out = Vec::new();
    report(path, ReportFormat::Json, &mut out).unwrap();
    serde_json::from_slice(&out).unwrap()
}

fn options(follow_up: bool) -> RunOptions {
    RunOptions {
        rate: Some(400.0),
        retry_initial: Duration::from_millis(20),
        follow_up,
        ..RunOptions::default()
    }
}

#[test]
fn coupons_left_unconfirmed_are_confirmed_later_and_a_dead_coupon_fails_its_row() {
    let sandbox = sandbox(None);
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(
        dir.path(),
        "send-user-product-coupon",
        &users("oLater", 10),
        USER_TEMPLATE,
    );
    let brand = client(&sandbox, sandbox.base_url(), true);

    // --no-confirm: sent, recorded as awaiting the confirm, not succeeded.
    let sent = bounded(
        60,
        Campaign::open(&spec)
            .unwrap()
            .run(&brand, &options(false), &Control::new()),
    )
    .unwrap();
    assert_eq!(sent.end, RunEnd::Completed);
    assert_eq!(
        (sent.counts.confirming, sent.counts.succeeded),
        (10, 0),
        "{sent:?}"
    );
    assert_eq!(sent.counts.follow_ups.open, 10);
    let rows = json_report(&spec.journal);
    for row in &rows {
        assert_eq!(row["status"], "pending");
        assert_eq!(row["result"]["coupon_state"], "CONFIRMING");
    }

    // Two coupons die before anyone confirms them.
    for row in &rows[..2] {
        let request = DeactivateUserProductCouponRequest::new(
            row["input"]["openid"].as_str().unwrap(),
            row["result"]["coupon_code"].as_str().unwrap(),
            "1000000013",
            "1000000013001",
            "wx233544546545989",
            format!("DEACT{}", row["row"]),
            "test",
        );
        bounded(30, brand.execute(&request)).unwrap();
    }

    // The same campaign again: only confirms go out, never a second send.
    let confirmed = bounded(
        60,
        Campaign::open(&spec)
            .unwrap()
            .run(&brand, &options(true), &Control::new()),
    )
    .unwrap();
    assert_eq!(confirmed.end, RunEnd::Completed);
    assert_eq!(
        (confirmed.counts.succeeded, confirmed.counts.failed),
        (8, 2),
        "{confirmed:?}"
    );
    assert_eq!(confirmed.counts.failed_in_follow_up, 2);
    assert_eq!(stats(&sandbox, "send-user-product-coupon"), (10, 10, 0));
    let (requests, issued, _) = stats(&sandbox, "confirm-send-user-product-coupon");
    assert_eq!((requests, issued), (10, 8));
    let rows = json_report(&spec.journal);
    for row in &rows[..2] {
        assert_eq!(row["status"], "failed", "{row}");
        assert_eq!(row["error_step"], "confirm-send-user-product-coupon");
        assert_eq!(row["error_code"], "INVALID_REQUEST");
        assert!(row["error_message"]
            .as_str()
            .unwrap()
            .contains("DEACTIVATED"));
        assert!(row["result"]["coupon_code"].as_str().is_some(), "kept");
    }
    for row in &rows[2..] {
        assert_eq!(row["status"], "succeeded");
        let state = row["result"]["coupon_state"].as_str().unwrap();
        assert!(matches!(state, "PENDING" | "EFFECTIVE"), "{row}");
    }

    // Nothing left: a third run sends nothing.
    let again = bounded(
        60,
        Campaign::open(&spec)
            .unwrap()
            .run(&brand, &options(true), &Control::new()),
    )
    .unwrap();
    assert_eq!(again.progress.requests, 0);
}

#[test]
fn a_bundle_campaign_confirms_every_coupon_of_every_bundle() {
    let sandbox = sandbox(None);
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(
        dir.path(),
        "send-user-product-coupon-bundle",
        &users("oBundle", 3),
        r#"{"product_coupon_id":"200000001","stock_bundle_id":"100232301","appid":"wx233544546545989"}"#,
    );
    let brand = client(&sandbox, sandbox.base_url(), true);
    let summary = bounded(
        60,
        Campaign::open(&spec)
            .unwrap()
            .run(&brand, &options(true), &Control::new()),
    )
    .unwrap();
    assert!(summary.all_succeeded(), "{summary:?}");
    let coupons = summary.counts.follow_ups.done;
    assert!(coupons >= 6 && coupons % 3 == 0, "{summary:?}");
    let (_, issued, _) = stats(&sandbox, "confirm-send-user-product-coupon");
    assert_eq!(issued, coupons);
    for row in json_report(&spec.journal) {
        let numbers = row["confirm_request_no"].as_str().unwrap();
        assert_eq!(numbers.split(';').count() as u64, coupons / 3, "{row}");
    }
}

/// A notify URL on 127.0.0.1 that answers every delivery 204 (verification is
/// `notify serve`'s job; here only the delivery matters).
fn accepting_notify_url() -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/notify", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut reader = BufReader::new(match stream.try_clone() {
                    Ok(s) => s,
                    Err(_) => return,
                });
                let mut writer = stream;
                loop {
                    let mut length = 0usize;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some((k, v)) = line.split_once(':') {
                            if k.eq_ignore_ascii_case("content-length") {
                                length = v.trim().parse().unwrap_or(0);
                            }
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err()
                        || writer
                            .write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                            .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    url
}

fn strict_sandbox() -> wechatpay_sandbox::Sandbox {
    let options = wechatpay_sandbox::Options::new(common::keys_dir()).confirm_after_notify(true);
    wechatpay_sandbox::Sandbox::start(options).expect("start the sandbox")
}

#[test]
fn a_confirm_refused_until_the_notification_is_delivered_waits_and_never_fails_the_row() {
    // The page is silent on confirming before the callback: under the strict
    // sandbox a confirm is refused until the coupon's PRODUCT_COUPON.SEND was
    // delivered, and the campaign waits for it with the same number.
    let sandbox = strict_sandbox();
    let brand = client(&sandbox, sandbox.base_url(), true);
    let url = accepting_notify_url();
    bounded(
        30,
        brand.execute(&wechatpay_models::SetNotifyConfigRequest::new(url)),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(
        dir.path(),
        "send-user-product-coupon",
        &users("oStrict", 30),
        USER_TEMPLATE,
    );
    let waiting = RunOptions {
        wait_initial: Duration::from_millis(50),
        ..options(true)
    };
    let summary = bounded(
        60,
        Campaign::open(&spec)
            .unwrap()
            .run(&brand, &waiting, &Control::new()),
    )
    .unwrap();
    assert!(summary.all_succeeded(), "{summary:?}");
    let (requests, issued, _) = stats(&sandbox, "confirm-send-user-product-coupon");
    assert_eq!(issued, 30, "each coupon confirmed once");
    assert!(requests >= 30);
    for row in json_report(&spec.journal) {
        assert_ne!(row["result"]["coupon_state"], "CONFIRMING", "{row}");
    }
}

#[test]
fn with_no_notification_ever_delivered_the_rows_stay_pending_not_failed() {
    let sandbox = strict_sandbox();
    let brand = client(&sandbox, sandbox.base_url(), true);
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(
        dir.path(),
        "send-user-product-coupon",
        &users("oNoUrl", 40),
        USER_TEMPLATE,
    );
    let impatient = RunOptions {
        wait_initial: Duration::from_millis(10),
        retry_max: Duration::from_millis(40),
        max_waits: 3,
        ..options(true)
    };
    let summary = bounded(
        60,
        Campaign::open(&spec)
            .unwrap()
            .run(&brand, &impatient, &Control::new()),
    )
    .unwrap();
    assert_eq!(summary.end, RunEnd::Completed);
    assert_eq!(
        (
            summary.counts.confirming,
            summary.counts.failed,
            summary.counts.follow_ups.open
        ),
        (40, 0, 40),
        "{summary:?}"
    );
    // Each confirm tried exactly max_waits times this run: one given up while rows
    // were still being sent is not taken again.
    let (requests, issued, _) = stats(&sandbox, "confirm-send-user-product-coupon");
    assert_eq!((requests, issued), (40 * 3, 0));
    for row in json_report(&spec.journal) {
        assert_eq!(row["status"], "pending");
        assert_eq!(row["result"]["coupon_state"], "CONFIRMING");
    }
}
