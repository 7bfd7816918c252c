//! What an error answer means for its row comes from the scope the schema declares
//! on the operation's error rows: an answer about this row fails the row and the
//! campaign goes on; one about the caller or the stock stops it.

use crate::common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{bounded, client, sandbox, spec, USER_TEMPLATE};
use serde_json::Value;
use wechatpay_campaign::{report, Campaign, Control, ReportFormat, RunEnd, RunOptions};

fn json_report(path: &std::path::Path) -> Vec<Value> {
    let mut out = Vec::new();
    report(path, ReportFormat::Json, &mut out).unwrap();
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn repeated_users_over_a_per_user_limited_stock_fail_only_the_repeats() {
    // Stock 1000000013001 gives one coupon per user (max_count_per_user: 1).
    let sandbox = sandbox(None);
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("openid\n");
    let mut expected: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..30 {
        // Every fifth row repeats the user two rows before it.
        let user = if i % 5 == 4 {
            format!("oRepeat{:03}", i - 2)
        } else {
            format!("oRepeat{i:03}")
        };
        *expected.entry(user.clone()).or_default() += 1;
        csv.push_str(&user);
        csv.push('\n');
    }
    let spec = spec(dir.path(), "send-user-product-coupon", &csv, USER_TEMPLATE);
    let brand = client(&sandbox, sandbox.base_url(), true);
    let options = RunOptions {
        rate: Some(300.0),
        concurrency: Some(4),
        retry_initial: Duration::from_millis(20),
        ..RunOptions::default()
    };
    let summary = bounded(
        60,
        Campaign::open(&spec)
            .unwrap()
            .run(&brand, &options, &Control::new()),
    )
    .unwrap();
    assert_eq!(summary.end, RunEnd::Completed, "{summary:?}");
    assert_eq!((summary.counts.failed, summary.counts.open()), (6, 0));

    let mut seen: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for row in json_report(&spec.journal) {
        let user = row["input"]["openid"].as_str().unwrap().to_owned();
        let entry = seen.entry(user).or_default();
        match row["status"].as_str().unwrap() {
            "succeeded" => entry.0 += 1,
            "failed" => {
                assert_eq!(row["error_code"], "USER_RECEIVE_LIMIT", "{row}");
                entry.1 += 1;
            }
            other => panic!("{other}: {row}"),
        }
    }
    for (user, count) in expected {
        assert_eq!(seen[&user], (1, count - 1), "{user}");
    }
}

#[test]
fn path_parameters_that_cannot_become_a_url_are_refused_before_any_journal_exists() {
    let dir = tempfile::tempdir().unwrap();
    // Over the path cap, under the cell cap (a 100,000-byte cell is refused as
    // such: see input.rs).
    let long = "o".repeat(1_000);
    let csv = format!("openid\noFine\n..\n.\n{long}\n");
    let spec = spec(dir.path(), "send-user-product-coupon", &csv, USER_TEMPLATE);
    let Err(error) = Campaign::open(&spec) else {
        panic!("an input with dot segments was accepted");
    };
    let error = error.to_string();
    for needle in [
        "3 problem(s) in the input; nothing was sent",
        "row 2 (line 3): openid: \"..\" cannot be sent as a path segment",
        "row 3 (line 4): openid: \".\" cannot be sent as a path segment",
        "row 4 (line 5): openid: must be at most 128 characters long, got 1000",
    ] {
        assert!(error.contains(needle), "{needle:?} not in {error}");
    }
    for leftover in [
        "campaign.db",
        "campaign.db-wal",
        "campaign.db-shm",
        "campaign.db.lock",
    ] {
        assert!(
            !dir.path().join(leftover).exists(),
            "{leftover} left behind"
        );
    }
}
