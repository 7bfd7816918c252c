//! A service provider's campaign: rows of several brands in one input (the
//! operation's brand field, `brand_id`), each brand paced on its own and its
//! rows confirmed through the declared follow-up; a brand that did not
//! authorise the provider fails alone with NO_AUTH, the others go on.

use crate::common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{bounded, brand_rows, partner_client, partner_stock, sandbox, spec, PARTNER_TEMPLATE};
use serde_json::Value;
use wechatpay_campaign::{
    report, status, Campaign, Control, GatePolicy, ReportFormat, RunEnd, RunOptions,
};

const SEND: &str = "partner-send-user-product-coupon";
const CONFIRM: &str = "partner-confirm-send-user-product-coupon";

fn json_report(path: &std::path::Path) -> Vec<Value> {
    let mut out = Vec::new();
    report(path, ReportFormat::Json, &mut out).unwrap();
    serde_json::from_slice(&out).unwrap()
}

fn options(rate: f64) -> RunOptions {
    RunOptions {
        rate: Some(rate),
        retry_initial: Duration::from_millis(20),
        gate: GatePolicy {
            probes: 2,
            wait: Duration::from_millis(20),
        },
        ..RunOptions::default()
    }
}

/// `(requests, issued, rejected)` of `operation` in `/sandbox/stats` (zeros when it saw none).
fn stats(sandbox: &wechatpay_sandbox::Sandbox, operation: &str) -> (u64, u64, u64) {
    let addr: std::net::SocketAddr = sandbox
        .base_url()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let body = bounded(10, async {
        reqwest::get(format!("http://{addr}/sandbox/stats"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    let stats: Value = serde_json::from_str(&body).unwrap();
    let op = &stats["operations"][operation];
    let get = |k: &str| op[k].as_u64().unwrap_or(0);
    (get("requests"), get("issued"), get("rejected"))
}

/// The authorised brands of the sandbox, each with a stock the provider created for it.
fn brands(sandbox: &wechatpay_sandbox::Sandbox, n: usize) -> Vec<(String, String, String)> {
    let client = partner_client(sandbox);
    let ids = sandbox.keys().identity.authorized_brand_ids.clone();
    assert!(ids.len() >= n, "{ids:?}");
    bounded(30, async {
        let mut out = Vec::new();
        for brand in &ids[..n] {
            let (coupon, stock) = partner_stock(&client, brand).await;
            out.push((brand.clone(), coupon, stock));
        }
        out
    })
}

#[test]
fn a_provider_campaign_sends_and_confirms_for_every_brand_and_counts_them_per_brand() {
    let sandbox = sandbox(None);
    let brands = brands(&sandbox, 3);
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path(), SEND, &brand_rows(&brands, 15), PARTNER_TEMPLATE);
    let provider = partner_client(&sandbox);
    let summary = bounded(
        60,
        Campaign::open(&spec)
            .unwrap()
            .run(&provider, &options(200.0), &Control::new()),
    )
    .unwrap();
    assert_eq!(summary.end, RunEnd::Completed);
    assert!(summary.all_succeeded(), "{summary:?}");
    // Each row: its send, then the confirm the partner send declares, for its brand.
    assert_eq!(summary.counts.follow_ups.done, 45);
    assert_eq!(summary.progress.requests, 90);
    assert_eq!(stats(&sandbox, SEND), (45, 45, 0));
    assert_eq!(stats(&sandbox, CONFIRM), (45, 45, 0));

    let rows = json_report(&spec.journal);
    assert_eq!(rows.len(), 45);
    let mut confirms = std::collections::HashSet::new();
    for (i, row) in rows.iter().enumerate() {
        let (brand, _, _) = &brands[i % 3];
        assert_eq!(row["brand_id"], brand.as_str(), "{row}");
        assert_eq!(row["status"], "succeeded", "{row}");
        assert_eq!(row["result"]["brand_id"], brand.as_str(), "{row}");
        assert_ne!(row["result"]["coupon_state"], "CONFIRMING", "{row}");
        let confirm = row["confirm_request_no"].as_str().unwrap();
        assert_eq!(row["result"]["confirm_request_no"], confirm, "{row}");
        assert!(confirms.insert(confirm.to_owned()), "one number per coupon");
    }

    let status = status(&spec.journal).unwrap();
    let mut ids: Vec<&str> = brands.iter().map(|(b, _, _)| b.as_str()).collect();
    ids.sort_unstable();
    let listed: Vec<&str> = status.brands.iter().map(|b| b.brand.as_str()).collect();
    assert_eq!(listed, ids, "every brand, in order");
    for b in &status.brands {
        assert_eq!((b.total, b.succeeded, b.failed, b.open), (15, 15, 0, 0));
    }
    let text = status.to_string();
    assert!(text.contains("brands:     3\n"), "{text}");
    assert!(
        text.contains(&format!(
            "  {}: 15 rows, 15 succeeded, 0 failed, 0 pending\n",
            brands[0].0
        )),
        "{text}"
    );

    // The CSV report: a brand_id column from the input's own.
    let mut out = Vec::new();
    report(&spec.journal, ReportFormat::Csv, &mut out).unwrap();
    let csv = String::from_utf8(out).unwrap();
    assert!(
        csv.starts_with("row,brand_id,openid,product_coupon_id,stock_id,request_no,status,"),
        "{csv}"
    );
}

#[test]
fn an_unauthorised_brand_fails_alone_with_no_auth_and_the_others_go_on() {
    let sandbox = sandbox(None);
    let mut brands = brands(&sandbox, 2);
    let stranger = sandbox.keys().identity.unauthorized_brand_ids[0].clone();
    // The provider could create nothing for it: any ids do, it is refused first.
    let (_, coupon, stock) = brands[0].clone();
    brands.push((stranger.clone(), coupon, stock));
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path(), SEND, &brand_rows(&brands, 20), PARTNER_TEMPLATE);
    let provider = partner_client(&sandbox);
    let summary = bounded(
        60,
        Campaign::open(&spec)
            .unwrap()
            .run(&provider, &options(50.0), &Control::new()),
    )
    .unwrap();
    assert_eq!(summary.end, RunEnd::Completed, "{summary:?}");
    assert_eq!(
        (
            summary.counts.succeeded,
            summary.counts.failed,
            summary.counts.open()
        ),
        (40, 20, 0),
        "{summary:?}"
    );
    let (requests, issued, rejected) = stats(&sandbox, SEND);
    assert_eq!(issued, 40, "none for the unauthorised brand");
    let refused = requests - issued;
    assert_eq!(rejected, refused);
    // The first refusal (and those already in flight), then two probes of the same
    // row; the rest of the brand's rows are never sent.
    assert!(
        (3..12).contains(&refused),
        "{refused} requests for {stranger}"
    );

    let mut unsent = 0;
    for row in json_report(&spec.journal) {
        if row["brand_id"] == stranger.as_str() {
            assert_eq!(row["status"], "failed", "{row}");
            assert_eq!(row["error_code"], "NO_AUTH", "{row}");
            let message = row["error_message"].as_str().unwrap();
            if message.starts_with("not sent: brand ") {
                unsent += 1;
                assert_eq!(row["attempts"], 0, "{row}");
            }
        } else {
            assert_eq!(row["status"], "succeeded", "{row}");
        }
    }
    assert_eq!(unsent, 20 - refused + 2, "rows never sent fail unsent");
    let status = status(&spec.journal).unwrap();
    let counts: BTreeMap<_, _> = status
        .brands
        .iter()
        .map(|b| (b.brand.clone(), (b.succeeded, b.failed, b.failures.clone())))
        .collect();
    assert_eq!(counts[&stranger], (0, 20, vec![("NO_AUTH".to_owned(), 20)]));
    assert_eq!(counts[&brands[0].0], (20, 0, vec![]));

    // A resume sends nothing: every row is settled.
    let again = bounded(
        60,
        Campaign::open(&spec)
            .unwrap()
            .run(&provider, &options(50.0), &Control::new()),
    )
    .unwrap();
    assert_eq!(again.progress.requests, 0);
}

#[test]
fn when_every_brand_is_refused_the_campaign_stops_and_fails_nothing() {
    // No brand answers: the refusal may be the provider's own (its permission),
    // so nothing is marked failed and a resume can still send every row.
    let sandbox = sandbox(None);
    let stranger = sandbox.keys().identity.unauthorized_brand_ids[0].clone();
    let rows = vec![(
        stranger,
        "1000000013".to_owned(),
        "1000000013001".to_owned(),
    )];
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path(), SEND, &brand_rows(&rows, 10), PARTNER_TEMPLATE);
    let summary = bounded(
        60,
        Campaign::open(&spec).unwrap().run(
            &partner_client(&sandbox),
            &options(50.0),
            &Control::new(),
        ),
    )
    .unwrap();
    match &summary.end {
        RunEnd::Stopped { code, .. } => assert_eq!(code, "NO_AUTH"),
        other => panic!("{other:?}"),
    }
    assert_eq!((summary.counts.failed, summary.counts.open()), (0, 10));
}

#[test]
fn a_journal_from_before_brands_is_read_as_it_is_and_migrated_when_sent_from() {
    let sandbox = sandbox(None);
    let brands = brands(&sandbox, 2);
    let dir = tempfile::tempdir().unwrap();
    // The brand of half the rows comes from the template.
    let (template_brand, coupon, stock) = &brands[1];
    let mut csv = String::from("brand_id,openid,product_coupon_id,stock_id\n");
    for i in 0..6 {
        let brand = if i % 2 == 0 { brands[0].0.as_str() } else { "" };
        let (coupon, stock) = if i % 2 == 0 {
            (&brands[0].1, &brands[0].2)
        } else {
            (coupon, stock)
        };
        csv.push_str(&format!("{brand},oOld{i},{coupon},{stock}\n"));
    }
    let template = format!(r#"{{"appid":"wx233544546545989","brand_id":"{template_brand}"}}"#);
    let spec = spec(dir.path(), SEND, &csv, &template);
    drop(Campaign::open(&spec).unwrap());
    // What the previous version wrote: no brand column, no brands table, format 2.
    rusqlite::Connection::open(&spec.journal)
        .unwrap()
        .execute_batch(
            "DROP INDEX rows_open_brand; DROP INDEX follow_ups_pending_brand; DROP TABLE brands;
             ALTER TABLE rows DROP COLUMN brand; ALTER TABLE follow_ups DROP COLUMN brand;
             CREATE INDEX rows_open ON rows (row) WHERE state IN ('pending', 'in_flight');
             CREATE INDEX follow_ups_pending ON follow_ups (row, item) WHERE state = 'pending';
             UPDATE campaign SET format = 2; PRAGMA user_version = 2;",
        )
        .unwrap();
    let before = status(&spec.journal).unwrap();
    let per_brand: Vec<(String, u64)> = before
        .brands
        .iter()
        .map(|b| (b.brand.clone(), b.total))
        .collect();
    let mut expected = vec![(brands[0].0.clone(), 3), (template_brand.clone(), 3)];
    expected.sort();
    assert_eq!(per_brand, expected, "read as it is");

    let summary = bounded(
        60,
        Campaign::open(&spec).unwrap().run(
            &partner_client(&sandbox),
            &options(200.0),
            &Control::new(),
        ),
    )
    .unwrap();
    assert!(summary.all_succeeded(), "{summary:?}");
    let format: i64 = rusqlite::Connection::open(&spec.journal)
        .unwrap()
        .query_row("SELECT format FROM campaign", [], |r| r.get(0))
        .unwrap();
    assert_eq!(format, 3, "migrated");
    for (i, row) in json_report(&spec.journal).iter().enumerate() {
        let brand = if i % 2 == 0 {
            &brands[0].0
        } else {
            template_brand
        };
        assert_eq!(row["brand_id"], brand.as_str(), "{row}");
        assert_eq!(row["result"]["brand_id"], brand.as_str(), "{row}");
    }
}
