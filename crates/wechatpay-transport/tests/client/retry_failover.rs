//! Retries resend the same bytes with a fresh signature; the backup host takes
//! over when the main one is down at the network level.

use std::time::{Duration, Instant};

use crate::support::*;
use wechatpay_transport::ErrorKind;
use wechatpay_transport::{AuthScheme, NetworkErrorKind, RetryPolicy};

const OK_BODY: &str = r#"{"coupon_code":"C-1"}"#;

fn assert_same_body_fresh_signature(seen: &[Recorded]) {
    assert!(seen.len() >= 2);
    for later in &seen[1..] {
        assert_eq!(
            later.body, seen[0].body,
            "a retry must resend the same bytes"
        );
        assert_eq!(later.target, seen[0].target);
        assert_ne!(
            later.auth().get("nonce_str"),
            seen[0].auth().get("nonce_str")
        );
        assert_ne!(
            later.auth().get("signature"),
            seen[0].auth().get("signature")
        );
    }
}

#[tokio::test]
async fn server_error_then_success_is_retried_with_identical_body() {
    let server = TestServer::start(checking(AuthScheme::Merchant, MCHID, |i| match i {
        0 => Reply::new(500, r#"{"code":"SYSTEM_ERROR","message":"系统繁忙"}"#),
        _ => ok_reply(OK_BODY),
    }))
    .await;
    let client = merchant_builder(&server.url()).build().unwrap();
    let reply = client
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
        .unwrap();
    assert_eq!(reply.coupon_code, "C-1");
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert_same_body_fresh_signature(&seen);
    assert!(String::from_utf8_lossy(&seen[1].body).contains("REQ-20250101-0001"));
}

#[tokio::test]
async fn rate_limited_then_success_is_retried_with_identical_body() {
    let server = TestServer::start(checking(AuthScheme::Brand, BRAND_ID, |i| match i {
        0 => signed_reply(
            429,
            r#"{"code":"FREQUENCY_LIMITED","message":"频率超限"}"#,
            "wechatpay_key.pem",
            PUB_KEY_ID,
            now(),
        ),
        _ => ok_reply(OK_BODY),
    }))
    .await;
    let client = brand_builder(&server.url()).build().unwrap();
    let raw = client
        .execute_raw(
            <DemoBrandSend as wechatpay_transport::Endpoint>::INFO,
            "/brand/marketing/product-coupon/users/o1/coupons",
            br#"{"send_request_no":"S-1"}"#.to_vec(),
            Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(raw.attempts, 2);
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert_same_body_fresh_signature(&seen);
    assert_eq!(seen[1].body, br#"{"send_request_no":"S-1"}"#);
}

#[tokio::test]
async fn retryable_codes_are_retried_and_others_are_not() {
    let server = TestServer::start(|_, i| match i {
        0 => Reply::new(400, r#"{"code":"SYSTEM_ERROR","message":"retry me"}"#),
        1 => ok_reply(OK_BODY),
        _ => Reply::new(400, r#"{"code":"PARAM_ERROR","message":"no"}"#),
    })
    .await;
    let client = merchant_builder(&server.url()).build().unwrap();
    client
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
        .unwrap();
    assert_eq!(server.count(), 2);
    let err = client
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
        .unwrap_err();
    let ErrorKind::Api(api) = err.into_kind() else {
        panic!()
    };
    assert_eq!(api.code, DemoCode::ParamError);
    assert_eq!(api.attempts, 1);
    assert_eq!(server.count(), 3);
}

#[tokio::test]
async fn retries_stop_at_the_bound_and_can_be_turned_off() {
    let server =
        TestServer::start(|_, _| Reply::new(503, r#"{"code":"SYSTEM_ERROR","message":"down"}"#))
            .await;
    let client = merchant_builder(&server.url())
        .retry(fast_retries(3))
        .build()
        .unwrap();
    let err = client
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
        .unwrap_err();
    let ErrorKind::Api(api) = err.kind() else {
        panic!("{err:?}")
    };
    assert_eq!((api.status, api.attempts), (503, 4));
    assert_eq!(server.count(), 4);
    assert_same_body_fresh_signature(&server.requests());

    let off = merchant_builder(&server.url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    off.execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
        .unwrap_err();
    assert_eq!(server.count(), 5);
}

#[tokio::test]
async fn a_closed_main_port_fails_over_to_the_backup_and_returns_after_cooldown() {
    let main_port = closed_port().await;
    let backup =
        TestServer::start(checking(AuthScheme::Merchant, MCHID, |_| ok_reply(OK_BODY))).await;
    let client = merchant_builder(&format!("http://127.0.0.1:{main_port}"))
        .backup_url(Some(backup.url()))
        .failover_cooldown(Duration::from_millis(800))
        .build()
        .unwrap();
    let started = Instant::now();
    client
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
        .unwrap();
    assert_eq!(backup.count(), 1);

    // The main host comes back; during the cool-down traffic stays on the backup.
    let main = TestServer::start_on(main_port, |_, _| ok_reply(OK_BODY)).await;
    client
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
        .unwrap();
    if started.elapsed() < Duration::from_millis(800) {
        assert_eq!((main.count(), backup.count()), (0, 2));
    }
    tokio::time::sleep(Duration::from_millis(850)).await;
    let before = backup.count();
    client
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
        .unwrap();
    assert_eq!(main.count(), 1, "back on the main host after the cool-down");
    assert_eq!(backup.count(), before);
    assert_same_body_fresh_signature(&[backup.requests()[0].clone(), main.requests()[0].clone()]);
}

#[tokio::test]
async fn connect_failures_everywhere_end_in_a_network_error_that_sent_nothing() {
    let main_port = closed_port().await;
    let backup_port = closed_port().await;
    let client = merchant_builder(&format!("http://127.0.0.1:{main_port}"))
        .backup_url(Some(format!("http://127.0.0.1:{backup_port}")))
        .retry(fast_retries(2))
        .build()
        .unwrap();
    let err = client
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
        .unwrap_err();
    let ErrorKind::Network(net) = err.kind() else {
        panic!("{err:?}")
    };
    assert_eq!(net.kind, NetworkErrorKind::Connect);
    assert_eq!(net.attempts, 3);
    assert!(!net.may_have_reached_server);
    assert!(err.nothing_sent());
    assert!(
        err.to_string().contains("did not reach the server"),
        "{err}"
    );
}

#[tokio::test]
async fn timeouts_may_have_reached_the_server_and_are_retried_with_the_same_body() {
    let server = TestServer::start(|_, i| {
        let mut reply = ok_reply(OK_BODY);
        if i == 0 {
            reply.delay = Duration::from_millis(1500);
        }
        reply
    })
    .await;
    let client = merchant_builder(&server.url())
        .request_timeout(Duration::from_millis(400))
        .retry(fast_retries(1))
        .build()
        .unwrap();
    client
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
        .unwrap();
    assert_eq!(server.count(), 2);
    assert_same_body_fresh_signature(&server.requests());

    let slow = TestServer::start(|_, _| {
        let mut reply = ok_reply(OK_BODY);
        reply.delay = Duration::from_millis(1500);
        reply
    })
    .await;
    let off = merchant_builder(&slow.url())
        .request_timeout(Duration::from_millis(400))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let err = off
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
        .unwrap_err();
    let ErrorKind::Network(net) = err.kind() else {
        panic!("{err:?}")
    };
    assert_eq!(net.kind, NetworkErrorKind::Timeout);
    assert!(net.may_have_reached_server);
    assert!(!err.nothing_sent());
    assert!(
        err.to_string().contains("may have reached the server"),
        "{err}"
    );
}
