//! The receiver mounted in someone else's web service: as a tower `Service` called
//! directly, and (feature `axum`) in an axum router the sandbox delivers to.

use crate::common;

use bytes::Bytes;
use http_body_util::Full;
use tower::Service as _;
use wechatpay_notify::{ConfirmStatus, Outcome};

#[test]
fn the_tower_service_answers_and_reports_the_outcome() {
    let keys = common::keys();
    let sandbox = common::sandbox(keys.path());
    let dir = tempfile::tempdir().unwrap();
    let receiver = common::receiver(&sandbox, &dir.path().join("notify.db"));
    let body = common::envelope(
        &sandbox,
        "EV-SERVICE-1",
        "PRODUCT_COUPON.RETURN",
        &common::send_payload("SBXSERVICE1", "o-service"),
    );
    let request = |headers: Vec<(String, String)>| {
        let mut builder = http::Request::post("/anything");
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        builder.body(Full::new(Bytes::from(body.clone()))).unwrap()
    };
    common::runtime().block_on(async {
        let mut service = receiver.service();
        let answer = service
            .call(request(common::signed_now(&sandbox, &body)))
            .await
            .unwrap();
        assert_eq!(answer.status(), 204);
        assert_eq!(
            answer.extensions().get::<Outcome>(),
            Some(&Outcome::Recorded {
                event_id: "EV-SERVICE-1".into(),
                event_type: "PRODUCT_COUPON.RETURN".into(),
                confirm: ConfirmStatus::NotNeeded,
            })
        );
        let again = service
            .call(request(common::signed_now(&sandbox, &body)))
            .await
            .unwrap();
        assert_eq!(
            again.extensions().get::<Outcome>(),
            Some(&Outcome::Duplicate {
                event_id: "EV-SERVICE-1".into()
            })
        );
        let refused = service.call(request(Vec::new())).await.unwrap();
        assert_eq!(refused.status(), 401);
        assert!(matches!(
            refused.extensions().get::<Outcome>(),
            Some(Outcome::Refused { .. })
        ));
        let counts = receiver.with_journal(|j| j.counts()).await.unwrap();
        assert_eq!((counts.total, counts.not_needed), (1, 1));
    });
}

#[cfg(feature = "axum")]
#[test]
fn an_axum_router_receives_and_the_confirmer_confirms() {
    use axum::routing::post;
    use wechatpay_notify::{ConfirmOptions, Confirmer};

    let keys = common::keys();
    let sandbox = common::sandbox(keys.path());
    let client = common::brand_client(&sandbox);
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("notify.db");
    let receiver = common::receiver(&sandbox, &journal);
    let confirmer = Confirmer::new(
        &receiver,
        [common::brand_client(&sandbox)],
        ConfirmOptions::default(),
    )
    .unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (url_tx, url_rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        common::runtime().block_on(async move {
            let app = axum::Router::new()
                .route(
                    "/brand/wechatpay/notify",
                    post(wechatpay_notify::axum::handle),
                )
                .with_state(receiver);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            url_tx
                .send(format!("http://{addr}/brand/wechatpay/notify"))
                .unwrap();
            let until = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
                let _ = rx.wait_for(|s| *s).await;
            };
            let confirming = tokio::spawn(confirmer.run(until(stopped.clone())));
            axum::serve(listener, app)
                .with_graceful_shutdown(until(stopped))
                .await
                .unwrap();
            confirming.await.unwrap().unwrap();
        });
    });
    let url = url_rx.recv_timeout(common::WAIT).unwrap();
    common::set_notify_url(&client, &url);
    let code = common::send_coupon(&client, "o-axum", "NOTIFY_AXUM_1");
    let events = common::wait_for_events(&journal, 1, |e| e.confirm.is_settled());
    stop.send(true).unwrap();
    thread.join().unwrap();
    assert_eq!(
        events[0].confirm,
        ConfirmStatus::Confirmed,
        "{:?}",
        events[0]
    );
    assert_eq!(events[0].coupon_code.as_deref(), Some(code.as_str()));
    assert_eq!(common::confirms(&sandbox), (1, 0));
}
