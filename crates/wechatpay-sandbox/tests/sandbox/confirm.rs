//! Send → PRODUCT_COUPON.SEND → confirm, as WeChat Pay runs it: a coupon is
//! CONFIRMING until the brand confirms it — not usable, not returnable, but
//! counted against the per-user limit; every issued coupon (send, each coupon
//! of a bundle, a claimed pre-send) queues one PRODUCT_COUPON.SEND; with
//! `Options::confirm_after_notify` a confirm is refused until that
//! notification was delivered, without using up its request number (also
//! across `--state` restarts); and `/sandbox/stats` proves N issued, N
//! confirmed, none confirmed twice.

use crate::common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{
    admin, api_error, assert_answer, brand_client, claim, notification_handler, runtime, Answer,
    Receiver,
};
use serde_json::Value;
use wechatpay_endpoints::brand::ConfirmSendUserProductCoupon;
use wechatpay_models::{
    ConfirmSendUserProductCouponRequest, GetUserProductCouponRequest,
    PreSendUserProductCouponBundleRequest, PreSendUserProductCouponRequest,
    ProductCouponNotification, ReturnUserProductCouponRequest, SendUserProductCouponBundleRequest,
    SendUserProductCouponRequest, SetNotifyConfigRequest, UseUserProductCouponRequest,
    UserProductCouponAssociatedOrderInfo, UserProductCouponEntity, UserProductCouponState,
};
use wechatpay_runtime::Endpoint;
use wechatpay_sandbox::answers::trouble;
use wechatpay_sandbox::{NotifyPolicy, Options, Sandbox};
use wechatpay_transport::{Client, Error, RawCode, VerifiedReply};

const APPID: &str = "wx233544546545989";
/// The seeded single-use product coupon and its UPLOAD stock (one coupon per user).
const PC: &str = "1000000013";
const STOCK: &str = "1000000013001";
/// The seeded PROGRESSIVE_BUNDLE product coupon and one of its stock bundles
/// (3 rounds, one bundle per user).
const BUNDLE_PC: &str = "200000001";
const BUNDLE: &str = "100232301";

/// Retries after `first_delay`, then twice as long; an attempt gets 700 ms.
fn policy(attempts: u32, first_delay: Duration) -> NotifyPolicy {
    NotifyPolicy {
        attempts,
        first_delay,
        timeout: Duration::from_millis(700),
    }
}

async fn set_url(client: &Client, url: &str) {
    client
        .execute(&SetNotifyConfigRequest::new(url))
        .await
        .unwrap();
}

async fn send(client: &Client, openid: &str, number: &str) -> UserProductCouponEntity {
    let request = SendUserProductCouponRequest::new(openid, PC, STOCK, APPID, number);
    let coupon = client.execute(&request).await.unwrap();
    assert_eq!(coupon.coupon_state, UserProductCouponState::Confirming);
    coupon
}

fn confirm_request(
    openid: &str,
    c: &UserProductCouponEntity,
    number: &str,
) -> ConfirmSendUserProductCouponRequest {
    ConfirmSendUserProductCouponRequest::new(
        openid,
        c.coupon_code.as_str(),
        c.product_coupon.product_coupon_id.as_str(),
        c.stock.stock_id.as_str(),
        APPID,
        number,
    )
}

/// A confirm through the client's raw path, so that replies compare byte for byte.
async fn confirm(
    client: &Client,
    request: &ConfirmSendUserProductCouponRequest,
) -> Result<VerifiedReply, Error<RawCode>> {
    client
        .execute_raw(
            ConfirmSendUserProductCoupon::INFO,
            &ConfirmSendUserProductCoupon::path(request),
            serde_json::to_vec(request).unwrap(),
            Default::default(),
        )
        .await
}

fn use_request(
    openid: &str,
    c: &UserProductCouponEntity,
    number: &str,
) -> UseUserProductCouponRequest {
    let mut order = UserProductCouponAssociatedOrderInfo::new();
    order.transaction_id = Some("4200000000123456789123456789".into());
    let mut r = UseUserProductCouponRequest::new(
        openid,
        c.coupon_code.as_str(),
        c.product_coupon.product_coupon_id.as_str(),
        c.stock.stock_id.as_str(),
        APPID,
        common::now(),
        number,
    );
    r.associated_order_info = Some(order);
    r
}

fn return_request(
    openid: &str,
    c: &UserProductCouponEntity,
    number: &str,
) -> ReturnUserProductCouponRequest {
    ReturnUserProductCouponRequest::new(
        openid,
        c.coupon_code.as_str(),
        c.product_coupon.product_coupon_id.as_str(),
        c.stock.stock_id.as_str(),
        APPID,
        number,
    )
}

/// Waits (at most 10 s) until the sandbox counts `n` delivered notifications.
async fn delivered(sb: &Sandbox, n: u64) {
    for _ in 0..200 {
        let report = admin(sb, "GET", "/sandbox/notifications", None).await;
        if report["delivered"].as_u64() >= Some(n) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("fewer than {n} notifications delivered within 10 s");
}

/// Asserts the refusal of a confirm whose PRODUCT_COUPON.SEND was not delivered.
fn assert_not_delivered(result: Result<VerifiedReply, Error<RawCode>>, notification: &str) {
    let e = api_error(result);
    assert_answer(&e, 400, "INVALID_REQUEST", Some(trouble::ILLEGAL_STATE));
    assert!(
        e.message
            .contains("PRODUCT_COUPON.SEND has not been delivered yet"),
        "{e}"
    );
    let detail = e.detail.unwrap();
    assert_eq!(detail["notification"], notification, "{detail}");
    assert_eq!(detail["event_type"], "PRODUCT_COUPON.SEND");
    assert_eq!(detail["troubleshooting_code"], trouble::ILLEGAL_STATE);
}

fn stats_of(stats: &Value, operation: &str) -> [u64; 4] {
    let op = &stats["operations"][operation];
    ["requests", "issued", "replayed", "rejected"].map(|k| op[k].as_u64().unwrap())
}

#[test]
fn a_confirming_coupon_cannot_be_used_or_returned_but_counts_against_the_user_limit() {
    let keys = common::keys();
    let sb = Sandbox::start(Options::new(keys.path())).unwrap();
    let client = brand_client(&sb);
    runtime().block_on(async {
        let single = send(&client, "o-wait", "WAIT_SEND_1").await;
        let bundle = client
            .execute(&SendUserProductCouponBundleRequest::new(
                "o-wait",
                BUNDLE_PC,
                BUNDLE,
                APPID,
                "WAIT_BUNDLE_1",
            ))
            .await
            .unwrap();
        for (i, c) in std::iter::once(&single)
            .chain(&bundle.user_product_coupon_list)
            .enumerate()
        {
            assert_eq!(c.coupon_state, UserProductCouponState::Confirming);
            let used = api_error(
                client
                    .execute(&use_request("o-wait", c, &format!("WAIT_USE_{i}")))
                    .await,
            );
            assert_answer(&used, 400, "INVALID_REQUEST", Some(trouble::ILLEGAL_STATE));
            assert!(used.message.contains("CONFIRMING"), "{used}");
            let returned = api_error(
                client
                    .execute(&return_request("o-wait", c, &format!("WAIT_RETURN_{i}")))
                    .await,
            );
            assert_answer(
                &returned,
                400,
                "INVALID_REQUEST",
                Some(trouble::ILLEGAL_STATE),
            );
        }

        // Unconfirmed coupons count: one per user, on the stock and on the bundle.
        let again = api_error(
            client
                .execute(&SendUserProductCouponRequest::new(
                    "o-wait",
                    PC,
                    STOCK,
                    APPID,
                    "WAIT_SEND_2",
                ))
                .await,
        );
        assert_answer(&again, 400, "USER_RECEIVE_LIMIT", Some(trouble::USER_LIMIT));
        let again = api_error(
            client
                .execute(&SendUserProductCouponBundleRequest::new(
                    "o-wait",
                    BUNDLE_PC,
                    BUNDLE,
                    APPID,
                    "WAIT_BUNDLE_2",
                ))
                .await,
        );
        assert_answer(&again, 400, "USER_RECEIVE_LIMIT", Some(trouble::USER_LIMIT));
        let token = client
            .execute(&PreSendUserProductCouponRequest::new(
                "o-wait",
                PC,
                STOCK,
                APPID,
                "WAIT_PRE_1",
            ))
            .await
            .unwrap()
            .token;
        let (status, body) = claim(&sb, &token).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("USER_RECEIVE_LIMIT")),
            "{body}"
        );

        // Confirmed (option off: at once, no notify URL needed), it is usable.
        let confirmed = confirm(
            &client,
            &confirm_request("o-wait", &single, "WAIT_CONFIRM_1"),
        )
        .await
        .unwrap()
        .json::<UserProductCouponEntity>()
        .unwrap();
        assert_eq!(confirmed.coupon_state, UserProductCouponState::Effective);
        let used = client
            .execute(&use_request("o-wait", &single, "WAIT_USE_9"))
            .await
            .unwrap();
        assert_eq!(used.coupon_state, UserProductCouponState::Used);
    });
}

#[test]
fn every_issued_coupon_queues_one_product_coupon_send() {
    let keys = common::keys();
    let sb = Sandbox::start(Options::new(keys.path())).unwrap();
    let client = brand_client(&sb);
    let receiver = Receiver::start(Vec::new());
    let handler = notification_handler(&sb);
    runtime().block_on(async {
        set_url(&client, &receiver.url).await;
        let mut issued = BTreeSet::new();
        let single = send(&client, "o-send", "SENDS_1").await;
        issued.insert(("o-send".to_owned(), single.coupon_code));
        let bundle = client
            .execute(&SendUserProductCouponBundleRequest::new(
                "o-send", BUNDLE_PC, BUNDLE, APPID, "SENDS_2",
            ))
            .await
            .unwrap();
        for c in bundle.user_product_coupon_list {
            issued.insert(("o-send".to_owned(), c.coupon_code));
        }
        let token = client
            .execute(&PreSendUserProductCouponRequest::new(
                "o-claim", PC, STOCK, APPID, "SENDS_3",
            ))
            .await
            .unwrap()
            .token;
        let bundle_token = client
            .execute(&PreSendUserProductCouponBundleRequest::new(
                "o-claim", BUNDLE_PC, BUNDLE, APPID, "SENDS_4",
            ))
            .await
            .unwrap()
            .token;
        for token in [token, bundle_token] {
            let (status, body) = claim(&sb, &token).await;
            assert_eq!(status, 200, "{body}");
            for c in body["user_product_coupon_list"].as_array().unwrap() {
                issued.insert((
                    "o-claim".to_owned(),
                    c["coupon_code"].as_str().unwrap().to_owned(),
                ));
            }
        }
        assert_eq!(issued.len(), 8);

        let mut notified = BTreeSet::new();
        for _ in 0..8 {
            let d = receiver
                .next(Duration::from_secs(10))
                .expect("a PRODUCT_COUPON.SEND within 10 s");
            let n = handler
                .handle::<ProductCouponNotification>(&d.headers, &d.body)
                .unwrap();
            assert_eq!(n.notification.event_type, "PRODUCT_COUPON.SEND");
            let fresh = notified.insert((
                n.resource.openid.unwrap_or_default(),
                n.resource.coupon_code.unwrap_or_default(),
            ));
            assert!(fresh, "one notification per coupon");
        }
        assert_eq!(notified, issued);
        assert!(
            receiver.next(Duration::from_millis(500)).is_none(),
            "nothing more"
        );
    });
}

#[test]
fn with_confirm_after_notify_a_confirm_waits_for_the_delivery_and_keeps_its_number() {
    let keys = common::keys();
    let sb = Sandbox::start(Options {
        notify: policy(5, Duration::from_secs(1)),
        ..Options::new(keys.path()).confirm_after_notify(true)
    })
    .unwrap();
    let client = brand_client(&sb);
    // The first attempt fails; the retry, a second later, is answered 200.
    let receiver = Receiver::start(vec![Answer::status(500)]);
    runtime().block_on(async {
        set_url(&client, &receiver.url).await;
        let coupon = send(&client, "o-after", "AFTER_SEND_1").await;
        let request = confirm_request("o-after", &coupon, "AFTER_CONFIRM_1");

        // Before the delivery: refused, whether or not the first attempt was made.
        assert_not_delivered(confirm(&client, &request).await, "pending");
        receiver
            .next(Duration::from_secs(10))
            .expect("the first attempt (500)");
        assert_not_delivered(confirm(&client, &request).await, "pending");
        receiver
            .next(Duration::from_secs(10))
            .expect("the retry (200)");
        delivered(&sb, 1).await;

        // The same confirm, same number: accepted now (the refusals used up nothing) ...
        let first = confirm(&client, &request).await.unwrap();
        let confirmed: UserProductCouponEntity = first.json().unwrap();
        assert_ne!(confirmed.coupon_state, UserProductCouponState::Confirming);
        assert_eq!(
            confirmed.confirm_request_no.as_deref(),
            Some("AFTER_CONFIRM_1")
        );
        // ... and then a replay, byte for byte.
        let replay = confirm(&client, &request).await.unwrap();
        assert_eq!(replay.body, first.body);
        // Another number for the confirmed coupon: its state refuses it.
        let twice = api_error(
            confirm(
                &client,
                &confirm_request("o-after", &coupon, "AFTER_CONFIRM_2"),
            )
            .await,
        );
        assert_answer(&twice, 400, "INVALID_REQUEST", Some(trouble::ILLEGAL_STATE));
        assert!(!twice.message.contains("PRODUCT_COUPON.SEND"), "{twice}");

        let stats = admin(&sb, "GET", "/sandbox/stats", None).await;
        assert_eq!(
            stats_of(&stats, "confirm-send-user-product-coupon"),
            [5, 1, 1, 3],
            "requests, issued, replayed, rejected: {stats}"
        );
    });
}

#[test]
fn with_confirm_after_notify_a_send_never_queued_or_dropped_is_never_confirmed() {
    let keys = common::keys();
    let sb = Sandbox::start(Options {
        notify: policy(2, Duration::from_millis(200)),
        ..Options::new(keys.path()).confirm_after_notify(true)
    })
    .unwrap();
    let client = brand_client(&sb);
    let down = Receiver::start(vec![Answer::status(503); 10]);
    runtime().block_on(async {
        // No notify URL when it was issued: nothing will ever be delivered.
        let quiet = send(&client, "o-quiet", "NEVER_SEND_1").await;
        let refused = confirm(
            &client,
            &confirm_request("o-quiet", &quiet, "NEVER_CONFIRM_1"),
        )
        .await;
        assert_not_delivered(refused, "not_queued");

        // Every attempt failed: dropped.
        set_url(&client, &down.url).await;
        let lost = send(&client, "o-lost", "NEVER_SEND_2").await;
        for _ in 0..2 {
            down.next(Duration::from_secs(10)).expect("an attempt");
        }
        for _ in 0..200 {
            let report = admin(&sb, "GET", "/sandbox/notifications", None).await;
            if report["dropped"] == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let refused = confirm(
            &client,
            &confirm_request("o-lost", &lost, "NEVER_CONFIRM_2"),
        )
        .await;
        assert_not_delivered(refused, "dropped");
    });
}

#[test]
fn a_delivered_send_is_remembered_across_state_restarts() {
    let keys = common::keys();
    let file = keys.path().join("state.db");
    let options = || Options {
        state: Some(file.clone()),
        ..Options::new(keys.path()).confirm_after_notify(true)
    };
    let receiver = Receiver::start(Vec::new());
    let (notified, quiet) = {
        let sb = Sandbox::start(options()).unwrap();
        let client = brand_client(&sb);
        runtime().block_on(async {
            let quiet = send(&client, "o-restart-quiet", "RESTART_SEND_1").await;
            set_url(&client, &receiver.url).await;
            let notified = send(&client, "o-restart", "RESTART_SEND_2").await;
            receiver.next(Duration::from_secs(10)).expect("the SEND");
            delivered(&sb, 1).await;
            (notified, quiet)
        })
    };
    let sb = Sandbox::start(options()).unwrap();
    let client = brand_client(&sb);
    runtime().block_on(async {
        let confirmed = confirm(
            &client,
            &confirm_request("o-restart", &notified, "RESTART_CONFIRM_2"),
        )
        .await
        .unwrap()
        .json::<UserProductCouponEntity>()
        .unwrap();
        assert_ne!(confirmed.coupon_state, UserProductCouponState::Confirming);
        let refused = confirm(
            &client,
            &confirm_request("o-restart-quiet", &quiet, "RESTART_CONFIRM_1"),
        )
        .await;
        assert_not_delivered(refused, "not_queued");
    });
}

#[test]
fn stats_prove_n_issued_and_n_confirmed_and_none_confirmed_twice() {
    const N: usize = 5;
    let keys = common::keys();
    let sb = Sandbox::start(Options::new(keys.path())).unwrap();
    let client = brand_client(&sb);
    runtime().block_on(async {
        let mut coupons = Vec::new();
        for i in 0..N {
            let openid = format!("o-n{i}");
            let c = send(&client, &openid, &format!("N_SEND_{i}")).await;
            coupons.push((openid, c));
        }
        for (i, (openid, c)) in coupons.iter().enumerate() {
            let request = confirm_request(openid, c, &format!("N_CONFIRM_{i}"));
            let first = confirm(&client, &request).await.unwrap();
            // The same number again (a confirmer's retry): the recorded result.
            let again = confirm(&client, &request).await.unwrap();
            assert_eq!(again.body, first.body);
            // A second confirm under another number: refused by the state.
            let twice = api_error(
                confirm(
                    &client,
                    &confirm_request(openid, c, &format!("N_AGAIN_{i}")),
                )
                .await,
            );
            assert_answer(&twice, 400, "INVALID_REQUEST", Some(trouble::ILLEGAL_STATE));
        }
        // One coupon's number used for another coupon: a conflict, nothing confirmed.
        let (openid, c) = &coupons[1];
        let reused = api_error(confirm(&client, &confirm_request(openid, c, "N_CONFIRM_0")).await);
        assert_answer(&reused, 400, "INVALID_REQUEST", None);

        for (i, (openid, c)) in coupons.iter().enumerate() {
            let now = client
                .execute(&GetUserProductCouponRequest::new(
                    openid.as_str(),
                    c.coupon_code.as_str(),
                    PC,
                    STOCK,
                    APPID,
                ))
                .await
                .unwrap();
            assert_eq!(
                now.confirm_request_no,
                Some(format!("N_CONFIRM_{i}")),
                "confirmed once, by its first number"
            );
        }
        let stats = admin(&sb, "GET", "/sandbox/stats", None).await;
        let n = N as u64;
        assert_eq!(stats_of(&stats, "send-user-product-coupon"), [n, n, 0, 0]);
        assert_eq!(
            stats_of(&stats, "confirm-send-user-product-coupon"),
            [3 * n + 1, n, n, n + 1],
            "requests, issued, replayed, rejected: {stats}"
        );
    });
}
