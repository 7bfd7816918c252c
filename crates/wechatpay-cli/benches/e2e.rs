//! End to end: signed and verified `send-user-product-coupon` requests per
//! second from ONE client core against the local sandbox over loopback.
//!
//! The sandbox runs as its own process pinned to core 1 (`taskset`), the client
//! on a current-thread tokio runtime pinned to core 0, with bounded concurrency
//! and connection reuse. Nothing is subtracted: signing, serialization, HTTP,
//! reply verification and decoding all count. Every request carries a fresh
//! send_request_no, so the sandbox issues a coupon for each (no replays).
//!
//! Run: `cargo bench -p wechatpay-cli --bench e2e` (prints `BENCH` lines).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wechatpay_endpoints::SendUserProductCoupon;
use wechatpay_models::SendUserProductCouponRequest;
use wechatpay_sandbox::keys::{
    Identity as SandboxIdentity, CLIENT_KEY_FILE, IDENTITY_FILE, WXP_PUB_FILE,
};
use wechatpay_transport::{Client, Identity, RetryPolicy};

const WARMUP: usize = 300;
const REQUESTS: usize = 6_000;
const CONCURRENCY: usize = 32;

/// The sandbox process; killed when dropped so a failed run leaves nothing behind.
struct Sandbox(Child);

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn pin(pid: u32, core: &str) -> bool {
    Command::new("taskset")
        .args(["-a", "-cp", core, &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn start_sandbox(keys: &Path) -> (Sandbox, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wechatpay"))
        .args([
            "sandbox",
            "--listen",
            "127.0.0.1:0",
            "--stop-on-eof",
            "--keys",
        ])
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

fn request(i: usize, run: u64) -> SendUserProductCouponRequest {
    SendUserProductCouponRequest::new(
        "oh-394z-6CGkNoJrsDLTTUKiAnp4",
        "1000000013",
        "1000000013001",
        "wx233544546545989",
        format!("BENCH_{run}_{i}"),
    )
    .attach("bench")
}

async fn run_batch(client: Rc<Client>, first: usize, count: usize, run: u64) -> Vec<Duration> {
    let semaphore = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    for i in first..first + count {
        let permit = semaphore
            .clone()
            .acquire_owned()
            .await
            .expect("semaphore open");
        let client = client.clone();
        tasks.spawn_local(async move {
            let started = Instant::now();
            let reply = client
                .execute::<SendUserProductCoupon>(&request(i, run))
                .await;
            drop(permit);
            let reply = reply.unwrap_or_else(|e| panic!("request {i} failed: {e}"));
            assert_eq!(reply.send_request_no, format!("BENCH_{run}_{i}"));
            started.elapsed()
        });
    }
    let mut latencies = Vec::with_capacity(count);
    while let Some(done) = tasks.join_next().await {
        latencies.push(done.expect("request task"));
    }
    latencies
}

fn main() {
    let keys = tempfile::tempdir().expect("temp keys dir");
    let (sandbox, base_url) = start_sandbox(keys.path());
    let pinned = pin(sandbox.0.id(), "1") && pin(std::process::id(), "0");
    let identity: SandboxIdentity =
        serde_json::from_slice(&std::fs::read(keys.path().join(IDENTITY_FILE)).unwrap()).unwrap();
    let client = Client::builder(Identity::brand(&identity.brand_id))
        .base_url(&base_url)
        .backup_url(None::<String>)
        .retry(RetryPolicy::none())
        .serial_no(&identity.serial_no)
        .private_key_file(keys.path().join(CLIENT_KEY_FILE))
        .wechatpay_public_key_file(&identity.public_key_id, keys.path().join(WXP_PUB_FILE))
        .build()
        .expect("client");
    let client = Rc::new(client);
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    let (elapsed, mut latencies) = local.block_on(&runtime, async {
        run_batch(client.clone(), 0, WARMUP, run).await;
        let started = Instant::now();
        let latencies = run_batch(client.clone(), WARMUP, REQUESTS, run).await;
        (started.elapsed(), latencies)
    });
    latencies.sort();
    let percentile =
        |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    if !pinned {
        eprintln!(
            "note: taskset unavailable; client and sandbox were not pinned to separate cores"
        );
    }
    println!(
        "BENCH e2e_requests_per_s {:.0} req/s",
        REQUESTS as f64 / elapsed.as_secs_f64()
    );
    println!(
        "BENCH e2e_p50 {:.2} ms",
        percentile(0.50).as_secs_f64() * 1000.0
    );
    println!(
        "BENCH e2e_p99 {:.2} ms",
        percentile(0.99).as_secs_f64() * 1000.0
    );
    println!("BENCH e2e_concurrency {CONCURRENCY} requests");
    drop(sandbox);
}
