use super::*;

pub(crate) fn event(id: &str, confirm: ConfirmStatus) -> EventRecord {
    EventRecord {
        event_id: id.into(),
        event_type: "PRODUCT_COUPON.SEND".into(),
        create_time: "2025-08-02T10:00:00+08:00".into(),
        received_at: 1_754_100_000_000,
        brand_id: "B1".into(),
        coupon_code: Some(format!("C-{id}")),
        openid: Some("o1".into()),
        stock_id: Some("S1".into()),
        product_coupon_id: Some("P1".into()),
        payload: r#"{"coupon_code":"C"}"#.into(),
        confirm,
        confirm_request_no: None,
        attempts: 0,
        error_code: None,
        error_message: None,
        coupon_state: None,
        note: None,
    }
}

#[test]
fn a_new_journal_is_marked_and_reopens_with_its_events() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify.db");
    {
        let mut j = Journal::open(&path).unwrap();
        assert!(j.insert(&event("E1", ConfirmStatus::Pending)).unwrap());
        assert!(
            !j.insert(&event("E1", ConfirmStatus::NotNeeded)).unwrap(),
            "same id: not twice"
        );
        // Another receiver on the same journal is refused while this one holds it.
        let busy = Journal::open(&path).unwrap_err();
        assert!(matches!(busy, JournalError::Busy { .. }), "{busy}");
    }
    let j = Journal::open(&path).unwrap();
    let events = j.events().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0], event("E1", ConfirmStatus::Pending));
    let id: i32 = j
        .conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .unwrap();
    assert_eq!(id, APPLICATION_ID);
    let mode: String = j
        .conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(
        Journal::open_read_only(&path)
            .unwrap()
            .counts()
            .unwrap()
            .pending,
        1
    );
}

#[test]
fn another_kind_of_file_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("campaign.db");
    {
        let conn = Connection::open(&other).unwrap();
        conn.execute_batch("CREATE TABLE rows (row INTEGER PRIMARY KEY);")
            .unwrap();
    }
    for open in [Journal::open, Journal::open_read_only] {
        let err = open(&other).unwrap_err();
        assert!(matches!(err, JournalError::NotAJournal { .. }), "{err}");
        assert!(err.to_string().contains("campaign.db"), "{err}");
        assert!(
            err.to_string().contains("another kind of SQLite file"),
            "{err}"
        );
    }
    let conn = Connection::open(&other).unwrap();
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'events'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 0, "nothing written to it");

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a database at all, but long enough to have a header ....................................................").unwrap();
    let err = Journal::open(&text).unwrap_err();
    assert!(err.to_string().contains("not an SQLite database"), "{err}");

    let missing = dir.path().join("nope.db");
    assert!(matches!(
        Journal::open_read_only(&missing),
        Err(JournalError::Missing { .. })
    ));
}

#[test]
fn a_journal_that_cannot_be_created_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    // A path under a regular file: no directory to create it in, even for root.
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "x").unwrap();
    for path in [file.join("notify.db"), dir.path().join("absent/notify.db")] {
        let err = Journal::open(&path).unwrap_err();
        assert!(matches!(err, JournalError::Create { .. }), "{err}");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
    }
}

#[test]
fn due_settle_and_announcements() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = Journal::open(&dir.path().join("n.db")).unwrap();
    j.insert(&event("E1", ConfirmStatus::Pending)).unwrap();
    j.insert(&event("E2", ConfirmStatus::NotNeeded)).unwrap();
    j.insert(&event("E3", ConfirmStatus::Pending)).unwrap();
    let ids = |v: Vec<EventRecord>| v.into_iter().map(|r| r.event_id).collect::<Vec<_>>();
    assert_eq!(ids(j.due(0, 10).unwrap()), ["E1", "E3"]);
    let later = Settle {
        confirm: ConfirmStatus::Pending,
        confirm_request_no: Some("N1".into()),
        attempted: true,
        next_attempt_at: Some(5_000),
        error_code: Some("HTTP_500".into()),
        error_message: Some("m".into()),
        coupon_state: None,
        note: None,
    };
    j.settle("E1", &later).unwrap();
    assert_eq!(ids(j.due(4_999, 10).unwrap()), ["E3"]);
    assert_eq!(ids(j.due(5_000, 10).unwrap()), ["E3", "E1"]);
    assert_eq!(j.next_due_after(4_000).unwrap(), Some(5_000));
    assert_eq!(j.next_due_after(5_000).unwrap(), None);

    assert_eq!(ids(j.unannounced(false).unwrap()), ["E2"]);
    assert_eq!(ids(j.unannounced(true).unwrap()), ["E1", "E2", "E3"]);
    j.mark_announced("E2", ConfirmStatus::NotNeeded).unwrap();
    j.mark_announced("E3", ConfirmStatus::Pending).unwrap();
    assert_eq!(ids(j.unannounced(true).unwrap()), ["E1"]);
    let done = Settle {
        confirm: ConfirmStatus::Confirmed,
        next_attempt_at: None,
        error_code: None,
        error_message: None,
        coupon_state: Some("PENDING".into()),
        ..later
    };
    j.settle("E3", &done).unwrap();
    // Announced as pending, now confirmed: announced once more.
    assert_eq!(ids(j.unannounced(false).unwrap()), ["E3"]);
    let e3 = j.get("E3").unwrap().unwrap();
    assert_eq!(
        (
            e3.attempts,
            e3.coupon_state.as_deref(),
            e3.confirm_request_no.as_deref()
        ),
        (1, Some("PENDING"), Some("N1"))
    );
    let c = j.counts().unwrap();
    assert_eq!(
        (c.total, c.pending, c.confirmed, c.not_needed),
        (3, 1, 1, 1)
    );
}
