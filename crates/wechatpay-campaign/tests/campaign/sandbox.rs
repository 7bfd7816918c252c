//! Campaigns against the in-process sandbox: both seed send operations, resume
//! after a stop, unknown outcomes resent with the same number, documented
//! errors, and errors that stop the campaign.

use crate::common;

use std::time::Duration;

use common::{bounded, client, sandbox, spec, stats, users, USER_TEMPLATE};
use serde_json::Value;
use wechatpay_campaign::{
    report, Campaign, Control, NumberSource, ReportFormat, RunEnd, RunOptions,
};

fn json_report(path: &std::path::Path) -> Vec<Value> {
    let mut out = Vec::new();
    report(path, ReportFormat::Json, &mut out).unwrap();
    serde_json::from_slice(&out).unwrap()
}

fn fast(rate: f64) -> RunOptions {
    RunOptions {
        rate: Some(rate),
        retry_initial: Duration::from_millis(20),
        ..RunOptions::default()
    }
}

#[test]
fn small_campaigns_of_both_send_operations_issue_one_coupon_per_row() {
    let sandbox = sandbox(None);
    let dir = tempfile::tempdir().unwrap();

    // send-user-product-coupon: numbers derived from the campaign and the row.
    let user_dir = dir.path().join("user");
    std::fs::create_dir(&user_dir).unwrap();
    let user = spec(
        &user_dir,
        "send-user-product-coupon",
        &users("oCampaignUser", 40),
        USER_TEMPLATE,
    );
    let brand = client(&sandbox, sandbox.base_url(), true);
    let campaign = Campaign::open(&user).unwrap();
    assert!(campaign.created());
    assert_eq!(campaign.binding().numbers, NumberSource::Derived);
    let summary = bounded(60, campaign.run(&brand, &fast(400.0), &Control::new())).unwrap();
    assert_eq!(summary.end, RunEnd::Completed);
    assert!(summary.all_succeeded(), "{summary:?}");
    // Each row: its send, then the confirm the schema declares for the coupon it issued.
    assert_eq!(summary.progress.requests, 80);
    assert_eq!(summary.counts.follow_ups.done, 40);
    assert_eq!(stats(&sandbox, "send-user-product-coupon"), (40, 40, 0));
    assert_eq!(
        stats(&sandbox, "confirm-send-user-product-coupon"),
        (40, 40, 0)
    );
    let rows = json_report(&user.journal);
    assert_eq!(rows.len(), 40);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["row"], i as u64 + 1);
        assert_eq!(row["status"], "succeeded");
        assert_eq!(row["input"]["openid"], format!("oCampaignUser{i:05}"));
        assert_eq!(row["result"]["send_request_no"], row["request_no"]);
        assert!(row["result"]["coupon_code"]
            .as_str()
            .is_some_and(|c| !c.is_empty()));
        // The state after the last step: usable.
        let state = row["result"]["coupon_state"].as_str().unwrap();
        assert!(matches!(state, "PENDING" | "EFFECTIVE"), "{row}");
        let confirm = row["confirm_request_no"].as_str().unwrap();
        assert_eq!(row["result"]["confirm_request_no"], confirm, "{row}");
        assert_ne!(confirm, row["request_no"].as_str().unwrap());
    }

    // Sending again finds nothing to do: not one request.
    let again = bounded(
        60,
        Campaign::open(&user)
            .unwrap()
            .run(&brand, &fast(400.0), &Control::new()),
    )
    .unwrap();
    assert_eq!(again.progress.requests, 0);
    assert_eq!(stats(&sandbox, "send-user-product-coupon"), (40, 40, 0));

    // send-product-coupon (merchant): numbers from the CSV's own column.
    let merchant_dir = dir.path().join("merchant");
    std::fs::create_dir(&merchant_dir).unwrap();
    let mut csv = String::from("openid,out_request_no\n");
    for i in 0..30 {
        csv.push_str(&format!("oMerchantUser{i:03},OUT-{i:03}\n"));
    }
    let merchant = spec(
        &merchant_dir,
        "send-product-coupon",
        &csv,
        r#"{"appid":"wx1234567889999","stock_id":"12312354","coupon_type":"NORMAL"}"#,
    );
    let campaign = Campaign::open(&merchant).unwrap();
    assert_eq!(campaign.binding().numbers, NumberSource::Column);
    let summary = bounded(
        60,
        campaign.run(
            &client(&sandbox, sandbox.base_url(), false),
            &fast(300.0),
            &Control::new(),
        ),
    )
    .unwrap();
    assert!(summary.all_succeeded(), "{summary:?}");
    assert_eq!(stats(&sandbox, "send-product-coupon"), (30, 30, 0));
    let mut out = Vec::new();
    report(&merchant.journal, ReportFormat::Csv, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "row,openid,out_request_no,request_no,status,attempts,error_step,error_code,error_message,stock_id,result.send_coupon_result.out_request_no,coupon_code"
    );
    let first: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        first[..7],
        [
            "1",
            "oMerchantUser000",
            "OUT-000",
            "OUT-000",
            "succeeded",
            "1",
            ""
        ]
    );
    assert!(!first[11].is_empty(), "coupon_code: {first:?}");
}

#[test]
fn a_stopped_campaign_resumes_and_sends_every_row_exactly_once() {
    let sandbox = sandbox(None);
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(
        dir.path(),
        "send-user-product-coupon",
        &users("oResume", 200),
        USER_TEMPLATE,
    );
    let brand = client(&sandbox, sandbox.base_url(), true);
    let control = Control::new();
    let watcher = control.clone();
    let first = bounded(60, async {
        let stop_at_50 = tokio::spawn(async move {
            while watcher.progress().done() < 50 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            watcher.stop();
        });
        let summary = Campaign::open(&spec)
            .unwrap()
            .run(&brand, &fast(400.0), &control)
            .await;
        stop_at_50.abort();
        summary
    })
    .unwrap();
    assert_eq!(first.end, RunEnd::Interrupted);
    assert!(
        first.counts.succeeded >= 50 && first.counts.succeeded < 200,
        "{first:?}"
    );
    assert_eq!(
        first.counts.in_flight, 0,
        "rows taken but not sent go back to pending"
    );
    assert_eq!(first.counts.open(), 200 - first.counts.succeeded);

    let campaign = Campaign::open(&spec).unwrap();
    assert!(!campaign.created());
    let second = bounded(60, campaign.run(&brand, &fast(400.0), &Control::new())).unwrap();
    assert!(second.all_succeeded(), "{second:?}");
    assert_eq!(first.progress.requests + second.progress.requests, 400);
    assert_eq!(stats(&sandbox, "send-user-product-coupon"), (200, 200, 0));
    assert_eq!(
        stats(&sandbox, "confirm-send-user-product-coupon"),
        (200, 200, 0)
    );
}

#[test]
fn unknown_outcomes_are_resent_with_the_same_number_and_never_fail_a_row() {
    // Every request is recorded, then the connection dropped without a reply
    // (the first time per number): each row is resent and gets its coupon.
    let dropping = sandbox(Some("drop-after-receive"));
    let dir = tempfile::tempdir().unwrap();
    let spec_drop = spec(
        dir.path(),
        "send-user-product-coupon",
        &users("oDropped", 20),
        USER_TEMPLATE,
    );
    let brand = client(&dropping, dropping.base_url(), true);
    let summary = bounded(
        60,
        Campaign::open(&spec_drop)
            .unwrap()
            .run(&brand, &fast(200.0), &Control::new()),
    )
    .unwrap();
    assert!(summary.all_succeeded(), "{summary:?}");
    // Sends and confirms alike: dropped once, resent with the same number.
    assert_eq!(summary.progress.requests, 80);
    assert_eq!(stats(&dropping, "send-user-product-coupon"), (40, 20, 20));
    assert_eq!(
        stats(&dropping, "confirm-send-user-product-coupon"),
        (40, 20, 20)
    );
    for row in json_report(&spec_drop.journal) {
        assert_eq!(row["attempts"], 2);
        assert_eq!(row["result"]["send_request_no"], row["request_no"]);
    }

    // Replies that never verify: resent (the 2xx probe case is resent once
    // more by the transport), then left pending, never failed.
    let tampering = sandbox(Some("tamper-signature"));
    let dir = tempfile::tempdir().unwrap();
    let spec_tamper = spec(
        dir.path(),
        "send-user-product-coupon",
        &users("oTampered", 10),
        USER_TEMPLATE,
    );
    let options = RunOptions {
        max_attempts: 3,
        ..fast(200.0)
    };
    let brand = client(&tampering, tampering.base_url(), true);
    let summary = bounded(
        60,
        Campaign::open(&spec_tamper)
            .unwrap()
            .run(&brand, &options, &Control::new()),
    )
    .unwrap();
    assert_eq!(summary.end, RunEnd::Completed);
    assert_eq!(summary.counts.failed, 0);
    assert_eq!(summary.counts.pending, 10, "{summary:?}");
    let (requests, issued, _) = stats(&tampering, "send-user-product-coupon");
    assert_eq!(
        issued, 10,
        "one coupon per row, however often it was resent"
    );
    assert_eq!(requests, 10 * 3 * 2);
    for row in json_report(&spec_tamper.journal) {
        assert_eq!(row["status"], "pending");
        assert_eq!(row["error_code"], "OUTCOME_UNKNOWN");
    }

    // 500 SYSTEM_ERROR: the same, nothing issued.
    let failing = sandbox(Some("status=500"));
    let dir = tempfile::tempdir().unwrap();
    let spec_500 = spec(
        dir.path(),
        "send-user-product-coupon",
        &users("o500", 5),
        USER_TEMPLATE,
    );
    let brand = client(&failing, failing.base_url(), true);
    let summary = bounded(
        60,
        Campaign::open(&spec_500)
            .unwrap()
            .run(&brand, &options, &Control::new()),
    )
    .unwrap();
    assert_eq!((summary.counts.failed, summary.counts.pending), (0, 5));
    assert_eq!(stats(&failing, "send-user-product-coupon"), (15, 0, 0));
}

#[test]
fn documented_errors_fail_rows_and_caller_errors_stop_the_campaign() {
    let refusing = sandbox(Some("error=USER_ERROR"));
    let dir = tempfile::tempdir().unwrap();
    let spec_user = spec(
        dir.path(),
        "send-user-product-coupon",
        &users("oNotMember", 6),
        USER_TEMPLATE,
    );
    let brand = client(&refusing, refusing.base_url(), true);
    let summary = bounded(
        60,
        Campaign::open(&spec_user)
            .unwrap()
            .run(&brand, &fast(200.0), &Control::new()),
    )
    .unwrap();
    assert_eq!(summary.end, RunEnd::Completed);
    assert_eq!((summary.counts.failed, summary.counts.open()), (6, 0));
    assert_eq!(
        summary.progress.requests, 6,
        "a permanent error is not resent"
    );
    for row in json_report(&spec_user.journal) {
        assert_eq!(row["status"], "failed");
        assert_eq!(row["error_code"], "USER_ERROR");
    }

    // Signed as a brand the sandbox does not know: 401 SIGN_ERROR would come
    // back for every row, so the campaign stops at the first and marks nothing failed.
    let sandbox = sandbox(None);
    let dir = tempfile::tempdir().unwrap();
    let spec_sign = spec(
        dir.path(),
        "send-user-product-coupon",
        &users("oSign", 50),
        USER_TEMPLATE,
    );
    let stranger = sandbox
        .client_builder(wechatpay_transport::Identity::brand("1999999999"))
        .retry(wechatpay_transport::RetryPolicy::none())
        .build()
        .unwrap();
    let options = RunOptions {
        concurrency: Some(2),
        ..fast(100.0)
    };
    let summary = bounded(
        60,
        Campaign::open(&spec_sign)
            .unwrap()
            .run(&stranger, &options, &Control::new()),
    )
    .unwrap();
    match &summary.end {
        RunEnd::Stopped { code, .. } => assert_eq!(code, "SIGN_ERROR"),
        other => panic!("{other:?}"),
    }
    assert_eq!(summary.counts.failed, 0);
    assert_eq!(summary.counts.open(), 50);
    assert!(summary.progress.requests <= 3, "{summary:?}");
}
