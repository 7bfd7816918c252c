//! Deliveries forged with the sandbox's platform key, posted to a real notify server:
//! what does not verify is answered 4xx and leaves the journal empty; a redelivery or
//! a replayed event id is answered 2xx and recorded once; a journal that cannot be
//! written is answered 5xx.

use crate::common::{self, NotifyServer};

use wechatpay_notify::ConfirmStatus;

#[test]
fn deliveries_that_do_not_verify_are_refused_and_never_recorded() {
    let keys = common::keys();
    let sandbox = common::sandbox(keys.path());
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("notify.db");
    let server = NotifyServer::start(&sandbox, &journal, true);
    let serial = sandbox.keys().identity.public_key_id.clone();
    let body = common::envelope(
        &sandbox,
        "EV-REFUSED-1",
        "PRODUCT_COUPON.SEND",
        &common::send_payload("SBXREFUSED1", "o-refused"),
    );

    // A bad signature: signed over other bytes.
    let mut other = body.clone();
    other.push(b' ');
    let headers = common::signed_headers(&sandbox, &other, common::now(), &serial);
    let (status, answer) = common::post(&server.url, "POST", &headers, body.clone());
    assert_eq!(status, 401, "{answer}");
    assert!(answer.contains("\"code\":\"FAIL\""), "{answer}");

    // An old timestamp: 301 s ago.
    let headers = common::signed_headers(&sandbox, &body, common::now() - 301, &serial);
    let (status, answer) = common::post(&server.url, "POST", &headers, body.clone());
    assert_eq!(status, 401, "{answer}");
    assert!(answer.contains("timestamp"), "{answer}");

    // An unknown Wechatpay-Serial.
    let headers = common::signed_headers(&sandbox, &body, common::now(), "PUB_KEY_ID_UNKNOWN");
    let (status, answer) = common::post(&server.url, "POST", &headers, body.clone());
    assert_eq!(status, 401, "{answer}");
    assert!(answer.contains("unknown serial"), "{answer}");

    // No signature headers at all.
    let (status, _) = common::post(&server.url, "POST", &[], body.clone());
    assert_eq!(status, 401);

    // Correctly signed, but not JSON.
    let text = b"this is not a notification".to_vec();
    let (status, answer) = common::post(
        &server.url,
        "POST",
        &common::signed_now(&sandbox, &text),
        text,
    );
    assert_eq!(status, 400, "{answer}");

    // JSON, signed, but the resource does not decrypt (another APIv3 key).
    let mut envelope: serde_json::Value = serde_json::from_slice(&body).unwrap();
    envelope["resource"]["associated_data"] = "tampered".into();
    let tampered = envelope.to_string().into_bytes();
    let (status, answer) = common::post(
        &server.url,
        "POST",
        &common::signed_now(&sandbox, &tampered),
        tampered,
    );
    assert_eq!(status, 400, "{answer}");

    // Too large, not a POST, another path.
    let huge = vec![b'x'; wechatpay_notify::DEFAULT_BODY_LIMIT + 1];
    let (status, _) = common::post(
        &server.url,
        "POST",
        &common::signed_now(&sandbox, &huge),
        huge,
    );
    assert_eq!(status, 413);
    let (status, _) = common::post(&server.url, "GET", &[], Vec::new());
    assert_eq!(status, 405);
    let elsewhere = server.url.replace("/notify", "/other");
    let (status, _) = common::post(
        &elsewhere,
        "POST",
        &common::signed_now(&sandbox, &body),
        body.clone(),
    );
    assert_eq!(status, 404);

    assert!(common::events(&journal).is_empty(), "nothing recorded");
    assert_eq!(common::confirms(&sandbox), (0, 0), "nothing acted on");

    // The same body, correctly signed, is accepted.
    let (status, _) = common::post(
        &server.url,
        "POST",
        &common::signed_now(&sandbox, &body),
        body,
    );
    assert_eq!(status, 204);
    assert_eq!(common::events(&journal).len(), 1);
    server.stop();
}

#[test]
fn a_redelivery_or_a_replayed_event_id_is_acknowledged_and_recorded_once() {
    let keys = common::keys();
    let sandbox = common::sandbox(keys.path());
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("notify.db");
    // No confirmer: the forged coupon codes do not exist in the sandbox.
    let server = NotifyServer::start(&sandbox, &journal, false);

    let first = common::envelope(
        &sandbox,
        "EV-DUP-1",
        "PRODUCT_COUPON.SEND",
        &common::send_payload("SBXDUP1", "o-dup"),
    );
    for _ in 0..2 {
        // WeChat Pay's redelivery: the same body, signed afresh.
        let (status, _) = common::post(
            &server.url,
            "POST",
            &common::signed_now(&sandbox, &first),
            first.clone(),
        );
        assert_eq!(status, 204);
    }
    // The same event id with another (verified) body: still the first record.
    let replayed = common::envelope(
        &sandbox,
        "EV-DUP-1",
        "PRODUCT_COUPON.SEND",
        &common::send_payload("SBXOTHER", "o-other"),
    );
    let (status, _) = common::post(
        &server.url,
        "POST",
        &common::signed_now(&sandbox, &replayed),
        replayed,
    );
    assert_eq!(status, 204);
    let events = common::events(&journal);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].coupon_code.as_deref(), Some("SBXDUP1"));
    assert_eq!(events[0].confirm, ConfirmStatus::Pending);

    // Events with no follow-up, and a type the schema does not know (kept raw).
    for (id, event_type) in [
        ("EV-USE-1", "PRODUCT_COUPON.USE"),
        ("EV-NEW-1", "PRODUCT_COUPON.SOMETHING_NEW"),
    ] {
        let body = common::envelope(
            &sandbox,
            id,
            event_type,
            &common::send_payload("SBXUSE1", "o-use"),
        );
        let (status, _) = common::post(
            &server.url,
            "POST",
            &common::signed_now(&sandbox, &body),
            body,
        );
        assert_eq!(status, 204);
    }
    // A SEND whose payload lacks the coupon code can never be confirmed.
    let body = common::envelope(
        &sandbox,
        "EV-BROKEN-1",
        "PRODUCT_COUPON.SEND",
        &serde_json::json!({"openid": "o-broken"}),
    );
    let (status, _) = common::post(
        &server.url,
        "POST",
        &common::signed_now(&sandbox, &body),
        body,
    );
    assert_eq!(status, 204);
    let events = common::events(&journal);
    let confirm: Vec<_> = events
        .iter()
        .map(|e| (e.event_id.as_str(), e.confirm))
        .collect();
    assert_eq!(
        confirm,
        [
            ("EV-DUP-1", ConfirmStatus::Pending),
            ("EV-USE-1", ConfirmStatus::NotNeeded),
            ("EV-NEW-1", ConfirmStatus::NotNeeded),
            ("EV-BROKEN-1", ConfirmStatus::Failed),
        ]
    );
    assert_eq!(
        events[3].error_code.as_deref(),
        Some(wechatpay_notify::UNCONFIRMABLE)
    );
    assert_eq!(
        events[2].payload_json()["coupon_code"],
        "SBXUSE1",
        "kept raw"
    );
    server.stop();
}

#[test]
fn a_journal_write_failure_is_answered_5xx_and_the_delivery_comes_again() {
    let keys = common::keys();
    let sandbox = common::sandbox(keys.path());
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("notify.db");
    let server = NotifyServer::start(&sandbox, &journal, false);
    // A disk that refuses writes, simulated by a trigger on the journal's table.
    let conn = rusqlite::Connection::open(&journal).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER refuse BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END;",
    )
    .unwrap();
    let body = common::envelope(
        &sandbox,
        "EV-5XX-1",
        "PRODUCT_COUPON.SEND",
        &common::send_payload("SBX5XX1", "o-5xx"),
    );
    let (status, answer) = common::post(
        &server.url,
        "POST",
        &common::signed_now(&sandbox, &body),
        body.clone(),
    );
    assert_eq!(status, 500, "{answer}");
    assert!(answer.contains("deliver it again"), "{answer}");
    conn.execute_batch("DROP TRIGGER refuse;").unwrap();
    let (status, _) = common::post(
        &server.url,
        "POST",
        &common::signed_now(&sandbox, &body),
        body,
    );
    assert_eq!(status, 204);
    assert_eq!(common::events(&journal).len(), 1);
    server.stop();
}
