//! `wechatpay notify serve` under load, and beside a campaign.
//!
//! 1. **Crash safety and memory**: the sandbox (a process, rate limits off) issues
//!    10,000 coupons and delivers their 10,000 `PRODUCT_COUPON.SEND` notifications to
//!    `notify serve` (a process on a fixed port), which is SIGKILLed three times at
//!    random points and restarted on the same journal. At the end: every coupon
//!    confirmed exactly once (`/sandbox/stats`), every notification the sandbox saw
//!    acknowledged is in the journal (none dropped, none pending, one journal event
//!    per coupon), and the resident set of the last `notify serve` when it had handled
//!    a quarter of its events against the end (flat: a ratio near 1).
//! 2. **Both confirmers**: a campaign of 2,000 rows while `notify serve` runs, the
//!    sandbox under `--confirm-after-notify` (a confirm is refused until the coupon's
//!    notification was delivered): every coupon confirmed exactly once, whichever side
//!    confirmed it (the other gets a replay of the same number).
//!
//! Run: `cargo bench -p wechatpay-cli --bench notify` (prints `BENCH` lines and a
//! Markdown table; `cargo xtask bench` includes it).

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{
    brand_client, create_stock, openid, operation_stats, sandbox_json, start_sandbox,
    start_sandbox_with, status_mib,
};
use serde_json::Value;
use wechatpay_models::{SendUserProductCouponRequest, SetNotifyConfigRequest};
use wechatpay_sandbox::keys::IDENTITY_FILE;

const COUPONS: usize = 10_000;
const KILLS: usize = 3;
const CAMPAIGN_ROWS: usize = 2_000;
const APPID: &str = "wx233544546545989";
const BIN: &str = env!("CARGO_BIN_EXE_wechatpay");

/// (issued, replayed) of confirm-send-user-product-coupon.
fn confirms(base_url: &str) -> (u64, u64) {
    let (_, issued, replayed, _) = operation_stats(base_url, "confirm-send-user-product-coupon");
    (issued, replayed)
}

/// Events in the journal by confirm status: (total, confirmed).
fn journal_counts(journal: &Path) -> (u64, u64) {
    match wechatpay_notify::Journal::open_read_only(journal).and_then(|j| j.counts()) {
        Ok(c) => (c.total, c.confirmed),
        Err(_) => (0, 0),
    }
}

/// `wechatpay notify serve` on `port` over `journal`, its output discarded.
struct Serve(Child);

impl Serve {
    fn start(keys: &Path, base_url: &str, port: u16, journal: &Path) -> Serve {
        let identity: Value =
            serde_json::from_slice(&std::fs::read(keys.join(IDENTITY_FILE)).unwrap()).unwrap();
        let mut command = Command::new(BIN);
        for (var, _) in std::env::vars() {
            if var.starts_with("WECHATPAY_") || var == "RUST_LOG" {
                command.env_remove(var);
            }
        }
        let mut child = command
            .args(["notify", "serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--journal")
            .arg(journal)
            .arg("--profile")
            .arg(keys.join("profile.toml"))
            .args(["--base-url", base_url])
            .env(
                "WECHATPAY_APIV3_KEY",
                identity["apiv3_key"].as_str().unwrap(),
            )
            .env("WECHATPAY_APPID", APPID)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("notify serve");
        let stdout = child.stdout.take().unwrap();
        let mut reader = BufReader::new(stdout);
        let mut url = String::new();
        reader.read_line(&mut url).expect("the URL line");
        assert!(url.starts_with("http://127.0.0.1:"), "{url:?}");
        // Keep reading so a full pipe never blocks it.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while reader.read_line(&mut sink).is_ok_and(|n| n > 0) {
                sink.clear();
            }
        });
        Serve(child)
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }

    fn kill(mut self) {
        self.0.kill().expect("SIGKILL");
        let _ = self.0.wait();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run_id() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// Waits (at most `secs`) until `done` holds, polling every 200 ms.
fn wait_until(secs: u64, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "{what} within {secs} s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Phase 1: 10,000 notifications, notify serve killed three times.
fn crash_and_memory(root: &Path) -> Vec<String> {
    let keys = root.join("keys-crash");
    let (sandbox, base_url) = start_sandbox(&keys, "off");
    let client = Rc::new(brand_client(&keys, &base_url));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let stock = runtime.block_on(create_stock(&client));
    let port = free_port();
    let journal = root.join("notify.db");
    let mut serve = Serve::start(&keys, &base_url, port, &journal);
    runtime
        .block_on(client.execute(&SetNotifyConfigRequest::new(format!(
            "http://127.0.0.1:{port}/notify"
        ))))
        .expect("set the notify URL");

    // Issue every coupon (32 in flight); the sandbox queues one notification each.
    let run = run_id();
    let sender = {
        let (client, stock) = (client.clone(), stock.clone());
        async move {
            let mut tasks = tokio::task::JoinSet::new();
            let mut next = 0;
            while next < COUPONS || !tasks.is_empty() {
                while next < COUPONS && tasks.len() < 32 {
                    let client = client.clone();
                    let request = SendUserProductCouponRequest::new(
                        openid(next, COUPONS),
                        common::PRODUCT_COUPON,
                        stock.clone(),
                        APPID,
                        format!("NB{run}x{next:06}"),
                    );
                    tasks.spawn_local(async move {
                        client.execute(&request).await.expect("a send");
                    });
                    next += 1;
                }
                tasks.join_next().await;
            }
        }
    };
    let local = tokio::task::LocalSet::new();
    let sending = std::thread::scope(|scope| {
        // Kills run on this thread while the sends run on the runtime.
        let killer = scope.spawn(|| {
            let mut seed = (run as u64) | 1;
            let mut kills = Vec::new();
            for _ in 0..KILLS {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                std::thread::sleep(Duration::from_millis(800 + seed % 2500));
                let before = journal_counts(&journal).0;
                serve.kill();
                kills.push(before);
                serve = Serve::start(&keys, &base_url, port, &journal);
            }
            (serve, kills)
        });
        local.block_on(&runtime, sender);
        killer.join().expect("the killer thread")
    });
    let (serve, kills) = sending;
    eprintln!("notify bench: SIGKILLed with {kills:?} events journaled");

    // The last process: RSS when it has a quarter of the events, and at the end.
    let quarter = (COUPONS as u64) / 4;
    let mut early = None;
    wait_until(300, "every coupon confirmed", || {
        let (total, confirmed) = journal_counts(&journal);
        if early.is_none() && total >= quarter {
            early = Some((total, status_mib(serve.pid(), "VmRSS")));
        }
        confirmed >= COUPONS as u64 && confirms(&base_url).0 >= COUPONS as u64
    });
    let end_rss = status_mib(serve.pid(), "VmRSS");
    let hwm = status_mib(serve.pid(), "VmHWM");
    let (early_events, early_rss) = early.unwrap_or((0, end_rss));
    let (total, confirmed) = journal_counts(&journal);
    let (issued, replayed) = confirms(&base_url);
    let outbox = sandbox_json(&base_url, "/sandbox/notifications");
    drop(serve);
    drop(sandbox);
    assert_eq!(total, COUPONS as u64, "one journal event per notification");
    assert_eq!(confirmed, COUPONS as u64);
    assert_eq!(issued, COUPONS as u64, "each coupon confirmed exactly once");
    assert_eq!(outbox["dropped"], 0, "{outbox}");
    assert_eq!(outbox["pending"], 0, "{outbox}");
    let ratio = end_rss / early_rss;
    vec![
        format!("BENCH notify_events {total} events"),
        format!("BENCH notify_confirmed {issued} coupons"),
        format!("BENCH notify_confirm_replayed {replayed} requests"),
        format!("BENCH notify_rss_early {early_rss:.1} MiB"),
        format!("BENCH notify_rss_end {end_rss:.1} MiB"),
        format!("BENCH notify_rss_ratio {ratio:.2} x"),
        format!("BENCH notify_rss_hwm {hwm:.1} MiB"),
        format!(
            "| 10,000 PRODUCT_COUPON.SEND delivered by the sandbox, notify serve SIGKILLed ×{KILLS} (journal held {kills:?} events at each kill) and restarted | {total} events journaled, {issued} coupons confirmed ({replayed} replays), 0 dropped, 0 pending | 10,000 each, none twice |"
        ),
        format!(
            "| resident set of the last notify serve: at {early_events} events → at the end | {early_rss:.1} → {end_rss:.1} MiB = {ratio:.2}× (peak {hwm:.1} MiB) | flat |"
        ),
    ]
}

/// Phase 2: a campaign and notify serve together, the sandbox strict.
fn both_confirmers(root: &Path) -> Vec<String> {
    let keys = root.join("keys-strict");
    let (sandbox, base_url) = start_sandbox_with(&keys, "500", &["--confirm-after-notify"]);
    let client = brand_client(&keys, &base_url);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let stock = runtime.block_on(create_stock(&client));
    let port = free_port();
    let journal = root.join("notify-strict.db");
    let serve = Serve::start(&keys, &base_url, port, &journal);
    runtime
        .block_on(client.execute(&SetNotifyConfigRequest::new(format!(
            "http://127.0.0.1:{port}/notify"
        ))))
        .expect("set the notify URL");
    let dir = root.join("strict-campaign");
    std::fs::create_dir_all(&dir).unwrap();
    let run = run_id();
    let mut csv = String::from("openid\n");
    for i in 0..CAMPAIGN_ROWS {
        csv.push_str(&format!("oStrict{run}x{i:05}\n"));
    }
    std::fs::write(dir.join("users.csv"), csv).unwrap();
    let template = serde_json::json!({
        "product_coupon_id": common::PRODUCT_COUPON, "stock_id": stock, "appid": APPID,
    });
    std::fs::write(dir.join("template.json"), template.to_string()).unwrap();
    let started = Instant::now();
    let output = Command::new(BIN)
        .args(["campaign", "send", "send-user-product-coupon", "--input"])
        .arg(dir.join("users.csv"))
        .arg("--body")
        .arg(format!("@{}", dir.join("template.json").display()))
        .arg("--journal")
        .arg(dir.join("campaign.db"))
        .arg("--profile")
        .arg(keys.join("profile.toml"))
        .args(["--base-url", &base_url])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .expect("campaign send");
    assert!(output.status.success(), "campaign send: {output:?}");
    let campaign_secs = started.elapsed().as_secs_f64();
    let summary: Value = serde_json::from_slice(&output.stdout).expect("the summary line");
    assert_eq!(summary["succeeded"], CAMPAIGN_ROWS as u64, "{summary}");
    wait_until(120, "notify serve to settle every event", || {
        journal_counts(&journal).1 >= CAMPAIGN_ROWS as u64
    });
    let (issued, replayed) = confirms(&base_url);
    drop(serve);
    drop(sandbox);
    assert_eq!(
        issued, CAMPAIGN_ROWS as u64,
        "each coupon confirmed exactly once"
    );
    vec![
        format!("BENCH notify_strict_confirmed {issued} coupons"),
        format!("BENCH notify_strict_replayed {replayed} requests"),
        format!("BENCH notify_strict_campaign_secs {campaign_secs:.1} s"),
        format!(
            "| campaign of {CAMPAIGN_ROWS} rows with notify serve running, sandbox --confirm-after-notify | {issued} coupons confirmed, {replayed} confirms answered as replays (the other side's), campaign done in {campaign_secs:.1} s | every coupon exactly once |"
        ),
    ]
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root: PathBuf = dir.path().to_owned();
    let (bench, table): (Vec<String>, Vec<String>) = crash_and_memory(&root)
        .into_iter()
        .chain(both_confirmers(&root))
        .filter(|l| !l.is_empty())
        .partition(|l| l.starts_with("BENCH"));
    for line in bench {
        println!("{line}");
    }
    println!();
    println!("| notify measurement | value | target |");
    println!("|---|---|---|");
    for line in table
        .iter()
        .filter(|l| !l.starts_with("| notify measurement") && !l.starts_with("|---"))
    {
        println!("{line}");
    }
}
