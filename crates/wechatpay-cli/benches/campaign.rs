//! Campaign benchmark: the real `wechatpay campaign send` against a sandbox process.
//!
//! 1. **Rate**: 10,000 send-user-product-coupon rows at the default rate (the
//!    documented 500/s), each coupon then confirmed (confirm-send-user-product-coupon
//!    at its own documented 500/s): the send rate (sends answered between the
//!    first and the last, from the journal) against the limit, the share of
//!    requests answered 429, and the whole campaign's time (first send to the
//!    last confirm) against a reference run of the same size in the same process
//!    that stops after the sends (`--no-confirm`). The sandbox runs with
//!    `--rate-limit 500` per operation, so the 429s are the server's.
//! 2. **CPU per request**: the CLI process's user+system CPU time (getrusage of
//!    the child, journal creation and every thread included) divided by the
//!    requests it sent (sends and confirms), against one RSA-2048 signature
//!    measured in this run on the same core; and, as a reference, this process's
//!    CPU per plain transport send (typed request, no campaign) paced at 500/s.
//! 3. **Crash safety**: another 10,000 rows, the CLI killed with SIGKILL five
//!    times at random points (some land between a row's send and its confirm),
//!    then resumed to the end: the sandbox's stats must show exactly 10,000
//!    issued and 10,000 confirmed (none twice, none lost, none left CONFIRMING).
//!
//! The sandbox runs on core 1 (`taskset`); this process (the signature and plain
//! transport references) on core 0, as in the e2e bench; `campaign send` may use
//! both cores (see `spawn_client`). Run: `cargo bench -p wechatpay-cli --bench campaign`
//! (prints `BENCH` lines and a Markdown table; `cargo xtask bench` includes it).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// The bench stock (a WECHATPAY stock with room for every send) and a client for it.
mod common;

use common::{pin, start_sandbox};
use wechatpay_sandbox::keys::{CLIENT_KEY_FILE, IDENTITY_FILE};

const ROWS: usize = 10_000;
/// The same flow at a rate whose sends and confirms fit one client core here, so
/// that what is measured is the campaign's pacing rather than the CPU's ceiling.
const HEADROOM_RATE: &str = "250";
const HEADROOM_ROWS: usize = 5_000;
const LIMIT: f64 = 500.0;
const KILLS: usize = 5;
const BIN: &str = env!("CARGO_BIN_EXE_wechatpay");

/// (requests, issued, replayed, rejected) of send-user-product-coupon.
fn stats(base_url: &str) -> (u64, u64, u64, u64) {
    stats_of(base_url, "send-user-product-coupon")
}

use common::operation_stats as stats_of;

/// User + system CPU seconds of this process's reaped children so far.
fn children_cpu() -> f64 {
    // SAFETY: getrusage writes into the zeroed struct we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    assert_eq!(rc, 0, "getrusage");
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// User + system CPU seconds of this process so far.
fn self_cpu() -> f64 {
    // SAFETY: getrusage writes into the zeroed struct we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(rc, 0, "getrusage");
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// Microseconds of this process's CPU per request for `n` plain transport
/// sends (typed request, sign, send, verify, decode) paced at 500/s: the
/// reference for what the campaign adds.
fn plain_transport_us(keys: &Path, base_url: &str, stock: &str, n: usize) -> f64 {
    use wechatpay_models::SendUserProductCouponRequest;
    use wechatpay_transport::{Client, Identity, RetryPolicy};

    let identity: Value =
        serde_json::from_slice(&std::fs::read(keys.join(IDENTITY_FILE)).unwrap()).unwrap();
    let text = |k: &str| identity[k].as_str().unwrap().to_owned();
    let client = Client::builder(Identity::brand(text("brand_id")))
        .base_url(base_url)
        .backup_url(None::<String>)
        .retry(RetryPolicy::none())
        .serial_no(text("serial_no"))
        .private_key_file(keys.join(CLIENT_KEY_FILE))
        .wechatpay_public_key_file(text("public_key_id"), keys.join("wxp_pub.pem"))
        .build()
        .expect("client");
    let run = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let start = self_cpu();
    runtime.block_on(async {
        let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / LIMIT));
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..n {
            tick.tick().await;
            let client = client.clone();
            let stock = stock.to_owned();
            tasks.spawn(async move {
                let request = SendUserProductCouponRequest::new(
                    format!("oPlain{i:06}"),
                    "1000000013",
                    stock,
                    "wx233544546545989",
                    format!("PLAIN{run}x{i:06}"),
                );
                client.execute(&request).await.expect("a plain send");
            });
        }
        while tasks.join_next().await.is_some() {}
    });
    (self_cpu() - start) / n as f64 * 1e6
}

/// CPU seconds of the calling thread.
fn thread_cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the struct we own.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// Microseconds of CPU per RSA-2048 (SHA-256, PKCS#1 v1.5) signature over a
/// message the size of a send request's, with the default backend: in a
/// tight loop (the reference of the target), and paced at 500/s.
fn sign_cost_us(key: &Path) -> (f64, f64) {
    let signer = wechatpay_transport::crypto::signer_from_pem(std::fs::read(key).unwrap())
        .expect("the client key");
    let message = format!(
        "POST\n/brand/marketing/product-coupon/users/oUser0000001/coupons\n1700000000\n{}\n{}\n",
        "N".repeat(32),
        r#"{"product_coupon_id":"1000000013","stock_id":"1000000013001","appid":"wx233544546545989","send_request_no":"AbCdEfGhIjKlMn0000000001"}"#
    );
    for _ in 0..200 {
        signer.sign(message.as_bytes()).unwrap();
    }
    let n = 3000;
    let start = thread_cpu();
    for _ in 0..n {
        signer.sign(message.as_bytes()).unwrap();
    }
    let hot = (thread_cpu() - start) / n as f64 * 1e6;
    // The same signature once every 2 ms, as a paced send makes it: caches
    // and branch predictors are cold again each time.
    let n = 1000;
    let mut paced = 0.0;
    for _ in 0..n {
        std::thread::sleep(Duration::from_secs_f64(1.0 / LIMIT));
        let start = thread_cpu();
        signer.sign(message.as_bytes()).unwrap();
        paced += thread_cpu() - start;
    }
    (hot, paced / n as f64 * 1e6)
}

struct Campaign {
    dir: PathBuf,
    keys: PathBuf,
    base_url: String,
}

impl Campaign {
    fn new(root: &Path, name: &str, keys: &Path, base_url: &str, stock: &str) -> Campaign {
        Campaign::with_rows(root, name, keys, base_url, stock, ROWS)
    }

    fn with_rows(
        root: &Path,
        name: &str,
        keys: &Path,
        base_url: &str,
        stock: &str,
        rows: usize,
    ) -> Campaign {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let run = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let mut csv = String::from("openid\n");
        for i in 0..rows {
            csv.push_str(&format!("oBench{name}{run}x{i:06}\n"));
        }
        std::fs::write(dir.join("users.csv"), csv).unwrap();
        let template = serde_json::json!({
            "product_coupon_id": common::PRODUCT_COUPON,
            "stock_id": stock,
            "appid": "wx233544546545989",
        });
        std::fs::write(dir.join("template.json"), template.to_string()).unwrap();
        Campaign {
            dir,
            keys: keys.to_owned(),
            base_url: base_url.to_owned(),
        }
    }

    fn journal(&self) -> PathBuf {
        self.dir.join("campaign.db")
    }

    fn command(&self) -> Command {
        self.command_with(&[])
    }

    fn command_with(&self, extra: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        for (var, _) in std::env::vars() {
            if var.starts_with("WECHATPAY_") || var == "RUST_LOG" {
                command.env_remove(var);
            }
        }
        command
            .args(["campaign", "send", "send-user-product-coupon", "--input"])
            .arg(self.dir.join("users.csv"))
            .arg("--body")
            .arg(format!("@{}", self.dir.join("template.json").display()))
            .arg("--journal")
            .arg(self.journal())
            .arg("--profile")
            .arg(self.keys.join("profile.toml"))
            .args(["--base-url", &self.base_url])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        command
    }

    /// Runs `campaign send` to the end (at most 10 minutes); returns its summary line.
    fn run_to_end(&self) -> Value {
        self.run_to_end_with(&[])
    }

    fn run_to_end_with(&self, extra: &[&str]) -> Value {
        let mut child = spawn_client(self.command_with(extra));
        let deadline = Instant::now() + Duration::from_secs(600);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "campaign send took over 10 minutes"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert!(status.success(), "campaign send failed ({status}): {out}");
        serde_json::from_str(out.trim()).expect("the summary line")
    }
}

/// Starts `campaign send` with both cores (its runtime has a worker per core): with
/// the confirms it signs twice as many requests as it sends, more than one core of
/// this machine signs at 500 sends/s. The sandbox stays pinned to core 1.
fn spawn_client(mut command: Command) -> std::process::Child {
    let child = command.spawn().expect("campaign send");
    pin(child.id(), "0,1");
    child
}

/// Seconds from a run's first send to its end.
fn run_secs(run: &wechatpay_campaign::RunRecord) -> f64 {
    let start = run.first_send_at.expect("a send");
    let end = run.ended_at.expect("a clean end");
    (end - start) as f64 / 1000.0
}

fn main() {
    let root = tempfile::tempdir().expect("temp dir");
    let keys = root.path().join("keys");
    // The sandbox enforces the documented per-brand limit: a 429 is the server's verdict.
    let (sandbox, base_url) = start_sandbox(&keys, "500");
    let pinned = pin(sandbox.0.id(), "1") && pin(std::process::id(), "0");
    let (sign_us, paced_sign_us) = sign_cost_us(&keys.join(CLIENT_KEY_FILE));
    // The seeded stocks are UPLOAD stocks without codes: the bench sends from a stock of its own.
    let stock = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(common::create_stock(&common::brand_client(
            &keys, &base_url,
        )));
    let plain_us = plain_transport_us(&keys, &base_url, &stock, 3000);

    // The reference: the same campaign stopping after the sends.
    let sends_only = Campaign::new(root.path(), "sends", &keys, &base_url, &stock);
    let reference = sends_only.run_to_end_with(&["--no-confirm"]);
    assert_eq!(reference["sent"].as_u64(), Some(ROWS as u64), "{reference}");
    let reference_run = wechatpay_campaign::status(&sends_only.journal())
        .expect("the journal")
        .runs
        .pop()
        .expect("one run");
    let sends_secs = run_secs(&reference_run);

    // The same at a rate with CPU headroom: sends alone, then sends and confirms.
    let headroom = |name: &str, extra: &[&str]| {
        let campaign =
            Campaign::with_rows(root.path(), name, &keys, &base_url, &stock, HEADROOM_ROWS);
        let summary = campaign.run_to_end_with(extra);
        assert_eq!(
            summary["sent"].as_u64(),
            Some(HEADROOM_ROWS as u64),
            "{summary}"
        );
        let run = wechatpay_campaign::status(&campaign.journal())
            .expect("the journal")
            .runs
            .pop()
            .expect("one run");
        (run.send_rate().expect("a rate"), run_secs(&run))
    };
    let (_, headroom_sends_secs) = headroom("h-sends", &["--rate", HEADROOM_RATE, "--no-confirm"]);
    let (headroom_rate, headroom_whole_secs) = headroom("h-both", &["--rate", HEADROOM_RATE]);
    let headroom_limit: f64 = HEADROOM_RATE.parse().unwrap();

    // 1 and 2: rate, 429 share, time with the confirms and CPU per request.
    let campaign = Campaign::new(root.path(), "rate", &keys, &base_url, &stock);
    let before = stats(&base_url);
    let confirms_before = stats_of(&base_url, "confirm-send-user-product-coupon");
    let cpu_before = children_cpu();
    let summary = campaign.run_to_end();
    let cpu = children_cpu() - cpu_before;
    let after = stats(&base_url);
    let confirms_after = stats_of(&base_url, "confirm-send-user-product-coupon");
    let status = wechatpay_campaign::status(&campaign.journal()).expect("the journal");
    let run = status.runs.last().expect("one run");
    let achieved = run.send_rate().expect("a rate");
    let whole_secs = run_secs(run);
    let requests = summary["requests"].as_u64().unwrap();
    let throttled = summary["throttled"].as_u64().unwrap();
    assert_eq!(
        summary["succeeded"].as_u64(),
        Some(ROWS as u64),
        "{summary}"
    );
    assert_eq!(after.1 - before.1, ROWS as u64, "one coupon per row");
    let confirmed = confirms_after.1 - confirms_before.1;
    assert_eq!(confirmed, ROWS as u64, "every coupon confirmed once");
    assert_eq!(status.counts.confirming, 0, "none left CONFIRMING");
    let cpu_per_send_us = cpu / requests as f64 * 1e6;

    // 3: SIGKILL five times at random points, then resume to the end.
    let crash = Campaign::new(root.path(), "crash", &keys, &base_url, &stock);
    let before = stats(&base_url);
    let confirms_before = stats_of(&base_url, "confirm-send-user-product-coupon");
    let mut seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
        | 1;
    eprintln!("campaign bench: kill seed {seed}");
    let mut kills = Vec::new();
    for _ in 0..KILLS {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        // 0.5–3.5 s into each run: five runs cover most of the 20 s campaign.
        let after = Duration::from_millis(500 + seed % 3000);
        let mut child = spawn_client(crash.command());
        std::thread::sleep(after);
        child.kill().expect("SIGKILL");
        child.wait().unwrap();
        let issued = stats(&base_url).1 - before.1;
        eprintln!("campaign bench: SIGKILL after {after:?}, {issued} issued so far");
        kills.push(issued);
    }
    let final_summary = crash.run_to_end();
    let crashed = stats(&base_url);
    let crash_issued = crashed.1 - before.1;
    let crash_replayed = crashed.2 - before.2;
    let confirms = stats_of(&base_url, "confirm-send-user-product-coupon");
    let crash_confirmed = confirms.1 - confirms_before.1;
    let crash_confirm_replayed = confirms.2 - confirms_before.2;
    assert_eq!(
        final_summary["succeeded"].as_u64(),
        Some(ROWS as u64),
        "{final_summary}"
    );
    assert_eq!(crash_issued, ROWS as u64, "exactly one coupon per row");
    assert_eq!(
        crash_confirmed, ROWS as u64,
        "exactly one confirm per coupon"
    );
    drop(sandbox);

    if !pinned {
        eprintln!(
            "note: taskset unavailable; client and sandbox were not pinned to separate cores"
        );
    }
    let share = throttled as f64 / requests as f64 * 100.0;
    let time_ratio = whole_secs / sends_secs;
    println!("BENCH campaign_achieved_rate {achieved:.1} req/s");
    println!("BENCH campaign_rate_ratio {:.3} x", achieved / LIMIT);
    println!("BENCH campaign_sends_only_secs {sends_secs:.2} s");
    println!("BENCH campaign_with_confirms_secs {whole_secs:.2} s");
    println!("BENCH campaign_confirm_time_ratio {time_ratio:.3} x");
    println!("BENCH campaign_confirmed {confirmed} coupons");
    let headroom_ratio = headroom_whole_secs / headroom_sends_secs;
    println!(
        "BENCH campaign_headroom_rate_ratio {:.3} x",
        headroom_rate / headroom_limit
    );
    println!("BENCH campaign_headroom_time_ratio {headroom_ratio:.3} x");
    println!(
        "BENCH campaign_cpu_ceiling_sends {:.0} req/s",
        1e6 / cpu_per_send_us / 2.0
    );
    println!("BENCH campaign_429_share {share:.2} %");
    println!("BENCH campaign_cpu_per_send {cpu_per_send_us:.0} µs");
    println!("BENCH campaign_sign_cost {sign_us:.0} µs");
    println!(
        "BENCH campaign_cpu_ratio {:.2} x",
        cpu_per_send_us / sign_us
    );
    println!("BENCH campaign_sign_cost_paced {paced_sign_us:.0} µs");
    println!("BENCH campaign_plain_transport_cpu {plain_us:.0} µs");
    println!(
        "BENCH campaign_plain_transport_ratio {:.2} x",
        plain_us / sign_us
    );
    println!("BENCH campaign_crash_issued {crash_issued} coupons");
    println!("BENCH campaign_crash_replayed {crash_replayed} requests");
    println!("BENCH campaign_crash_confirmed {crash_confirmed} coupons");
    println!();
    println!("| campaign measurement | value | target |");
    println!("|---|---|---|");
    println!(
        "| send rate, 10,000 sends at the documented 500/s, each then confirmed | {achieved:.1}/s = {:.3}× | ≥ 0.97× |",
        achieved / LIMIT
    );
    println!(
        "| whole campaign, confirms included / the same sends with --no-confirm (same process) | {whole_secs:.2} s / {sends_secs:.2} s = {time_ratio:.3}× | ≤ 1.1× |"
    );
    println!("| coupons confirmed / left CONFIRMING | {confirmed} / 0 | 10,000 / 0 |");
    println!(
        "| the client core's ceiling for send + confirm pairs: 1 / (2 × CPU per request) | {:.0} sends/s | |",
        1e6 / cpu_per_send_us / 2.0
    );
    println!(
        "| with CPU headroom: 5,000 sends at --rate 250, each then confirmed: send rate / rate | {headroom_rate:.1}/s = {:.3}× | ≥ 0.97× |",
        headroom_rate / headroom_limit
    );
    println!(
        "| with CPU headroom: whole campaign / the same sends with --no-confirm | {headroom_whole_secs:.2} s / {headroom_sends_secs:.2} s = {headroom_ratio:.3}× | ≤ 1.1× |"
    );
    println!(
        "| answered 429 by the sandbox at --rate-limit 500 | {throttled} of {requests} ({share:.2} %) | < 1 % |"
    );
    println!(
        "| client CPU per request (sends and confirms) | {cpu_per_send_us:.0} µs = {:.2}× one RSA-2048 signature ({sign_us:.0} µs) | ≤ 1.2× |",
        cpu_per_send_us / sign_us
    );
    println!(
        "| reference: plain transport send at 500/s (typed, no campaign) | {plain_us:.0} µs = {:.2}× one signature | |",
        plain_us / sign_us
    );
    println!(
        "| reference: one signature every 2 ms (paced, cold caches) | {paced_sign_us:.0} µs = {:.2}× one signature in a loop | |",
        paced_sign_us / sign_us
    );
    println!(
        "| SIGKILL ×{KILLS} at random points (issued after each: {kills:?}), then resume | {crash_issued} issued ({crash_replayed} replayed), {crash_confirmed} confirmed ({crash_confirm_replayed} replayed) | exactly 10,000 each |"
    );
}
