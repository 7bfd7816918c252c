//! The sandbox's real notifications to a real notify server: recorded, then confirmed
//! exactly once; a restart confirms nothing again (a replay at most); a coupon that can
//! no longer be confirmed ends `failed` with the code.

use crate::common::{self, NotifyServer, APPID, PRODUCT_COUPON_ID, STOCK_ID};

use wechatpay_models::{
    DeactivateUserProductCouponRequest, GetUserProductCouponRequest, UserProductCouponState,
};
use wechatpay_notify::{ConfirmStatus, Journal};

#[test]
fn a_send_notification_is_recorded_then_confirmed_exactly_once() {
    let keys = common::keys();
    let sandbox = common::sandbox(keys.path());
    let client = common::brand_client(&sandbox);
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("notify.db");
    let server = NotifyServer::start(&sandbox, &journal, true);
    common::set_notify_url(&client, &server.url);

    let code = common::send_coupon(&client, "o-confirm-1", "NOTIFY_CONFIRM_1");
    let events = common::wait_for_events(&journal, 1, |e| e.confirm.is_settled());
    let e = &events[0];
    assert_eq!(e.confirm, ConfirmStatus::Confirmed, "{e:?}");
    assert_eq!(e.event_type, "PRODUCT_COUPON.SEND");
    assert_eq!(e.coupon_code.as_deref(), Some(code.as_str()));
    assert_eq!(e.openid.as_deref(), Some("o-confirm-1"));
    assert_eq!(e.stock_id.as_deref(), Some(STOCK_ID));
    assert_eq!(e.brand_id, sandbox.keys().identity.brand_id);
    assert_eq!(e.attempts, 1);
    assert!(e.confirm_request_no.is_some());
    assert!(
        e.payload_json()["coupon_code"] == code.as_str(),
        "{}",
        e.payload
    );
    assert_eq!(common::confirms(&sandbox), (1, 0));

    let coupon = common::runtime().block_on(async {
        client
            .execute(&GetUserProductCouponRequest::new(
                "o-confirm-1",
                code.as_str(),
                PRODUCT_COUPON_ID,
                STOCK_ID,
                APPID,
            ))
            .await
            .unwrap()
    });
    assert!(
        matches!(
            coupon.coupon_state,
            UserProductCouponState::Effective | UserProductCouponState::Pending
        ),
        "{:?}",
        coupon.coupon_state
    );
    assert_eq!(coupon.confirm_request_no, e.confirm_request_no);
    assert_eq!(
        e.coupon_state.as_deref(),
        Some(coupon.coupon_state.to_string().as_str()),
        "the journal keeps the confirm's answer"
    );
    server.stop();
}

#[test]
fn pending_confirms_resume_after_a_restart_and_are_never_sent_twice() {
    let keys = common::keys();
    let sandbox = common::sandbox(keys.path());
    let client = common::brand_client(&sandbox);
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("notify.db");

    // First run without a confirmer (`--no-confirm`): journaled, left pending.
    let server = NotifyServer::start(&sandbox, &journal, false);
    common::set_notify_url(&client, &server.url);
    common::send_coupon(&client, "o-restart-1", "NOTIFY_RESTART_1");
    common::send_coupon(&client, "o-restart-2", "NOTIFY_RESTART_2");
    let events = common::wait_for_events(&journal, 2, |_| true);
    assert!(
        events.iter().all(|e| e.confirm == ConfirmStatus::Pending),
        "{events:?}"
    );
    assert!(events.iter().all(|e| e.confirm_request_no.is_some()));
    server.stop();
    assert_eq!(common::confirms(&sandbox), (0, 0));

    // A run with a confirmer picks them up.
    let server = NotifyServer::start(&sandbox, &journal, true);
    let confirmed = common::wait_for_events(&journal, 2, |e| e.confirm.is_settled());
    assert!(
        confirmed
            .iter()
            .all(|e| e.confirm == ConfirmStatus::Confirmed),
        "{confirmed:?}"
    );
    assert_eq!(
        confirmed
            .iter()
            .map(|e| &e.confirm_request_no)
            .collect::<Vec<_>>(),
        events
            .iter()
            .map(|e| &e.confirm_request_no)
            .collect::<Vec<_>>(),
        "the numbers derived at reception are the ones sent"
    );
    server.stop();
    assert_eq!(common::confirms(&sandbox), (2, 0));

    // Another restart: nothing to do, nothing sent.
    let server = NotifyServer::start(&sandbox, &journal, true);
    std::thread::sleep(std::time::Duration::from_millis(500));
    server.stop();
    assert_eq!(common::confirms(&sandbox), (2, 0));

    // A run killed after its confirm reached WeChat Pay but before the journal heard
    // of it: the row is pending again, and the resend is answered as a replay.
    {
        let conn = rusqlite::Connection::open(&journal).unwrap();
        conn.execute(
            "UPDATE events SET confirm = 'pending', coupon_state = NULL WHERE rowid = 1",
            [],
        )
        .unwrap();
    }
    let server = NotifyServer::start(&sandbox, &journal, true);
    let again = common::wait_for_events(&journal, 2, |e| e.confirm.is_settled());
    assert!(
        again.iter().all(|e| e.confirm == ConfirmStatus::Confirmed),
        "{again:?}"
    );
    server.stop();
    assert_eq!(
        common::confirms(&sandbox),
        (2, 1),
        "issued twice in all, one replay"
    );
}

#[test]
fn a_coupon_deactivated_before_its_confirm_ends_failed_with_the_code() {
    let keys = common::keys();
    let sandbox = common::sandbox(keys.path());
    let client = common::brand_client(&sandbox);
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("notify.db");

    let server = NotifyServer::start(&sandbox, &journal, false);
    common::set_notify_url(&client, &server.url);
    let code = common::send_coupon(&client, "o-deactivated", "NOTIFY_DEACTIVATE_1");
    common::wait_for_events(&journal, 1, |_| true);
    server.stop();
    common::runtime().block_on(async {
        client
            .execute(&DeactivateUserProductCouponRequest::new(
                "o-deactivated",
                code.as_str(),
                PRODUCT_COUPON_ID,
                STOCK_ID,
                APPID,
                "NOTIFY_DEACTIVATE_REQ_1",
                "test: deactivated before the confirm",
            ))
            .await
            .unwrap();
    });

    let server = NotifyServer::start(&sandbox, &journal, true);
    let events = common::wait_for_events(&journal, 1, |e| e.confirm.is_settled());
    server.stop();
    let e = &events[0];
    assert_eq!(e.confirm, ConfirmStatus::Failed, "{e:?}");
    assert_eq!(e.error_code.as_deref(), Some("INVALID_REQUEST"), "{e:?}");
    assert!(
        e.error_message
            .as_deref()
            .unwrap_or("")
            .contains("DEACTIVATED"),
        "{e:?}"
    );
    assert_eq!(e.attempts, 1);
    assert_eq!(common::confirms(&sandbox).0, 0, "nothing confirmed");
    let counts = Journal::open_read_only(&journal).unwrap().counts().unwrap();
    assert_eq!((counts.total, counts.failed), (1, 1));
}

#[test]
fn a_confirm_refused_for_credentials_pauses_every_confirm_and_keeps_it_pending() {
    use std::time::Duration;
    use wechatpay_notify::{ConfirmOptions, Confirmer, ConfirmerState};
    use wechatpay_transport::{Identity, RetryPolicy};

    let keys = common::keys();
    let sandbox = common::sandbox(keys.path());
    let client = common::brand_client(&sandbox);
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("notify.db");
    let server = NotifyServer::start(&sandbox, &journal, false);
    common::set_notify_url(&client, &server.url);
    common::send_coupon(&client, "o-paused", "NOTIFY_PAUSED_1");
    common::wait_for_events(&journal, 1, |_| true);
    server.stop();

    // A client whose API certificate serial WeChat Pay does not know: 401 SIGN_ERROR,
    // which no event can fix.
    let wrong = sandbox
        .client_builder(Identity::brand(sandbox.keys().identity.brand_id.as_str()))
        .serial_no("0000000000000000000000000000000000000000")
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let receiver = common::receiver(&sandbox, &journal);
    let options = ConfirmOptions {
        stop_pause: Duration::from_secs(60),
        ..ConfirmOptions::default()
    };
    let confirmer = Confirmer::new(&receiver, [wrong], options).unwrap();
    let mut state = confirmer.state();
    let paused = common::runtime().block_on(async move {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(confirmer.run(async {
            let _ = stopped.await;
        }));
        let paused = tokio::time::timeout(
            common::WAIT,
            state.wait_for(|s| matches!(s, ConfirmerState::Paused { .. })),
        )
        .await
        .expect("paused within the wait")
        .unwrap()
        .clone();
        // Paused: no further attempt for the pause's length.
        tokio::time::sleep(Duration::from_millis(500)).await;
        stop.send(()).unwrap();
        task.await.unwrap().unwrap();
        paused
    });
    let ConfirmerState::Paused { code, .. } = paused else {
        unreachable!()
    };
    assert_eq!(code, "SIGN_ERROR");
    let e = &common::events(&journal)[0];
    assert_eq!(e.confirm, ConfirmStatus::Pending, "{e:?}");
    assert_eq!(
        (e.attempts, e.error_code.as_deref()),
        (1, Some("SIGN_ERROR"))
    );
    assert_eq!(common::confirms(&sandbox), (0, 0));
}
