//! What `status` and the run summary say while and after a campaign runs:
//! requests in flight apart from rows read ahead, the rate achieved apart
//! from the rate aimed at.

use crate::common;

use std::time::{Duration, Instant};

use common::{bounded, client, sandbox, spec, users, USER_TEMPLATE};
use wechatpay_campaign::{status, Campaign, Control, RunEnd, RunOptions};

#[test]
fn status_counts_requests_in_flight_not_rows_read_ahead() {
    // Each answer takes 150 ms; one request at a time.
    let sandbox = sandbox(Some("delay-ms=150"));
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(
        dir.path(),
        "send-user-product-coupon",
        &users("oAhead", 12),
        USER_TEMPLATE,
    );
    let journal = spec.journal.clone();
    let campaign = Campaign::open(&spec).unwrap();
    let client = client(&sandbox, sandbox.base_url(), true);
    let options = RunOptions {
        rate: Some(100.0),
        concurrency: Some(1),
        follow_up: false,
        ..RunOptions::default()
    };
    let watcher = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut most = 0;
        let mut seen_sent = false;
        while Instant::now() < deadline {
            if let Ok(s) = status(&journal) {
                most = most.max(s.counts.in_flight);
                seen_sent |= s.counts.sent() > 0;
                if s.counts.sent() == s.counts.total {
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        (most, seen_sent)
    });
    let summary = bounded(60, campaign.run(&client, &options, &Control::new())).unwrap();
    assert_eq!(summary.end, RunEnd::Completed);
    let (most, seen_sent) = watcher.join().unwrap();
    assert!(seen_sent, "the watcher saw no progress");
    assert!(
        most <= 1,
        "with --concurrency 1 at most one request is in flight, status said {most}"
    );
    // Aimed at 100/s, held to about 1/0.15 s by the answers' delay.
    assert_eq!(summary.rate, 100.0);
    let achieved = summary.achieved_rate.expect("a rate over 12 sends");
    assert!(achieved > 1.0 && achieved < 20.0, "achieved {achieved}/s");
}
