//! Bounded memory: the resident set of the `wechatpay sandbox` process after
//! 200,000 `send-user-product-coupon` requests, each issuing a coupon (fresh
//! send_request_no, users spread under the per-user limit, rate limits off,
//! the default temporary state).
//!
//! Run: `cargo bench -p wechatpay-cli --bench rss` (prints `BENCH` lines:
//! VmRSS at start and after every 50,000 sends, VmHWM at the end, and the
//! sandbox's CPU time per send, which a loaded machine does not distort).

mod common;

use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use common::{brand_client, create_stock, openid, start_sandbox, status_mib};
use wechatpay_models::SendUserProductCouponRequest;

/// Sends to make (`RSS_SENDS` overrides it for a quick look; the README figure uses the default).
fn sends() -> usize {
    std::env::var("RSS_SENDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000)
}
const REPORT_EVERY: usize = 50_000;
const CONCURRENCY: usize = 32;

/// CPU seconds (user + system) the process has used, from `/proc/PID/stat`.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc (Linux)");
    // Fields after the command (which is in parentheses): utime and stime are the 12th and 13th.
    let after = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0 // USER_HZ is 100 on Linux
}

fn main() {
    let total = sends();
    let keys = tempfile::tempdir().expect("temp keys dir");
    let (sandbox, base_url) = start_sandbox(keys.path(), "off");
    let pid = sandbox.0.id();
    let client = Rc::new(brand_client(keys.path(), &base_url));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    println!(
        "BENCH sandbox_rss_start {:.1} MiB",
        status_mib(pid, "VmRSS")
    );
    let started = Instant::now();
    let cpu_before = cpu_seconds(pid);
    local.block_on(&runtime, async {
        let stock: Rc<str> = create_stock(&client).await.into();
        let slots = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..total {
            let permit = slots.clone().acquire_owned().await.expect("semaphore open");
            let (client, stock) = (client.clone(), stock.clone());
            tasks.spawn_local(async move {
                let request = SendUserProductCouponRequest::new(
                    openid(i, total),
                    common::PRODUCT_COUPON,
                    &*stock,
                    "wx233544546545989",
                    format!("RSS_SEND_{i}"),
                );
                client
                    .execute(&request)
                    .await
                    .unwrap_or_else(|e| panic!("send {i}: {e}"));
                drop(permit);
            });
            while let Some(done) = tasks.try_join_next() {
                done.expect("send task");
            }
            if (i + 1) % REPORT_EVERY == 0 {
                println!(
                    "BENCH sandbox_rss_after_{} {:.1} MiB ({:.0} s)",
                    i + 1,
                    status_mib(pid, "VmRSS"),
                    started.elapsed().as_secs_f64()
                );
            }
        }
        while let Some(done) = tasks.join_next().await {
            done.expect("send task");
        }
    });
    println!(
        "BENCH sandbox_rss_after_{total}_sends {:.1} MiB",
        status_mib(pid, "VmRSS")
    );
    println!("BENCH sandbox_rss_peak {:.1} MiB", status_mib(pid, "VmHWM"));
    println!(
        "BENCH sandbox_cpu_per_send {:.0} us",
        (cpu_seconds(pid) - cpu_before) / total as f64 * 1e6
    );
    drop(sandbox);
}
