//! Shared by the benches: the `wechatpay sandbox` process (killed on drop),
//! a brand client for it, and a stock with room for every coupon a bench
//! sends.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use wechatpay_models::CreateStockRequest;
use wechatpay_sandbox::keys::{
    Identity as SandboxIdentity, CLIENT_KEY_FILE, IDENTITY_FILE, WXP_PUB_FILE,
};
use wechatpay_transport::{Client, Identity, RetryPolicy};

/// The seeded single-use product coupon the bench stock goes under.
pub const PRODUCT_COUPON: &str = "1000000013";
/// A user may hold this many coupons of the bench stock (the documented maximum).
pub const PER_USER: usize = 100;

/// The sandbox process; killed when dropped so a failed run leaves nothing behind.
pub struct Sandbox(pub Child);

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Pins every thread of `pid` to `core` with taskset; whether that worked.
pub fn pin(pid: u32, core: &str) -> bool {
    Command::new("taskset")
        .args(["-a", "-cp", core, &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Starts `wechatpay sandbox --rate-limit RATE` (`off` or requests per
/// second) on 127.0.0.1:0; returns it and its base URL.
pub fn start_sandbox(keys: &Path, rate_limit: &str) -> (Sandbox, String) {
    start_sandbox_with(keys, rate_limit, &[])
}

/// [`start_sandbox`] with more flags (`--confirm-after-notify`).
pub fn start_sandbox_with(keys: &Path, rate_limit: &str, extra: &[&str]) -> (Sandbox, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wechatpay"))
        .args([
            "sandbox",
            "--listen",
            "127.0.0.1:0",
            "--quiet",
            "--stop-on-eof",
            "--rate-limit",
            rate_limit,
        ])
        .args(extra)
        .arg("--keys")
        .arg(keys)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the sandbox");
    let stdout = child.stdout.take().expect("sandbox stdout");
    let sandbox = Sandbox(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the sandbox prints its base URL");
    let base_url = line.trim().to_owned();
    assert!(
        base_url.starts_with("http://127.0.0.1:"),
        "unexpected first line {base_url:?}"
    );
    (sandbox, base_url)
}

/// The sandbox's identities (`identity.json` in its key directory).
pub fn identity(keys: &Path) -> SandboxIdentity {
    serde_json::from_slice(&std::fs::read(keys.join(IDENTITY_FILE)).unwrap()).unwrap()
}

/// A client of the sandbox signing as `who`, without retries.
fn client_as(keys: &Path, base_url: &str, who: Identity, id: &SandboxIdentity) -> Client {
    Client::builder(who)
        .base_url(base_url)
        .backup_url(None::<String>)
        .retry(RetryPolicy::none())
        .serial_no(&id.serial_no)
        .private_key_file(keys.join(CLIENT_KEY_FILE))
        .wechatpay_public_key_file(&id.public_key_id, keys.join(WXP_PUB_FILE))
        .build()
        .expect("client")
}

/// A brand client for the sandbox, without retries.
pub fn brand_client(keys: &Path, base_url: &str) -> Client {
    let id = identity(keys);
    client_as(keys, base_url, Identity::brand(&id.brand_id), &id)
}

/// The sandbox's service provider's client, without retries.
pub fn provider_client(keys: &Path, base_url: &str) -> Client {
    let id = identity(keys);
    client_as(keys, base_url, Identity::partner(&id.sp_mchid), &id)
}

/// Calls `operation` with `body` (validated as the CLI does); the reply as JSON.
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

/// Creates a WECHATPAY stock under the seeded product coupon with the largest
/// budget and per-user limit the docs allow; returns its id.
pub async fn create_stock(client: &Client) -> String {
    let request: CreateStockRequest = serde_json::from_value(json!({
        "product_coupon_id": PRODUCT_COUPON,
        "out_request_no": "BENCH_STOCK_1",
        "stock": {
            "coupon_code_mode": "WECHATPAY",
            "stock_send_rule": {"max_count": 100_000_000, "max_count_per_user": PER_USER},
            "usage_rule_display_info": {"coupon_usage_method_list": ["OFFLINE"], "usage_description": "bench"},
            "coupon_display_info": {"code_display_mode": "INVISIBLE"},
            "notify_config": {"notify_appid": "wx233544546545989"},
            "store_scope": "NONE"
        }
    }))
    .unwrap();
    client
        .execute(&request)
        .await
        .expect("create the bench stock")
        .stock_id
}

/// The openid of the `i`-th send: spread so that no user exceeds `PER_USER`.
pub fn openid(i: usize, sends: usize) -> String {
    let users = sends.div_ceil(PER_USER) * 2;
    format!("o-bench-{}", i % users)
}

/// `GET path` of the sandbox's own unsigned endpoints (`/sandbox/stats`), as JSON.
pub fn sandbox_json(base_url: &str, path: &str) -> Value {
    let addr = base_url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).expect("connect to the sandbox");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    serde_json::from_str(reply.split_once("\r\n\r\n").expect("a reply").1).expect("JSON")
}

/// (requests, issued, replayed, rejected) of `operation` in `/sandbox/stats`.
pub fn operation_stats(base_url: &str, operation: &str) -> (u64, u64, u64, u64) {
    let stats = sandbox_json(base_url, "/sandbox/stats");
    let op = &stats["operations"][operation];
    let get = |k: &str| op[k].as_u64().unwrap_or(0);
    (
        get("requests"),
        get("issued"),
        get("replayed"),
        get("rejected"),
    )
}

/// A `/proc/PID/status` field in MiB (`VmRSS`, `VmHWM`).
pub fn status_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc (Linux)");
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("the field");
    kib / 1024.0
}
