//! End to end: signed and verified `send-user-product-coupon` requests per
//! second from ONE client core against the local sandbox over loopback.
//!
//! The sandbox runs as its own process pinned to core 1 (`taskset`), the client
//! on a current-thread tokio runtime pinned to core 0, with bounded concurrency
//! and connection reuse. Nothing is subtracted: signing, serialization, HTTP,
//! reply verification and decoding all count. Every request carries a fresh
//! send_request_no, so the sandbox issues a coupon for each (no replays), from
//! a stock created for the bench (WECHATPAY codes, users spread under the
//! per-user limit), with the sandbox's rate limits off.
//!
//! Run: `cargo bench -p wechatpay-cli --bench e2e` (prints `BENCH` lines).

mod common;

use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{brand_client, create_stock, openid, pin, start_sandbox};
use wechatpay_models::SendUserProductCouponRequest;
use wechatpay_transport::Client;

const WARMUP: usize = 300;
const REQUESTS: usize = 6_000;
const CONCURRENCY: usize = 32;

fn request(stock: &str, i: usize, run: u64) -> SendUserProductCouponRequest {
    SendUserProductCouponRequest::new(
        openid(i, WARMUP + REQUESTS),
        common::PRODUCT_COUPON,
        stock,
        "wx233544546545989",
        format!("BENCH_{run}_{i}"),
    )
    .attach("bench")
}

async fn run_batch(
    client: Rc<Client>,
    stock: Rc<str>,
    first: usize,
    count: usize,
    run: u64,
) -> Vec<Duration> {
    let semaphore = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    for i in first..first + count {
        let permit = semaphore
            .clone()
            .acquire_owned()
            .await
            .expect("semaphore open");
        let (client, stock) = (client.clone(), stock.clone());
        tasks.spawn_local(async move {
            let started = Instant::now();
            let reply = client.execute(&request(&stock, i, run)).await;
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
    let (sandbox, base_url) = start_sandbox(keys.path(), "off");
    let pinned = pin(sandbox.0.id(), "1") && pin(std::process::id(), "0");
    let client = Rc::new(brand_client(keys.path(), &base_url));
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
        let stock: Rc<str> = create_stock(&client).await.into();
        run_batch(client.clone(), stock.clone(), 0, WARMUP, run).await;
        let started = Instant::now();
        let latencies = run_batch(client.clone(), stock, WARMUP, REQUESTS, run).await;
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
