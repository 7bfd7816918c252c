//! The journal's behaviour, the same on both stores: each scenario runs on an
//! SQLite file and on a PostgreSQL database of a server the test starts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Map, Value};
use wechatpay_test_kit::pg::PgServer;

use super::*;

pub(super) fn binding() -> Binding {
    Binding {
        operation_id: "send-user-product-coupon".into(),
        request_number_field: "send_request_no".into(),
        numbers: NumberSource::Derived,
        input_path: "in.csv".into(),
        input_sha256: "aa".into(),
        template_source: "t.json".into(),
        template_sha256: "bb".into(),
        template: "{}".into(),
        columns: vec!["openid".into()],
        campaign_key: "cc".into(),
        created_at: 1,
    }
}

fn cells(openid: &str) -> Map<String, Value> {
    json!({ "openid": openid }).as_object().unwrap().clone()
}

/// A journal of `rows` rows of brands `brands` (in turn), numbers `N1…`.
fn filled(path: &Path, rows: u64, brands: &[&str]) -> Journal {
    let mut journal = Journal::open_for_send(path).unwrap();
    journal
        .create(&binding(), |sink| {
            for row in 1..=rows {
                let brand = brands[(row as usize - 1) % brands.len()];
                let number = format!("N{row}");
                sink.insert(
                    row,
                    row + 1,
                    &cells(&format!("o{row}")),
                    &number,
                    &number,
                    brand,
                )?
                .unwrap();
            }
            Ok::<_, CampaignError>(())
        })
        .unwrap()
        .unwrap()
        .unwrap();
    journal
}

/// Opens a journal just closed. A file's lock can outlive its handle for an
/// instant when another test thread forks (the PostgreSQL test runs commands)
/// between this handle's open and close: the child holds the lock until it execs.
fn reopen(path: &Path) -> Journal {
    for _ in 0..50 {
        match Journal::open_for_send(path) {
            Err(CampaignError::Busy(_)) => std::thread::sleep(Duration::from_millis(20)),
            other => return other.unwrap(),
        }
    }
    Journal::open_for_send(path).unwrap()
}

/// A behaviour every store has, checked on a new journal at the given location.
type Scenario = fn(&Path);

/// The scenarios every store passes, by name (a database or file each).
const SCENARIOS: [(&str, Scenario); 4] = [
    (
        "lifecycle",
        rows_go_from_pending_through_in_flight_to_done_and_survive_reopening,
    ),
    (
        "failed_fill",
        a_failed_fill_keeps_nothing_and_duplicate_numbers_are_found,
    ),
    (
        "follow_ups",
        a_follow_up_is_recorded_with_its_send_and_settles_its_row,
    ),
    ("report", every_row_is_read_back_in_order_with_its_outcome),
];

#[test]
fn the_scenarios_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    for (name, scenario) in SCENARIOS {
        scenario(&dir.path().join(format!("{name}.db")));
    }
}

#[test]
fn the_scenarios_on_postgres() {
    let server = PgServer::start().unwrap();
    for (name, scenario) in SCENARIOS {
        scenario(&PathBuf::from(server.create_database(name).unwrap()));
    }
    shared_journal_scenarios(&server);
}

fn rows_go_from_pending_through_in_flight_to_done_and_survive_reopening(path: &Path) {
    let mut journal = Journal::open_for_send(path).unwrap();
    journal.set_lease(Duration::from_secs(5));
    assert_eq!(journal.binding().unwrap(), None);
    let created = journal
        .create(&binding(), |sink| {
            for row in 1..=5u64 {
                sink.insert(
                    row,
                    row + 1,
                    &cells(&format!("o{row}")),
                    &format!("N{row}"),
                    &format!("N{row}"),
                    "",
                )?
                .unwrap();
            }
            Ok::<_, CampaignError>(())
        })
        .unwrap()
        .map(Result::unwrap);
    assert_eq!(created, Some(5));
    let claimed = journal.claim(&[(String::new(), 0)], 3).unwrap();
    assert_eq!(claimed.iter().map(|c| c.row).collect::<Vec<_>>(), [1, 2, 3]);
    // Read ahead is not in flight: only a request going out is.
    assert_eq!(journal.counts().unwrap().in_flight, 0);
    journal
        .apply(&[Update::Sent { row: 1 }, Update::Sent { row: 2 }], None)
        .unwrap();
    assert_eq!(journal.counts().unwrap().in_flight, 2);
    assert_eq!(claimed[1].request_no, "N2");
    assert_eq!(claimed[1].cells, cells("o2"));
    let run = journal.start_run(500.0).unwrap();
    let progress = RunProgress {
        first_send_at: Some(now_ms()),
        requests: 3,
        throttled: 1,
        completed: 2,
        ..RunProgress::default()
    };
    journal
        .apply(
            &[
                Update::Succeeded {
                    row: 1,
                    result: json!({"coupon_code": "C1"}),
                    note: None,
                    follow_ups: vec![],
                },
                Update::Failed {
                    row: 2,
                    code: "USER_ERROR".into(),
                    message: "m".into(),
                },
                Update::Retrying {
                    row: 3,
                    code: "NETWORK".into(),
                    message: "m".into(),
                },
            ],
            Some((run, &progress)),
        )
        .unwrap();
    let counts = journal.counts().unwrap();
    assert_eq!(
        counts,
        Counts {
            total: 5,
            pending: 2,
            in_flight: 1,
            succeeded: 1,
            failed: 1,
            ..Counts::default()
        }
    );
    // The next claim continues after row 3; a new run starts from the first open row.
    assert_eq!(journal.claim(&[(String::new(), 3)], 10).unwrap().len(), 2);

    // A killed run leaves rows in flight: a new run takes them first, same numbers
    // (on a shared journal once the dead worker's leases expired).
    let shared = journal.is_shared();
    drop(journal);
    if shared {
        std::thread::sleep(Duration::from_millis(5100));
    }
    let mut journal = reopen(path);
    assert_eq!(journal.binding().unwrap(), Some(binding()));
    let again = journal.claim(&[(String::new(), 0)], 10).unwrap();
    assert_eq!(
        again
            .iter()
            .map(|c| (c.row, c.request_no.as_str(), c.attempts))
            .collect::<Vec<_>>(),
        [(3, "N3", 1), (4, "N4", 0), (5, "N5", 0)]
    );
    journal.apply(&[Update::Released { row: 4 }], None).unwrap();
    let runs = journal.runs().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].requests, 3);
    let mut seen = Vec::new();
    journal
        .for_each_row(|r| {
            seen.push((r.row, r.state.report_status(), r.error_code));
            Ok(())
        })
        .unwrap();
    assert_eq!(
        seen,
        [
            (1, "succeeded", None),
            (2, "failed", Some("USER_ERROR".into())),
            (3, "pending", Some("NETWORK".into())),
            (4, "pending", None),
            (5, "pending", None),
        ]
    );
}

fn a_failed_fill_keeps_nothing_and_duplicate_numbers_are_found(path: &Path) {
    let mut journal = Journal::open_for_send(path).unwrap();
    let outcome = journal
        .create(&binding(), |sink| {
            sink.insert(1, 2, &cells("a"), "N1", "s|N1", "")?.unwrap();
            assert_eq!(sink.insert(2, 3, &cells("b"), "N1", "s|N1", "")?, Err(1));
            Err::<(), _>(CampaignError::Input("stop".into()))
        })
        .unwrap();
    assert!(matches!(outcome, Some(Err(_))), "{outcome:?}");
    assert_eq!(journal.binding().unwrap(), None, "rolled back");
}

fn a_follow_up_is_recorded_with_its_send_and_settles_its_row(path: &Path) {
    let mut journal = filled(path, 2, &["b1", "b2"]);
    let claimed = journal
        .claim(&[("b1".into(), 0), ("b2".into(), 0)], 10)
        .unwrap();
    assert_eq!(claimed.len(), 2);
    let follow_up = |row: u64, brand: &str| NewFollowUp {
        item: 0,
        operation_id: "confirm-send-user-product-coupon".into(),
        request_no: format!("C{row}"),
        body: cells("x"),
        brand: brand.into(),
    };
    journal
        .apply(
            &[
                Update::Sent { row: 1 },
                Update::Sent { row: 2 },
                Update::Succeeded {
                    row: 1,
                    result: json!({"coupon_code": "C1", "state": "PENDING"}),
                    note: None,
                    follow_ups: vec![follow_up(1, "b1")],
                },
                Update::Succeeded {
                    row: 2,
                    result: json!({"coupon_code": "C2"}),
                    note: None,
                    follow_ups: vec![follow_up(2, "b2")],
                },
            ],
            None,
        )
        .unwrap();
    let counts = journal.counts().unwrap();
    assert_eq!((counts.confirming, counts.follow_ups.open), (2, 2));
    let taken = journal.claim_follow_ups(&["b1".into()], 10).unwrap();
    assert_eq!(
        taken
            .iter()
            .map(|f| (f.row, f.request_no.as_str(), f.open_in_row))
            .collect::<Vec<_>>(),
        [(1, "C1", 1)]
    );
    // Taken follow-ups are not handed out twice.
    assert!(journal
        .claim_follow_ups(&["b1".into()], 10)
        .unwrap()
        .is_empty());
    journal
        .apply(
            &[Update::FollowUp {
                row: 1,
                item: 0,
                update: FollowUpUpdate::Done {
                    result: json!({"state": "EFFECTIVE"}),
                    note: None,
                },
                declared: wechatpay_endpoints::find("send-user-product-coupon")
                    .and_then(|info| info.follow_up.as_ref()),
            }],
            None,
        )
        .unwrap();
    let counts = journal.counts().unwrap();
    assert_eq!((counts.succeeded, counts.confirming), (1, 1));
    assert_eq!(counts.follow_ups.done, 1);
    let mut results = Vec::new();
    journal
        .for_each_row(|r| {
            results.push((r.row, r.state, r.result, r.follow_up_numbers, r.brand));
            Ok(())
        })
        .unwrap();
    assert_eq!(results[0].1, State::Succeeded);
    // The follow-up's declared field is copied into the row's result.
    assert_eq!(results[0].2.as_ref().unwrap()["coupon_code"], "C1");
    assert_eq!(results[0].3.as_deref(), Some("C1"));
    assert_eq!(results[1].4, "b2");
    assert_eq!(journal.brands().unwrap(), ["b1", "b2"]);
}

fn every_row_is_read_back_in_order_with_its_outcome(path: &Path) {
    // More rows than one page of a PostgreSQL read.
    let mut journal = filled(path, 12_000, &["b1", "b2", "b3"]);
    let mut seen = 0u64;
    journal
        .for_each_row(|r| {
            seen += 1;
            assert_eq!(r.row, seen);
            assert_eq!(r.request_no, format!("N{seen}"));
            Ok(())
        })
        .unwrap();
    assert_eq!(seen, 12_000);
    let brands = journal.brand_counts().unwrap();
    assert_eq!(
        brands
            .iter()
            .map(|b| (b.brand.as_str(), b.open))
            .collect::<Vec<_>>(),
        [("b1", 4000), ("b2", 4000), ("b3", 4000)]
    );
}

/// What only a shared journal does: workers that never take the same row, a dead
/// worker's rows taken with their numbers, heartbeats and the status of workers.
fn shared_journal_scenarios(server: &PgServer) {
    let url = PathBuf::from(server.create_database("shared").unwrap());
    let mut a = filled(&url, 100, &["b1", "b2"]);
    let mut b = Journal::open_for_send(&url).unwrap();
    // A second worker creating the same journal joins the first one's.
    assert!(b
        .create(&binding(), |_| Ok::<_, CampaignError>(()))
        .unwrap()
        .is_none());
    assert_eq!(b.binding().unwrap(), Some(binding()));
    a.set_lease(Duration::from_secs(5));
    b.set_lease(Duration::from_secs(5));
    let run_a = a.start_run(100.0).unwrap();
    let run_b = b.start_run(100.0).unwrap();
    let wants = [("b1".to_owned(), 0), ("b2".to_owned(), 0)];
    let taken_a = a.claim(&wants, 20).unwrap();
    let taken_b = b.claim(&wants, 20).unwrap();
    assert_eq!((taken_a.len(), taken_b.len()), (40, 40));
    let rows_a: std::collections::HashSet<u64> = taken_a.iter().map(|c| c.row).collect();
    assert!(
        taken_b.iter().all(|c| !rows_a.contains(&c.row)),
        "a row taken twice"
    );

    // Both are live; a 429 one reports reaches the other.
    let peers_a = a
        .heartbeat(&Beat {
            run_id: run_a,
            sending: true,
            rates: vec![("b1".into(), 50.0)],
            throttled: vec!["b1".into()],
            throttled_follow_ups: vec![],
        })
        .unwrap();
    assert_eq!(peers_a.sending, 2);
    assert!(peers_a.others_hold_work, "b holds 40 rows");
    let peers_b = b
        .heartbeat(&Beat {
            run_id: run_b,
            sending: true,
            ..Beat::default()
        })
        .unwrap();
    assert_eq!(peers_b.throttled, ["b1"]);
    assert_eq!(peers_b.sending, 2);
    assert!(peers_b.throttled_follow_ups.is_empty());
    let workers = a.workers().unwrap();
    assert_eq!(workers.iter().filter(|w| w.live).count(), 2);
    assert_eq!(workers.iter().map(|w| w.leased_rows).sum::<u64>(), 80);

    // b sends one row and goes silent (cut off, or dead): a takes b's rows once
    // their lease expired, with their numbers; the one b sent is marked as maybe sent.
    let sent_by_b = taken_b[0].row;
    b.apply(&[Update::Sent { row: sent_by_b }], None).unwrap();
    let none_yet = a.claim(&wants, 100).unwrap();
    assert_eq!(none_yet.len(), 20, "only the 20 rows nobody held");
    // b's lease (5 s) and its liveness (3 s without a heartbeat) run out.
    std::thread::sleep(Duration::from_millis(5100));
    let peers = a
        .heartbeat(&Beat {
            run_id: run_a,
            ..Beat::default()
        })
        .unwrap();
    assert_eq!(
        peers.sending, 1,
        "b, still sending at its last beat, is silent"
    );
    assert!(!peers.others_hold_work, "b's leases expired");
    let retaken = a.claim(&[("b1".into(), 0), ("b2".into(), 0)], 100).unwrap();
    assert_eq!(retaken.len(), 40);
    let resent = retaken.iter().find(|c| c.row == sent_by_b).unwrap();
    assert!(resent.maybe_sent);
    assert_eq!(resent.request_no, format!("N{sent_by_b}"));
    // b's answer comes back late: the row is a's now, and b's outcome is dropped,
    // never written over what a records.
    a.apply(
        &[Update::Failed {
            row: sent_by_b,
            code: "BY_A".into(),
            message: "a's outcome".into(),
        }],
        None,
    )
    .unwrap();
    b.apply(
        &[
            Update::Succeeded {
                row: sent_by_b,
                result: json!({"coupon_code": "LATE"}),
                note: None,
                follow_ups: vec![],
            },
            Update::Released {
                row: taken_b[1].row,
            },
        ],
        None,
    )
    .unwrap();
    let mut rows = std::collections::HashMap::new();
    a.for_each_row(|r| {
        rows.insert(r.row, (r.state, r.error_code));
        Ok(())
    })
    .unwrap();
    assert_eq!(rows[&sent_by_b], (State::Failed, Some("BY_A".into())));
    assert_eq!(
        a.workers()
            .unwrap()
            .iter()
            .map(|w| w.leased_rows)
            .sum::<u64>(),
        99
    );
    drop(b);

    // A reader sees the live worker; the end of a run gives its leases back.
    let mut reader = Journal::open_read_only(&url).unwrap();
    assert!(reader.running().unwrap());
    a.end_run(run_a, "completed").unwrap();
    assert!(!reader.running().unwrap());
    assert!(reader.workers().unwrap().iter().all(|w| w.leased_rows == 0));
    let mut c = Journal::open_for_send(&url).unwrap();
    assert_eq!(
        c.claim(&wants, 100).unwrap().len(),
        99,
        "all but the failed row"
    );

    // Work a worker gave up on for its run stays its own, but nobody waits for it.
    let url = PathBuf::from(server.create_database("parked").unwrap());
    let mut a = filled(&url, 2, &["b1"]);
    let mut b = Journal::open_for_send(&url).unwrap();
    let (run_a, run_b) = (a.start_run(1.0).unwrap(), b.start_run(1.0).unwrap());
    assert_eq!(a.claim(&[("b1".into(), 0)], 10).unwrap().len(), 2);
    let beat = |run_id| Beat {
        run_id,
        sending: true,
        ..Beat::default()
    };
    assert!(b.heartbeat(&beat(run_b)).unwrap().others_hold_work);
    let gave_up = |row| Update::Unresolved {
        row,
        code: "HTTP_500".into(),
        message: "m".into(),
    };
    a.apply(&[Update::Sent { row: 1 }, gave_up(1)], None)
        .unwrap();
    assert!(
        b.heartbeat(&beat(run_b)).unwrap().others_hold_work,
        "row 2 is a's"
    );
    a.apply(&[Update::Sent { row: 2 }, gave_up(2)], None)
        .unwrap();
    a.heartbeat(&beat(run_a)).unwrap();
    assert!(!b.heartbeat(&beat(run_b)).unwrap().others_hold_work);
    assert!(
        b.claim(&[("b1".into(), 0)], 10).unwrap().is_empty(),
        "still a's"
    );
    a.end_run(run_a, "completed").unwrap();
    assert_eq!(
        b.claim(&[("b1".into(), 0)], 10).unwrap().len(),
        2,
        "pending for the next run"
    );
}
