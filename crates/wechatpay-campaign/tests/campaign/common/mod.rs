//! Shared helpers: an in-process sandbox on 127.0.0.1 (keys generated once per
//! test binary), its stats, campaign files in a temporary directory, and a
//! bounded runtime.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;
use wechatpay_campaign::CampaignSpec;
use wechatpay_sandbox::{Options, Sandbox};
use wechatpay_transport::{Client, Identity, RetryPolicy};

/// The sandbox keys of this test binary, generated once.
pub fn keys_dir() -> PathBuf {
    static LOCK: Mutex<()> = Mutex::new(());
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wechatpay-campaign-keys");
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    wechatpay_sandbox::keys::SandboxKeys::load_or_create(&dir).expect("sandbox keys");
    dir
}

/// Starts a sandbox, with `fault` applied to every request if given.
pub fn sandbox(fault: Option<&str>) -> Sandbox {
    let mut options = Options::new(keys_dir());
    options.fault = fault.map(str::to_owned);
    Sandbox::start(options).expect("start the sandbox")
}

/// A client as `campaign send` builds it: no transport retries, probe replies sent once more.
pub fn client(sandbox: &Sandbox, base_url: &str, brand: bool) -> Client {
    let id = &sandbox.keys().identity;
    let identity = if brand {
        Identity::brand(id.brand_id.as_str())
    } else {
        Identity::merchant(id.mchid.as_str())
    };
    sandbox
        .client_builder(identity)
        .base_url(base_url)
        .retry(RetryPolicy::none())
        .resend_unverified_success(true)
        .request_timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// `GET /sandbox/stats` counters of one operation: (requests, issued, replayed).
pub fn stats(sandbox: &Sandbox, operation: &str) -> (u64, u64, u64) {
    let addr = sandbox.base_url().trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).expect("connect to the sandbox");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET /sandbox/stats HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    let body = reply.split_once("\r\n\r\n").expect("a reply").1;
    let stats: Value = serde_json::from_str(body).expect("stats JSON");
    let op = &stats["operations"][operation];
    let get = |k: &str| op[k].as_u64().unwrap();
    (get("requests"), get("issued"), get("replayed"))
}

/// The template of send-user-product-coupon campaigns.
pub const USER_TEMPLATE: &str =
    r#"{"product_coupon_id":"1000000013","stock_id":"1000000013001","appid":"wx233544546545989"}"#;

/// A campaign of `operation` over `csv` with `template` in `dir`.
pub fn spec(dir: &Path, operation: &str, csv: &str, template: &str) -> CampaignSpec {
    let input = dir.join("input.csv");
    std::fs::write(&input, csv).unwrap();
    CampaignSpec {
        operation: wechatpay_endpoints::find(operation).unwrap(),
        input,
        template_source: "template.json".into(),
        template: template.as_bytes().to_vec(),
        journal: dir.join("campaign.db"),
    }
}

/// A CSV of `rows` users with the header `openid`.
pub fn users(prefix: &str, rows: usize) -> String {
    let mut csv = String::from("openid\n");
    for i in 0..rows {
        csv.push_str(&format!("{prefix}{i:05}\n"));
    }
    csv
}

/// Runs `future` on a current-thread runtime, failing the test after `secs`.
pub fn bounded<F: std::future::Future>(secs: u64, future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(secs), future)
                .await
                .expect("the test took too long")
        })
}

/// A client of the sandbox's service provider (`sp_mchid`), as `campaign send` builds it.
pub fn partner_client(sandbox: &Sandbox) -> Client {
    let id = &sandbox.keys().identity;
    sandbox
        .client_builder(Identity::partner(id.sp_mchid.as_str()))
        .retry(RetryPolicy::none())
        .resend_unverified_success(true)
        .request_timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// Sends `body` (path parameters included) to `operation`: the verified reply as JSON.
pub async fn call(client: &Client, operation: &str, body: Value) -> Value {
    let info = wechatpay_endpoints::find(operation).unwrap();
    let prepared = wechatpay_campaign::endpoint::prepare(info, &body)
        .unwrap_or_else(|p| panic!("{operation}: {p:?}"));
    let reply = client
        .execute_raw(
            info,
            &prepared.url(),
            prepared.body.clone(),
            wechatpay_transport::CallOptions::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("{operation}: {}", wechatpay_transport::ErrorChain(&e)));
    serde_json::from_slice(&reply.body).unwrap()
}

/// A product coupon and a stock the service provider creates for `brand`, with
/// room for every send of a test: (product_coupon_id, stock_id).
pub async fn partner_stock(client: &Client, brand: &str) -> (String, String) {
    let example = wechatpay_endpoints::find("partner-create-product-coupon")
        .unwrap()
        .request_examples[0]
        .body;
    let mut coupon: Value = serde_json::from_str(example).unwrap();
    coupon["brand_id"] = brand.into();
    coupon["out_request_no"] = format!("PC_{brand}").into();
    // A stock that codes itself (the example's uploads its codes) with room for every send.
    coupon["stock"] = serde_json::json!({
        "remark": "test",
        "coupon_code_mode": "WECHATPAY",
        "stock_send_rule": {"max_count": 100_000_000, "max_count_per_user": 100},
        "usage_rule_display_info": {"coupon_usage_method_list": ["OFFLINE"], "usage_description": "test"},
        "coupon_display_info": {"code_display_mode": "INVISIBLE"},
        "notify_config": {"notify_appid": "wx233544546545989"},
        "store_scope": "NONE"
    });
    // The provider's notify URL must be set first (partner page 4016434630); nothing
    // listens there, the deliveries are not what these tests look at.
    let url = serde_json::json!({"notify_url": "http://127.0.0.1:9/notify"});
    call(client, "partner-set-notify-config", url).await;
    let created = call(client, "partner-create-product-coupon", coupon).await;
    let text = |v: &Value| v.as_str().unwrap_or_else(|| panic!("{created}")).to_owned();
    (
        text(&created["product_coupon_id"]),
        text(&created["stock"]["stock_id"]),
    )
}

/// A CSV of `rows` per brand, the brands' rows interleaved: brand_id, openid,
/// product_coupon_id, stock_id (each brand its own stock).
pub fn brand_rows(brands: &[(String, String, String)], rows: usize) -> String {
    let mut csv = String::from("brand_id,openid,product_coupon_id,stock_id\n");
    for i in 0..rows {
        for (brand, product_coupon, stock) in brands {
            csv.push_str(&format!(
                "{brand},oPartner{brand}x{i:05},{product_coupon},{stock}\n"
            ));
        }
    }
    csv
}

/// The template of partner-send-user-product-coupon campaigns (the rest is per row).
pub const PARTNER_TEMPLATE: &str = r#"{"appid":"wx233544546545989"}"#;
