//! The service provider and its brands: three brands (two authorised, one not),
//! who reaches what (`tenancy`), where a provider-created coupon is notified,
//! image-generation tasks, and the scope of the provider's rate quota.

use crate::common;

use std::time::Duration;

use common::examples::example_request;
use common::partner::{fixture, twin_of, Fixture};
use common::{admin, api_error, assert_answer, claim, notification_handler, runtime, Receiver};
use serde_json::{json, Value};
use wechatpay_models::{ImageGenerationTask, PartnerProductCouponNotification};
use wechatpay_runtime::WireEnum;
use wechatpay_sandbox::answers::trouble;
use wechatpay_sandbox::{Options, PartnerQuota, RateLimit, Sandbox};
use wechatpay_transport::{Client, Error, Identity, RawCode, RetryPolicy};

const PROVIDER_NOT_AUTHORISED: u32 = 268_579_803;

fn client(sb: &Sandbox, identity: Identity) -> Client {
    sb.client_builder(identity)
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

fn provider(sb: &Sandbox) -> Client {
    client(sb, Identity::partner(sb.keys().identity.sp_mchid.as_str()))
}

/// `op` with `body` (path and query parameters in it), the reply decoded into its type.
async fn call(client: &Client, op: &str, body: Value) -> Result<Value, Error<RawCode>> {
    let operation = wechatpay_endpoints::dispatch(op).unwrap();
    let prepared = operation.prepare(&body).unwrap();
    let reply = client
        .execute_raw(
            operation.info,
            &prepared.url(),
            prepared.body,
            wechatpay_transport::CallOptions::new(),
        )
        .await?;
    Ok(operation.decode_reply(&reply.body).unwrap())
}

/// Every row of every table of the state file, as text (what "nothing changed" compares).
fn dump(state: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(state).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut rows = Vec::new();
    for t in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {t}")).unwrap();
        let n = stmt.column_count();
        let mut q = stmt.query([]).unwrap();
        while let Some(row) = q.next().unwrap() {
            let values: Vec<String> = (0..n)
                .map(|i| format!("{:?}", row.get::<_, rusqlite::types::Value>(i).unwrap()))
                .collect();
            rows.push(format!("{t}: {}", values.join(", ")));
        }
    }
    rows
}

/// A send of the fixture's single stock for `brand`, to `openid`.
fn send_body(f: &Fixture, brand: &str, openid: &str, number: &str) -> Value {
    json!({"brand_id": brand, "openid": openid, "product_coupon_id": f.ids["1000000013"],
           "stock_id": f.ids["1000000013001"], "appid": "wx233544546545989",
           "send_request_no": number})
}

#[test]
fn a_brand_that_did_not_authorise_the_provider_is_refused_and_nothing_changes() {
    let keys = common::keys();
    let state = keys.path().join("state.db");
    let sb = Sandbox::start(Options {
        state: Some(state.clone()),
        ..Options::new(keys.path())
    })
    .unwrap();
    let id = sb.keys().identity.clone();
    assert_eq!(
        (
            id.authorized_brand_ids.len(),
            id.unauthorized_brand_ids.len()
        ),
        (3, 1)
    );
    let p = provider(&sb);
    runtime().block_on(async {
        let f = fixture(&p, &id.brand_id).await.unwrap();
        let before = dump(&state);
        let stats_before = admin(&sb, "GET", "/sandbox/stats", None).await;
        for brand in [id.unauthorized_brand_ids[0].as_str(), "1299999999"] {
            let mut create = example_request(
                wechatpay_endpoints::find("partner-create-product-coupon").unwrap(),
                0,
            );
            create["brand_id"] = json!(brand);
            let refusals = [
                call(&p, "partner-create-product-coupon", create).await,
                call(
                    &p,
                    "partner-send-user-product-coupon",
                    send_body(&f, brand, "o-refused", "REFUSED_SEND_1"),
                )
                .await,
                call(
                    &p,
                    "partner-get-product-coupon",
                    json!({"brand_id": brand, "product_coupon_id": f.ids["1000000013"]}),
                )
                .await,
            ];
            for refused in refusals {
                let e = api_error(refused);
                assert_answer(&e, 403, "NO_AUTH", Some(PROVIDER_NOT_AUTHORISED));
                assert!(e.message.contains(brand), "{e}");
            }
        }
        assert_eq!(dump(&state), before, "a refused call changes nothing");
        let stats = admin(&sb, "GET", "/sandbox/stats", None).await;
        for op in [
            "partner-create-product-coupon",
            "partner-send-user-product-coupon",
            "partner-get-product-coupon",
        ] {
            let (b, a) = (&stats_before["operations"][op], &stats["operations"][op]);
            assert_eq!(a["issued"], b["issued"], "{op}");
            assert_eq!(
                a["rejected"].as_u64(),
                b["rejected"].as_u64().map(|n| n + 2),
                "{op}"
            );
        }
    });
}

#[test]
fn a_provider_reaches_only_what_it_created_for_the_brand_it_names() {
    let keys = common::keys();
    let sb = Sandbox::start(Options::new(keys.path())).unwrap();
    let id = sb.keys().identity.clone();
    let (a, b) = (
        id.authorized_brand_ids[0].clone(),
        id.authorized_brand_ids[1].clone(),
    );
    let p = provider(&sb);
    let brand_a = client(&sb, Identity::brand(a.as_str()));
    let brand_b = client(&sb, Identity::brand(b.as_str()));
    runtime().block_on(async {
        let f = fixture(&p, &a).await.unwrap();
        let pc = f.ids["1000000013"].clone();
        let stock = f.ids["1000000013001"].clone();
        let sent = call(
            &p,
            "partner-send-user-product-coupon",
            send_body(&f, &a, "o-tenant", "TENANT_SEND_1"),
        )
        .await
        .unwrap();
        assert_eq!(sent["brand_id"], json!(a));

        // Brand B, through the provider or with its own key: as if absent.
        let get_b = json!({"brand_id": b, "product_coupon_id": pc});
        let not_found = [
            call(&p, "partner-get-product-coupon", get_b).await,
            call(
                &p,
                "partner-get-stock",
                json!({"brand_id": b, "product_coupon_id": pc, "stock_id": stock}),
            )
            .await,
            call(
                &p,
                "partner-send-user-product-coupon",
                send_body(&f, &b, "o-tenant", "TENANT_SEND_2"),
            )
            .await,
            call(
                &brand_b,
                "get-product-coupon",
                json!({ "product_coupon_id": pc }),
            )
            .await,
            call(
                &brand_b,
                "get-stock",
                json!({"product_coupon_id": pc, "stock_id": stock}),
            )
            .await,
            // The brand's own seeded product coupon: not created by the provider.
            call(
                &p,
                "partner-get-product-coupon",
                json!({"brand_id": a, "product_coupon_id": "1000000013"}),
            )
            .await,
        ];
        for refused in not_found {
            assert_answer(
                &api_error(refused),
                404,
                "RESOURCE_NOT_EXISTS",
                Some(trouble::OBJECT_NOT_FOUND),
            );
        }
        let listed_for = |brand: &str| {
            json!({"brand_id": brand, "openid": "o-tenant", "appid": "wx233544546545989"})
        };
        let list_b = call(&p, "partner-list-user-product-coupons", listed_for(&b))
            .await
            .unwrap();
        assert_eq!(list_b["total_count"], 0, "{list_b}");
        let list_a = call(&p, "partner-list-user-product-coupons", listed_for(&a))
            .await
            .unwrap();
        assert_eq!(list_a["total_count"], 1, "{list_a}");

        // Brand A owns what the provider created for it (README, "Tenancy").
        let own = call(
            &brand_a,
            "get-product-coupon",
            json!({ "product_coupon_id": pc }),
        )
        .await
        .unwrap();
        assert_eq!(own["product_coupon_id"], json!(pc));
        assert_eq!(own.get("brand_id"), None, "brand replies keep their shape");
    });
}

#[test]
fn a_provider_created_coupon_is_notified_to_the_provider_by_every_channel() {
    let keys = common::keys();
    let sb = Sandbox::start(Options::new(keys.path()).confirm_after_notify(true)).unwrap();
    let id = sb.keys().identity.clone();
    let a = id.authorized_brand_ids[0].clone();
    let p = provider(&sb);
    let brand_a = client(&sb, Identity::brand(a.as_str()));
    let to_provider = Receiver::start(Vec::new());
    let to_brand = Receiver::start(Vec::new());
    let handler = notification_handler(&sb);
    let next_sp_send = || {
        let d = to_provider
            .next(Duration::from_secs(10))
            .expect("a delivery to the provider");
        let envelope: Value = serde_json::from_slice(&d.body).unwrap();
        assert_eq!(envelope["event_type"], "PRODUCT_COUPON_SP.SEND");
        assert_eq!(envelope["resource"]["associated_data"], "product_coupon_sp");
        assert_eq!(envelope["resource"]["original_type"], "coupon");
        handler
            .handle::<PartnerProductCouponNotification>(&d.headers, &d.body)
            .expect("signed by the platform key, encrypted with the APIv3 key")
            .resource
    };
    runtime().block_on(async {
        let f = fixture(&p, &a).await.unwrap();
        let set = |url: &str| json!({ "notify_url": url });
        call(&p, twin_of("set-notify-config"), set(&to_provider.url))
            .await
            .unwrap();
        call(&brand_a, "set-notify-config", set(&to_brand.url))
            .await
            .unwrap();

        // send, then the partner confirm once it was delivered
        let sent = call(
            &p,
            "partner-send-user-product-coupon",
            send_body(&f, &a, "o-notified", "NOTIFIED_SEND_1"),
        )
        .await
        .unwrap();
        let n = next_sp_send();
        assert_eq!(
            (n.brand_id.as_str(), n.coupon_code.as_str(), n.openid.as_str()),
            (a.as_str(), sent["coupon_code"].as_str().unwrap(), "o-notified")
        );
        assert_eq!(n.send_request_no, "NOTIFIED_SEND_1");
        let confirm = json!({"brand_id": a, "openid": "o-notified", "coupon_code": n.coupon_code,
                             "product_coupon_id": n.product_coupon_id, "stock_id": n.stock_id,
                             "appid": n.appid, "out_request_no": "NOTIFIED_CONFIRM_1"});
        let mut confirmed = None;
        // "Delivered" is recorded a moment after the 2xx (README): bounded retries.
        for _ in 0..50 {
            match call(&p, "partner-confirm-send-user-product-coupon", confirm.clone()).await {
                Ok(reply) => {
                    confirmed = Some(reply);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
        let confirmed = confirmed.expect("confirmed after the delivery");
        assert_eq!(confirmed["confirm_request_no"], "NOTIFIED_CONFIRM_1");
        assert_eq!(confirmed["brand_id"], json!(a));

        // a bundle: one notification per coupon, naming the bundles
        let bundle = call(
            &p,
            "partner-send-user-product-coupon-bundle",
            json!({"brand_id": a, "openid": "o-notified", "product_coupon_id": f.ids["200000001"],
                   "stock_bundle_id": f.ids["100232301"], "appid": "wx233544546545989",
                   "send_request_no": "NOTIFIED_BUNDLE_1"}),
        )
        .await
        .unwrap();
        for _ in 0..3 {
            let n = next_sp_send();
            assert_eq!(n.user_coupon_bundle_id, bundle["user_coupon_bundle_id"].as_str().map(str::to_owned));
            assert_eq!(n.stock_bundle_id.as_deref(), Some(f.ids["100232301"].as_str()));
        }

        // a claimed pre-send
        let token = call(
            &p,
            "partner-pre-send-user-product-coupon-bundle",
            json!({"brand_id": a, "openid": "o-claim", "product_coupon_id": f.ids["200000001"],
                   "stock_bundle_id": f.ids["712315129419284901"], "appid": "wx233544546545989",
                   "send_request_no": "NOTIFIED_PRESEND_1"}),
        )
        .await
        .unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let (status, claimed) = claim(&sb, &token).await;
        assert_eq!(status, 200, "{claimed}");
        assert_eq!(claimed["user_product_coupon_list"][0]["brand_id"], json!(a));
        for _ in 0..3 {
            let n = next_sp_send();
            assert_eq!((n.openid.as_str(), n.send_channel.as_wire()), ("o-claim", "RECEIVE_COMPONENT"));
        }

        // an image task: answered, SUCCESS on query, notified
        let task = json!({"brand_id": a, "task_id": "image_task_1", "image_generation_type": "CUT_OUT",
                          "cut_out": {"image_url": "https://wxpaylogo.qpic.cn/wxpaylogo/item.png"}});
        let submitted = call(&p, "partner-create-image-generation-task", task).await.unwrap();
        assert_eq!(submitted, json!({"task_id": "image_task_1", "brand_id": a}));
        let queried = call(
            &p,
            "partner-get-image-generation-task",
            json!({"brand_id": a, "task_id": "image_task_1", "image_generation_type": "CUT_OUT"}),
        )
        .await
        .unwrap();
        assert_eq!(queried["task_state"], "SUCCESS");
        let url = queried["cut_out_result"]["image_url"].as_str().unwrap();
        assert!(url.starts_with("https://wxpaylogo.qpic.cn/"), "{url}");
        let d = to_provider.next(Duration::from_secs(10)).expect("the task's notification");
        let task = handler
            .handle::<ImageGenerationTask>(&d.headers, &d.body)
            .expect("verifies and decrypts");
        assert_eq!(task.notification.event_type, "PRODUCT_COUPON_SP.IMAGE_GENERATION");
        assert_eq!(serde_json::to_value(&task.resource).unwrap(), queried);

        assert!(
            to_brand.next(Duration::from_millis(300)).is_none(),
            "the brand's own URL hears nothing of the provider's coupons"
        );
    });
}

/// Three list calls per brand of A, B (authorised) at `--rate-limit 2`: which are refused.
fn quota_refusals(quota: PartnerQuota) -> Vec<(String, usize)> {
    let keys = common::keys();
    let sb = Sandbox::start(Options {
        rate_limit: RateLimit::UserCoupon(2),
        partner_quota: quota,
        ..Options::new(keys.path())
    })
    .unwrap();
    let id = sb.keys().identity.clone();
    let p = provider(&sb);
    // Built before the timed part: a debug build parses keys for a while.
    let brand_client = client(&sb, Identity::brand(id.authorized_brand_ids[0].as_str()));
    let list =
        |brand: &str| json!({"brand_id": brand, "openid": "o-quota", "appid": "wx233544546545989"});
    runtime().block_on(async {
        // Refused for want of authorisation before any token is taken.
        for _ in 0..3 {
            let refused = call(
                &p,
                "partner-list-user-product-coupons",
                list(&id.unauthorized_brand_ids[0]),
            )
            .await;
            assert_eq!(api_error(refused).status, 403);
        }
        let mut out = Vec::new();
        for brand in &id.authorized_brand_ids[..2] {
            let mut refused = 0;
            for _ in 0..2 {
                match call(&p, "partner-list-user-product-coupons", list(brand)).await {
                    Ok(_) => {}
                    Err(e) => {
                        let e = api_error::<Value, RawCode>(Err(e));
                        assert_answer(&e, 429, "FREQUENCY_LIMITED", Some(trouble::TOO_FREQUENT));
                        refused += 1;
                    }
                }
            }
            out.push((brand.clone(), refused));
            if *brand == id.authorized_brand_ids[0] {
                // `--rate-limit` is per brand: the brand's own call, right after its
                // provider's emptied the bucket, is refused (per provider, the brand keeps
                // a bucket of its own).
                let own = json!({"openid": "o-quota", "appid": "wx233544546545989"});
                let answer = call(&brand_client, "list-user-product-coupons", own).await;
                match quota {
                    PartnerQuota::PerBrand => {
                        let e = api_error::<Value, RawCode>(answer);
                        assert_answer(&e, 429, "FREQUENCY_LIMITED", Some(trouble::TOO_FREQUENT));
                    }
                    PartnerQuota::PerProvider => assert!(answer.is_ok(), "{answer:?}"),
                }
            }
        }
        let stats = admin(&sb, "GET", "/sandbox/stats", None).await;
        let op = &stats["operations"]["partner-list-user-product-coupons"];
        let refused: usize = out.iter().map(|(_, n)| n).sum();
        assert_eq!(op["rejected"].as_u64(), Some(3 + refused as u64), "{op}");
        out
    })
}

#[test]
fn the_provider_quota_is_per_brand_or_shared_by_its_brands() {
    let per_brand = quota_refusals(PartnerQuota::PerBrand);
    assert!(
        per_brand.iter().all(|(_, refused)| *refused == 0),
        "each brand has a bucket of its own: {per_brand:?}"
    );
    let per_provider = quota_refusals(PartnerQuota::PerProvider);
    assert_eq!(
        per_provider.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
        vec![0, 2],
        "one bucket for all the provider's brands: {per_provider:?}"
    );
}
