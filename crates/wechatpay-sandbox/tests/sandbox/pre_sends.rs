//! Pre-sent coupons taken by the user (`POST /sandbox/pre-sends/claim`), seen
//! from the user's side: a claimed coupon (or bundle) belongs to the user it
//! was pre-sent to — get and list answer it under that openid, the brand can
//! confirm it there, its PRODUCT_COUPON.SEND names that openid — and the
//! per-user limit counts that user's coupons, not anyone else's.

use crate::common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{
    api_error, assert_answer, brand_client, claim, notification_handler, runtime, Receiver,
};
use wechatpay_models::{
    ConfirmSendUserProductCouponRequest, GetUserProductCouponRequest,
    ListUserProductCouponsRequest, PreSendUserProductCouponBundleRequest,
    PreSendUserProductCouponRequest, ProductCouponNotification, SetNotifyConfigRequest,
    UserProductCouponSendChannel, UserProductCouponState,
};
use wechatpay_sandbox::answers::trouble;
use wechatpay_sandbox::{Options, Sandbox};
use wechatpay_transport::notification::NotificationHandler;
use wechatpay_transport::Client;

const APPID: &str = "wx233544546545989";
/// The seeded single-use product coupon and its UPLOAD stock (one coupon per user).
const PC: &str = "1000000013";
const STOCK: &str = "1000000013001";
/// The seeded PROGRESSIVE_BUNDLE product coupon and one of its stock bundles (3 rounds).
const BUNDLE_PC: &str = "200000001";
const BUNDLE: &str = "100232301";

async fn pre_send(client: &Client, openid: &str, number: &str) -> String {
    let request = PreSendUserProductCouponRequest::new(openid, PC, STOCK, APPID, number);
    client.execute(&request).await.unwrap().token
}

/// The next `n` notifications as (event type, openid, coupon code), each within 10 s.
fn notifications(
    receiver: &Receiver,
    handler: &NotificationHandler,
    n: usize,
) -> Vec<(String, String, String)> {
    (0..n)
        .map(|_| {
            let d = receiver
                .next(Duration::from_secs(10))
                .expect("a notification within 10 s");
            let e = handler
                .handle::<ProductCouponNotification>(&d.headers, &d.body)
                .expect("the notification verifies and decrypts");
            (
                e.notification.event_type,
                e.resource.openid.unwrap_or_default(),
                e.resource.coupon_code.unwrap_or_default(),
            )
        })
        .collect()
}

async fn set_url(client: &Client, url: &str) {
    client
        .execute(&SetNotifyConfigRequest::new(url))
        .await
        .unwrap();
}

#[test]
fn a_claimed_pre_send_belongs_to_the_user_it_was_pre_sent_to() {
    let keys = common::keys();
    let sb = Sandbox::start(Options::new(keys.path())).unwrap();
    let client = brand_client(&sb);
    let receiver = Receiver::start(Vec::new());
    let handler = notification_handler(&sb);
    runtime().block_on(async {
        set_url(&client, &receiver.url).await;
        let token = pre_send(&client, "o-claimer", "CLAIM_SINGLE_1").await;
        let (status, body) = claim(&sb, &token).await;
        assert_eq!(status, 200, "{body}");
        let code = body["user_product_coupon_list"][0]["coupon_code"]
            .as_str()
            .unwrap()
            .to_owned();

        // The user sees it: get and list under the pre-send's openid.
        let got = client
            .execute(&GetUserProductCouponRequest::new(
                "o-claimer",
                code.as_str(),
                PC,
                STOCK,
                APPID,
            ))
            .await
            .unwrap();
        assert_eq!(got.coupon_state, UserProductCouponState::Confirming);
        assert_eq!(
            got.send_channel,
            UserProductCouponSendChannel::ReceiveComponent
        );
        assert_eq!(got.send_request_no, "CLAIM_SINGLE_1");
        let listed = client
            .execute(&ListUserProductCouponsRequest::new("o-claimer", APPID))
            .await
            .unwrap();
        assert_eq!(listed.total_count, Some(1));
        let codes: Vec<String> = listed
            .user_coupon_list
            .unwrap()
            .into_iter()
            .map(|c| c.coupon_code)
            .collect();
        assert_eq!(codes, std::slice::from_ref(&code));

        // Its PRODUCT_COUPON.SEND names the user.
        assert_eq!(
            notifications(&receiver, &handler, 1),
            [(
                "PRODUCT_COUPON.SEND".to_owned(),
                "o-claimer".to_owned(),
                code.clone()
            )]
        );

        // The brand confirms it for that user.
        let confirmed = client
            .execute(&ConfirmSendUserProductCouponRequest::new(
                "o-claimer",
                code.as_str(),
                PC,
                STOCK,
                APPID,
                "CLAIM_CONFIRM_1",
            ))
            .await
            .unwrap();
        assert_eq!(
            confirmed.confirm_request_no.as_deref(),
            Some("CLAIM_CONFIRM_1")
        );
        assert_ne!(confirmed.coupon_state, UserProductCouponState::Confirming);
    });
}

#[test]
fn a_claimed_bundle_pre_send_belongs_to_the_user_it_was_pre_sent_to() {
    let keys = common::keys();
    let sb = Sandbox::start(Options::new(keys.path())).unwrap();
    let client = brand_client(&sb);
    let receiver = Receiver::start(Vec::new());
    let handler = notification_handler(&sb);
    runtime().block_on(async {
        set_url(&client, &receiver.url).await;
        let request = PreSendUserProductCouponBundleRequest::new(
            "o-bundle-claimer",
            BUNDLE_PC,
            BUNDLE,
            APPID,
            "CLAIM_BUNDLE_1",
        );
        let token = client.execute(&request).await.unwrap().token;
        let (status, body) = claim(&sb, &token).await;
        assert_eq!(status, 200, "{body}");
        let claimed = body["user_product_coupon_list"].as_array().unwrap();
        assert_eq!(claimed.len(), 3);
        let bundle_id = claimed[0]["user_product_coupon_bundle_info"]["user_coupon_bundle_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let codes: BTreeSet<String> = claimed
            .iter()
            .map(|c| c["coupon_code"].as_str().unwrap().to_owned())
            .collect();

        let mut page = ListUserProductCouponsRequest::new("o-bundle-claimer", APPID);
        page.user_coupon_bundle_id = Some(bundle_id.clone());
        let listed = client.execute(&page).await.unwrap();
        assert_eq!(listed.total_count, Some(3));
        let listed = listed.user_coupon_list.unwrap();
        assert_eq!(
            listed
                .iter()
                .map(|c| c.coupon_code.clone())
                .collect::<BTreeSet<_>>(),
            codes
        );
        for c in &listed {
            let got = client
                .execute(&GetUserProductCouponRequest::new(
                    "o-bundle-claimer",
                    c.coupon_code.as_str(),
                    BUNDLE_PC,
                    c.stock.stock_id.as_str(),
                    APPID,
                ))
                .await
                .unwrap();
            assert_eq!(
                got.user_product_coupon_bundle_info
                    .unwrap()
                    .user_coupon_bundle_id,
                bundle_id
            );
        }

        // One PRODUCT_COUPON.SEND per coupon, each naming the user.
        let events = notifications(&receiver, &handler, 3);
        assert!(
            events
                .iter()
                .all(|(t, openid, _)| t == "PRODUCT_COUPON.SEND" && openid == "o-bundle-claimer"),
            "{events:?}"
        );
        assert_eq!(
            events
                .into_iter()
                .map(|(_, _, code)| code)
                .collect::<BTreeSet<_>>(),
            codes
        );
    });
}

#[test]
fn a_claim_counts_against_the_claiming_users_limit_only() {
    let keys = common::keys();
    let sb = Sandbox::start(Options::new(keys.path())).unwrap();
    let client = brand_client(&sb);
    runtime().block_on(async {
        // Stock 1000000013001 allows one coupon per user.
        let first = pre_send(&client, "o-one", "CLAIM_LIMIT_1").await;
        let second = pre_send(&client, "o-one", "CLAIM_LIMIT_2").await;
        let other = pre_send(&client, "o-two", "CLAIM_LIMIT_3").await;
        let (status, body) = claim(&sb, &first).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = claim(&sb, &second).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("USER_RECEIVE_LIMIT")),
            "{body}"
        );
        assert_eq!(
            body["detail"]["troubleshooting_code"],
            trouble::USER_LIMIT,
            "{body}"
        );
        // Another user's claim is not counted against o-one (nor o-one's against them).
        let (status, body) = claim(&sb, &other).await;
        assert_eq!(status, 200, "{body}");
        let e = api_error(
            client
                .execute(&GetUserProductCouponRequest::new(
                    "o-one",
                    body["user_product_coupon_list"][0]["coupon_code"]
                        .as_str()
                        .unwrap(),
                    PC,
                    STOCK,
                    APPID,
                ))
                .await,
        );
        assert_answer(
            &e,
            404,
            "RESOURCE_NOT_EXISTS",
            Some(trouble::COUPON_NOT_FOUND),
        );
    });
}
