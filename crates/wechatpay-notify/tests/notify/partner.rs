//! A service provider's notify URL against the in-process sandbox: the provider issues a
//! coupon for a brand that authorised it, the sandbox delivers `PRODUCT_COUPON_SP.SEND`
//! (signed with its platform key, sealed with `product_coupon_sp`) to a real server on
//! 127.0.0.1, and the confirmer confirms it once with the partner confirm, as the
//! provider, for the brand the event names, under the number a campaign derives. A
//! brand's coupon delivered to the same URL keeps its brand confirm.

use std::time::Duration;

use serde_json::{json, Value};
use wechatpay_campaign::follow_up::Step;
use wechatpay_notify::{ConfirmStatus, Journal, Receiver, NOT_CONFIGURED};
use wechatpay_sandbox::Sandbox;
use wechatpay_transport::notification::encrypt_resource;
use wechatpay_transport::sign::generate_nonce;
use wechatpay_transport::{ApiV3Key, CallOptions, Client, Identity, RetryPolicy};

use crate::common::{self, NotifyServer, APPID};

const PARTNER_CONFIRM: &str = "partner-confirm-send-user-product-coupon";

/// The provider's client for `sandbox`, never retrying by itself (the confirmer resends).
fn provider_client(sandbox: &Sandbox) -> Client {
    sandbox
        .client_builder(Identity::partner(sandbox.keys().identity.sp_mchid.as_str()))
        .retry(RetryPolicy::none())
        .resend_unverified_success(true)
        .build()
        .unwrap()
}

/// One call of `op` with a JSON body (path and query parameters included).
async fn call(client: &Client, op: &str, body: Value) -> Value {
    let operation = wechatpay_endpoints::dispatch(op).unwrap();
    let prepared = operation
        .prepare(&body)
        .unwrap_or_else(|p| panic!("{op}: {p:?}"));
    let reply = client
        .execute_raw(
            prepared.info,
            &prepared.url(),
            prepared.body,
            CallOptions::new(),
        )
        .await
        .unwrap_or_else(|e| panic!("{op}: {e}"));
    serde_json::from_slice(&reply.body).unwrap_or(Value::Null)
}

/// A product coupon with one stock of WeChat Pay codes, created by the provider for
/// `brand`: (product_coupon_id, stock_id).
async fn create_coupon(provider: &Client, brand: &str) -> (String, String) {
    let info = wechatpay_endpoints::find("create-product-coupon").unwrap();
    let mut body: Value = serde_json::from_str(info.request_examples[0].body).unwrap();
    let now = common::now();
    let at = |t: i64| wechatpay_runtime::DateTime::from_unix(t, 480).to_string();
    body["brand_id"] = json!(brand);
    body["out_request_no"] = json!("NOTIFY_SP_CREATE_1");
    body["stock"]["coupon_code_mode"] = json!("WECHATPAY");
    body["stock"]["single_usage_rule"]["coupon_available_period"] = json!({
        "available_begin_time": at(now - 3600),
        "available_end_time": at(now + 30 * 86_400),
        "available_days": 30,
    });
    let created = call(provider, "partner-create-product-coupon", body).await;
    (
        created["product_coupon_id"].as_str().unwrap().to_owned(),
        created["stock"]["stock_id"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn a_providers_coupon_is_confirmed_as_the_provider_and_a_brands_as_the_brand() {
    let keys = common::keys();
    let sandbox = common::sandbox(keys.path());
    let id = sandbox.keys().identity.clone();
    let provider = provider_client(&sandbox);
    let brand = common::brand_client(&sandbox);
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("notify.db");
    let handler = provider.notification_handler(ApiV3Key::new(&id.apiv3_key).unwrap());
    let receiver = Receiver::builder(handler, Journal::open(&journal).unwrap())
        .brand(id.brand_id.clone())
        .provider(id.sp_mchid.clone())
        .appid(APPID)
        .build();
    let server = NotifyServer::start_with(receiver, vec![brand.clone(), provider.clone()]);

    let send = json!({
        "brand_id": id.brand_id, "openid": "o-provider", "appid": APPID,
        "send_request_no": "NOTIFY_SP_SEND_1"
    });
    let (request, sent) = common::runtime().block_on(async {
        let url = json!({ "notify_url": server.url });
        call(&provider, "partner-set-notify-config", url.clone()).await;
        call(&brand, "set-notify-config", url).await;
        let (product_coupon_id, stock_id) = create_coupon(&provider, &id.brand_id).await;
        let mut request = send.clone();
        request["product_coupon_id"] = json!(product_coupon_id);
        request["stock_id"] = json!(stock_id);
        let sent = call(
            &provider,
            "partner-send-user-product-coupon",
            request.clone(),
        )
        .await;
        (request, sent)
    });
    let brand_code = common::send_coupon(&brand, "o-brand", "NOTIFY_SP_BRAND_1");
    let events = common::wait_for_events(&journal, 2, |e| e.confirm.is_settled());
    server.stop();

    let by_type = |t: &str| events.iter().find(|e| e.event_type == t).unwrap();
    let sp = by_type("PRODUCT_COUPON_SP.SEND");
    assert_eq!(sp.confirm, ConfirmStatus::Confirmed, "{sp:?}");
    assert_eq!(sp.brand_id, id.brand_id);
    assert_eq!(sp.coupon_code.as_deref(), sent["coupon_code"].as_str());
    assert_eq!(sp.summary()["brand_id"], json!(id.brand_id));
    // The number a campaign of partner-send-user-product-coupon derives for the same
    // coupon (caller: the provider; then brand and coupon code).
    let follow_up = wechatpay_endpoints::find("partner-send-user-product-coupon")
        .unwrap()
        .follow_up
        .as_ref()
        .unwrap();
    let campaign = Step::for_response(follow_up, &id.sp_mchid, &request, &sent).unwrap();
    assert_eq!(campaign[0].info.operation_id, PARTNER_CONFIRM);
    assert_eq!(
        sp.confirm_request_no.as_deref(),
        Some(campaign[0].request_no.as_str())
    );

    let brand_event = by_type("PRODUCT_COUPON.SEND");
    assert_eq!(
        brand_event.confirm,
        ConfirmStatus::Confirmed,
        "{brand_event:?}"
    );
    assert_eq!(
        brand_event.coupon_code.as_deref(),
        Some(brand_code.as_str())
    );

    // Each confirmed once, each with its own family's operation; the coupon knows the number.
    let stats = common::stats(&sandbox);
    assert_eq!(stats["operations"][PARTNER_CONFIRM]["issued"], 1, "{stats}");
    assert_eq!(stats["operations"][common::CONFIRM]["issued"], 1, "{stats}");
    let coupon = common::runtime().block_on(call(
        &provider,
        "partner-get-user-product-coupon",
        json!({"brand_id": id.brand_id, "openid": "o-provider", "appid": APPID,
               "coupon_code": sp.coupon_code, "product_coupon_id": request["product_coupon_id"],
               "stock_id": request["stock_id"]}),
    ));
    assert_eq!(coupon["confirm_request_no"], json!(sp.confirm_request_no));
}

#[test]
fn a_providers_event_at_a_brands_url_waits_for_a_provider() {
    let keys = common::keys();
    let sandbox = common::sandbox(keys.path());
    let id = sandbox.keys().identity.clone();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("notify.db");
    let server = NotifyServer::start(&sandbox, &journal, true);

    let key = ApiV3Key::new(&id.apiv3_key).unwrap();
    let payload = json!({
        "brand_id": id.brand_id, "coupon_code": "SP-CODE-1", "openid": "o1",
        "product_coupon_id": "1000000013", "stock_id": "1000000013001", "appid": APPID
    });
    let nonce: String = generate_nonce().chars().take(12).collect();
    let resource = encrypt_resource(
        &key,
        payload.to_string().as_bytes(),
        &nonce,
        "product_coupon_sp",
        "coupon",
    )
    .unwrap();
    let body = json!({
        "id": "EV-SP-AT-BRAND", "create_time": "2025-08-02T10:00:00+08:00",
        "resource_type": "encrypt-resource", "event_type": "PRODUCT_COUPON_SP.SEND",
        "summary": "商品券领券通知", "resource": resource,
    })
    .to_string()
    .into_bytes();
    let headers = common::signed_now(&sandbox, &body);
    let (status, _) = common::post(&server.url, "POST", &headers, body);
    assert_eq!(status, 204);
    // Journaled, never attempted: nothing this run can confirm it as.
    std::thread::sleep(Duration::from_millis(300));
    server.stop();
    let events = common::events(&journal);
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.confirm, ConfirmStatus::Pending, "{e:?}");
    assert_eq!(e.error_code.as_deref(), Some(NOT_CONFIGURED));
    assert!(
        e.error_message
            .as_deref()
            .is_some_and(|m| m.contains(PARTNER_CONFIRM) && m.contains("--mchid")),
        "{e:?}"
    );
    assert_eq!((e.brand_id.as_str(), e.attempts), (id.brand_id.as_str(), 0));
    // Printed at once (the CLI's feed), though pending.
    let unannounced = Journal::open_read_only(&journal)
        .unwrap()
        .unannounced(false)
        .unwrap();
    assert_eq!(unannounced.len(), 1);
    let stats = common::stats(&sandbox);
    assert_eq!(stats["operations"][PARTNER_CONFIRM]["requests"], 0);
}

#[test]
fn a_confirmer_takes_one_client_per_family_each_the_receivers() {
    use wechatpay_notify::{ConfirmOptions, Confirmer, ConfirmerError};
    use wechatpay_transport::AuthScheme;
    let keys = common::keys();
    let sandbox = common::sandbox(keys.path());
    let id = sandbox.keys().identity.clone();
    let dir = tempfile::tempdir().unwrap();
    let provider = provider_client(&sandbox);
    let brand = common::brand_client(&sandbox);
    let handler = provider.notification_handler(ApiV3Key::new(&id.apiv3_key).unwrap());
    let receiver = Receiver::builder(handler, Journal::open(&dir.path().join("n.db")).unwrap())
        .provider(id.sp_mchid.clone())
        .build();
    let new = |clients: Vec<Client>| {
        Confirmer::new(&receiver, clients, ConfirmOptions::default()).map(|_| ())
    };
    // A provider's receiver needs no AppID: its events carry their own.
    assert_eq!(new(vec![provider.clone()]), Ok(()));
    assert_eq!(new(vec![]), Err(ConfirmerError::NoClient));
    assert_eq!(
        new(vec![provider.clone(), provider.clone()]),
        Err(ConfirmerError::TwoClients(AuthScheme::Partner))
    );
    let err = new(vec![brand.clone()]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "the brand client signs as {}, but the receiver's brand is not set",
            id.brand_id
        )
    );
    let other = sandbox
        .client_builder(Identity::partner("1600000009"))
        .build()
        .unwrap();
    assert!(matches!(
        new(vec![other]),
        Err(ConfirmerError::NotTheReceivers {
            family: AuthScheme::Partner,
            ..
        })
    ));
    let merchant = sandbox
        .client_builder(Identity::merchant(id.sp_mchid.as_str()))
        .build()
        .unwrap();
    assert_eq!(
        new(vec![merchant]),
        Err(ConfirmerError::NoEventOfFamily(AuthScheme::Merchant))
    );
    // A brand's confirm names the AppID, which its notification does not carry.
    let both = Receiver::builder(
        provider.notification_handler(ApiV3Key::new(&id.apiv3_key).unwrap()),
        Journal::open(&dir.path().join("b.db")).unwrap(),
    )
    .brand(id.brand_id.clone())
    .provider(id.sp_mchid.clone())
    .build();
    assert_eq!(
        Confirmer::new(&both, [brand], ConfirmOptions::default()).map(|_| ()),
        Err(ConfirmerError::NoAppid)
    );
}
