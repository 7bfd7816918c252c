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
