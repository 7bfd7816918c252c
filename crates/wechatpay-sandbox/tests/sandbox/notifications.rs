//! Notification delivery: the URLs set-notify-config takes, retries with
//! backoff when the URL does not answer 2xx in time, a bounded number of
//! attempts, duplicates when a 2xx comes too late, nothing without a URL;
//! and a pre-sent coupon claimed through the component notified like a sent one.

use crate::common;

use std::time::{Duration, Instant};

use common::{
    admin, api_error, assert_answer, brand_client, claim, notification_handler, runtime, Answer,
    Receiver,
};
use wechatpay_models::{
    PreSendUserProductCouponBundleRequest, PreSendUserProductCouponRequest,
    ProductCouponNotification, SendUserProductCouponRequest, SetNotifyConfigRequest,
};
use wechatpay_sandbox::{NotifyPolicy, Options, Sandbox};
use wechatpay_transport::Client;

const APPID: &str = "wx233544546545989";

fn sandbox(dir: &std::path::Path, policy: NotifyPolicy) -> Sandbox {
    Sandbox::start(Options {
        notify: policy,
        ..Options::new(dir)
    })
    .unwrap()
}

fn quick(attempts: u32) -> NotifyPolicy {
    NotifyPolicy {
        attempts,
        first_delay: Duration::from_millis(200),
        timeout: Duration::from_millis(700),
    }
}

async fn set_url(client: &Client, url: &str) {
    client
        .execute(&SetNotifyConfigRequest::new(url))
        .await
        .unwrap();
}

async fn send(client: &Client, openid: &str, number: &str) -> String {
    let request =
        SendUserProductCouponRequest::new(openid, "1000000013", "1000000013001", APPID, number);
    client.execute(&request).await.unwrap().coupon_code
}

#[test]
fn only_https_or_loopback_http_without_a_query_is_a_notify_url() {
    let keys = common::keys();
    let sb = Sandbox::start(Options::new(keys.path())).unwrap();
    let client = brand_client(&sb);
    runtime().block_on(async {
        for bad in [
            "http://www.example.com/notify",
            "http://192.168.1.10/notify",
            "https://www.example.com/notify?brand=1",
        ] {
            let e = api_error(client.execute(&SetNotifyConfigRequest::new(bad)).await);
            assert_answer(&e, 400, "PARAM_ERROR", None);
            assert_eq!(e.detail.unwrap()["field"], "notify_url", "{bad}");
        }
        for good in [
            "https://www.example.com/notify",
            "http://127.0.0.1:9/notify",
            "http://localhost:9/n",
        ] {
            set_url(&client, good).await;
        }
    });
}

#[test]
fn a_failed_delivery_is_retried_with_the_same_notification_until_a_2xx() {
    let keys = common::keys();
    let sb = sandbox(keys.path(), quick(5));
    let client = brand_client(&sb);
    let receiver = Receiver::start(vec![Answer::status(500), Answer::status(503)]);
    let handler = notification_handler(&sb);
    runtime().block_on(async {
        set_url(&client, &receiver.url).await;
        let code = send(&client, "o-retry", "NOTIFY_RETRY_1").await;
        let started = Instant::now();
        let deliveries: Vec<_> = (0..3)
            .map(|_| receiver.next(Duration::from_secs(10)).expect("a delivery"))
            .collect();
        // Backoff: 200 ms, then 400 ms.
        assert!(
            started.elapsed() >= Duration::from_millis(550),
            "{:?}",
            started.elapsed()
        );
        let ids: Vec<String> = deliveries
            .iter()
            .map(|d| {
                let n = handler
                    .handle::<ProductCouponNotification>(&d.headers, &d.body)
                    .expect("each attempt is signed afresh and verifies");
                assert_eq!(n.resource.coupon_code.as_deref(), Some(code.as_str()));
                n.notification.id
            })
            .collect();
        assert!(
            ids.iter().all(|id| *id == ids[0]),
            "one notification: {ids:?}"
        );
        assert!(
            receiver.next(Duration::from_millis(800)).is_none(),
            "no delivery after the 2xx"
        );
        let report = admin(&sb, "GET", "/sandbox/notifications", None).await;
        assert_eq!(
            (
                report["delivered"].as_u64(),
                report["failed_attempts"].as_u64(),
                report["pending"].as_u64()
            ),
            (Some(1), Some(2), Some(0)),
            "{report}"
        );
    });
}

#[test]
fn attempts_are_bounded_and_a_late_2xx_means_a_duplicate() {
    let keys = common::keys();
    let sb = sandbox(keys.path(), quick(3));
    let client = brand_client(&sb);
    let always_down = Receiver::start(vec![Answer::status(500); 10]);
    runtime().block_on(async {
        set_url(&client, &always_down.url).await;
        send(&client, "o-down", "NOTIFY_DOWN_1").await;
        for _ in 0..3 {
            always_down
                .next(Duration::from_secs(10))
                .expect("an attempt");
        }
        assert!(
            always_down.next(Duration::from_secs(2)).is_none(),
            "at most 3 attempts"
        );
        let report = admin(&sb, "GET", "/sandbox/notifications", None).await;
        assert_eq!(
            (report["dropped"].as_u64(), report["pending"].as_u64()),
            (Some(1), Some(0)),
            "{report}"
        );

        // A 2xx later than the timeout counts as no answer: the notification comes again.
        let slow = Receiver::start(vec![Answer {
            status: 200,
            delay: Duration::from_millis(1500),
        }]);
        set_url(&client, &slow.url).await;
        send(&client, "o-slow", "NOTIFY_SLOW_1").await;
        let first = slow.next(Duration::from_secs(10)).expect("first attempt");
        let second = slow.next(Duration::from_secs(10)).expect("the retry");
        assert_eq!(first.body, second.body, "the same notification twice");
    });
}

#[test]
fn nothing_is_queued_without_a_notify_url() {
    let keys = common::keys();
    let sb = Sandbox::start(Options::new(keys.path())).unwrap();
    let client = brand_client(&sb);
    runtime().block_on(async {
        send(&client, "o-quiet", "NOTIFY_NONE_1").await;
        let report = admin(&sb, "GET", "/sandbox/notifications", None).await;
        assert_eq!(report["pending"], 0);
        assert_eq!(report["delivered"], 0);
    });
}

#[test]
fn a_claimed_pre_send_is_issued_through_the_component_and_notified_once() {
    let keys = common::keys();
    let sb = Sandbox::start(Options::new(keys.path())).unwrap();
    let client = brand_client(&sb);
    let receiver = Receiver::start(Vec::new());
    let handler = notification_handler(&sb);
    runtime().block_on(async {
        set_url(&client, &receiver.url).await;
        let single = PreSendUserProductCouponRequest::new(
            "o-tap",
            "1000000013",
            "1000000013001",
            APPID,
            "TAP_SINGLE_1",
        );
        let token = client.execute(&single).await.unwrap().token;
        let (status, body) = claim(&sb, &token).await;
        assert_eq!(status, 200, "{body}");
        let coupon = &body["user_product_coupon_list"][0];
        assert_eq!(coupon["send_channel"], "RECEIVE_COMPONENT");
        assert_eq!(coupon["coupon_state"], "CONFIRMING");
        let d = receiver
            .next(Duration::from_secs(10))
            .expect("PRODUCT_COUPON.SEND");
        let n = handler
            .handle::<ProductCouponNotification>(&d.headers, &d.body)
            .unwrap();
        assert_eq!(
            n.resource.send_channel.as_deref(),
            Some("RECEIVE_COMPONENT")
        );
        assert_eq!(
            n.resource.coupon_code.as_deref(),
            coupon["coupon_code"].as_str()
        );
        let (status, again) = claim(&sb, &token).await;
        assert_eq!(
            (status, again["code"].as_str()),
            (400, Some("INVALID_REQUEST")),
            "{again}"
        );
        let (status, unknown) = claim(&sb, "SBXNOSUCHTOKEN").await;
        assert_eq!(
            (status, unknown["code"].as_str()),
            (404, Some("RESOURCE_NOT_EXISTS"))
        );

        let bundle = PreSendUserProductCouponBundleRequest::new(
            "o-tap",
            "200000001",
            "100232301",
            APPID,
            "TAP_BUNDLE_1",
        );
        let token = client.execute(&bundle).await.unwrap().token;
        let (status, body) = claim(&sb, &token).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["user_product_coupon_list"].as_array().unwrap().len(),
            3
        );
        for _ in 0..3 {
            receiver
                .next(Duration::from_secs(10))
                .expect("one SEND per coupon of the bundle");
        }
    });
}
