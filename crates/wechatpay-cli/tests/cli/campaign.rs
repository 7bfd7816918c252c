//! `wechatpay campaign` end to end: the real binary against an in-process
//! sandbox on 127.0.0.1. Crash safety is tested by killing the process
//! (SIGKILL) at random points and resuming, then counting the coupons the
//! sandbox issued; Ctrl-C (SIGINT) stops cleanly with exit 11 and the resume
//! command; exit 10, refusals and invalid rows send nothing they should not.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{cli, http, keys_dir, outcome, BIN, ENV_VARS};
use serde_json::Value;
use wechatpay_sandbox::{Options, Sandbox};

const TEMPLATE: &str =
    r#"{"product_coupon_id":"1000000013","stock_id":"1000000013001","appid":"wx233544546545989"}"#;

struct Setup {
    sandbox: Sandbox,
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(fault: Option<&str>) -> Setup {
        let mut options = Options::new(keys_dir("campaign"));
        options.fault = fault.map(str::to_owned);
        Setup {
            sandbox: Sandbox::start(options).expect("sandbox"),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `users.csv` with `rows` users and `template.json`.
    fn files(&self, prefix: &str, rows: usize) {
        let mut csv = String::from("openid\n");
        for i in 0..rows {
            csv.push_str(&format!("{prefix}{i:05}\n"));
        }
        std::fs::write(self.path("users.csv"), csv).unwrap();
        std::fs::write(self.path("template.json"), TEMPLATE).unwrap();
    }

    /// `campaign send send-user-product-coupon …` arguments.
    fn send_args(&self, rate: &str) -> Vec<String> {
        let keys = self.sandbox.keys().dir.clone();
        [
            "campaign",
            "send",
            "send-user-product-coupon",
            "--input",
            &self.path("users.csv").display().to_string(),
            "--body",
            &format!("@{}", self.path("template.json").display()),
            "--journal",
            &self.path("campaign.db").display().to_string(),
            "--rate",
            rate,
            "--profile",
            &keys.join("profile.toml").display().to_string(),
            "--base-url",
            self.sandbox.base_url(),
        ]
        .map(String::from)
        .to_vec()
    }

    fn journal_args(&self, command: &str) -> Vec<String> {
        vec![
            "campaign".into(),
            command.into(),
            "--journal".into(),
            self.path("campaign.db").display().to_string(),
        ]
    }

    /// (requests, issued, replayed) of send-user-product-coupon.
    fn stats(&self) -> (u64, u64, u64) {
        self.stats_of("send-user-product-coupon")
    }

    /// (requests, issued, replayed) of `operation`.
    fn stats_of(&self, operation: &str) -> (u64, u64, u64) {
        let addr = self
            .sandbox
            .base_url()
            .trim_start_matches("http://")
            .parse()
            .unwrap();
        let reply = http(addr, "GET", "/sandbox/stats", &[], b"").expect("stats");
        let stats: Value = serde_json::from_slice(&reply.body).unwrap();
        let op = &stats["operations"][operation];
        let get = |k: &str| op[k].as_u64().unwrap_or(0);
        (get("requests"), get("issued"), get("replayed"))
    }

    /// Starts `campaign send` in the background.
    fn spawn(&self, rate: &str) -> std::process::Child {
        let mut command = Command::new(BIN);
        for var in ENV_VARS {
            command.env_remove(var);
        }
        command
            .args(self.send_args(rate))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn campaign send")
    }

    /// Runs the CLI with standard output to a file (a report can be larger
    /// than a pipe holds), within 60 s.
    fn run_to_file(&self, args: &[String]) -> (i32, String, String) {
        let out_path = self.path("stdout.txt");
        let err_path = self.path("stderr.txt");
        let mut command = Command::new(BIN);
        for var in ENV_VARS {
            command.env_remove(var);
        }
        let mut child = command
            .args(args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out_path).unwrap())
            .stderr(std::fs::File::create(&err_path).unwrap())
            .spawn()
            .expect("spawn the CLI");
        let status = wait_bounded(&mut child, 60);
        (
            status.code().unwrap_or(-1),
            std::fs::read_to_string(out_path).unwrap(),
            std::fs::read_to_string(err_path).unwrap(),
        )
    }

    fn report(&self) -> Vec<Value> {
        let args = [
            self.journal_args("report"),
            vec!["--format".into(), "json".into()],
        ]
        .concat();
        let (code, stdout, stderr) = self.run_to_file(&args);
        assert_eq!(code, 0, "{stderr}");
        serde_json::from_str(&stdout).unwrap()
    }
}

/// A small xorshift generator: the seed is printed, so a failing order of kills can be replayed.
struct Rng(u64);

impl Rng {
    fn seeded() -> Rng {
        let seed = std::env::var("CAMPAIGN_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .subsec_nanos() as u64
                    | 1
            });
        eprintln!("crash test seed: CAMPAIGN_CRASH_SEED={seed}");
        Rng(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn wait_bounded(child: &mut std::process::Child, secs: u64) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("campaign send did not finish in {secs} s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn killed_at_random_points_and_resumed_every_row_is_issued_exactly_once() {
    const ROWS: usize = 300;
    let setup = Setup::new(None);
    setup.files("oCrash", ROWS);
    let mut rng = Rng::seeded();
    for round in 1..=2 {
        let mut child = setup.spawn("300");
        // Anywhere from journal creation to the middle of sending (a full run takes 1 s),
        // so also between a row's send and its confirm.
        let after = Duration::from_millis(50 + rng.below(450));
        std::thread::sleep(after);
        child.kill().unwrap(); // SIGKILL: no cleanup of any kind
        let status = child.wait().unwrap();
        eprintln!(
            "round {round}: SIGKILL after {after:?} ({status}); sandbox {:?}",
            setup.stats()
        );
    }
    let (code, stdout, stderr) = outcome(&cli(&setup.send_args("400"), &[]));
    assert_eq!(code, 0, "{stderr}");
    let summary: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(summary["succeeded"], ROWS as u64, "{summary}");
    assert_eq!(summary["pending"], 0);

    let (requests, issued, replayed) = setup.stats();
    assert_eq!(
        issued, ROWS as u64,
        "every row issued exactly once: none twice, none lost"
    );
    assert_eq!(requests, issued + replayed);
    let (requests, confirmed, replayed) = setup.stats_of("confirm-send-user-product-coupon");
    assert_eq!(
        confirmed, ROWS as u64,
        "every coupon confirmed exactly once: none twice, none left CONFIRMING"
    );
    assert_eq!(requests, confirmed + replayed);

    let rows = setup.report();
    assert_eq!(rows.len(), ROWS);
    let mut numbers = std::collections::HashSet::new();
    for row in &rows {
        assert_eq!(row["status"], "succeeded", "{row}");
        assert_eq!(row["result"]["send_request_no"], row["request_no"]);
        assert_ne!(row["result"]["coupon_state"], "CONFIRMING", "{row}");
        assert!(numbers.insert(row["request_no"].as_str().unwrap().to_owned()));
    }
    let (code, status, _) = outcome(&cli(&setup.journal_args("status"), &[]));
    assert_eq!(code, 0);
    assert!(
        status.contains(&format!("succeeded:  {ROWS}\n")),
        "{status}"
    );
    assert!(status.contains("state:      done"), "{status}");
}

/// `campaign send partner-send-user-product-coupon` over `brands.csv`, signed as the provider.
fn partner_send_args(setup: &Setup) -> Vec<String> {
    let mut args = setup.send_args("150");
    args[2] = "partner-send-user-product-coupon".into();
    args[4] = setup.path("brands.csv").display().to_string();
    args.extend([
        "--mchid".to_owned(),
        setup.sandbox.keys().identity.sp_mchid.clone(),
    ]);
    args
}

/// `wechatpay call` as the service provider; the reply as JSON.
fn partner_call(setup: &Setup, operation: &str, body: &Value) -> Value {
    let keys = setup.sandbox.keys().dir.clone();
    let args = [
        "call",
        operation,
        "--body",
        &body.to_string(),
        "--profile",
        &keys.join("profile.toml").display().to_string(),
        "--mchid",
        &setup.sandbox.keys().identity.sp_mchid,
        "--base-url",
        setup.sandbox.base_url(),
    ];
    let (code, stdout, stderr) = outcome(&cli(&args, &[]));
    assert_eq!(code, 0, "{operation}: {stderr}");
    serde_json::from_str(&stdout).unwrap()
}

/// Writes `brands.csv`: `rows` users for each authorised brand, interleaved, each
/// brand with a product coupon and stock the provider created for it.
/// The input of `rows` rows per authorised brand, and after every tenth row of the first
/// brand a row of the brand that did not authorise the provider (its ids: the first brand's).
/// Returns the authorised brands.
fn partner_files(setup: &Setup, rows: usize) -> Vec<String> {
    let brands = setup.sandbox.keys().identity.authorized_brand_ids.clone();
    partner_call(
        setup,
        "partner-set-notify-config",
        &serde_json::json!({"notify_url": "http://127.0.0.1:9/notify"}),
    );
    let example = wechatpay_endpoints::find("partner-create-product-coupon")
        .unwrap()
        .request_examples[0]
        .body;
    let mut stocks = Vec::new();
    for brand in &brands {
        let mut coupon: Value = serde_json::from_str(example).unwrap();
        coupon["brand_id"] = brand.as_str().into();
        coupon["out_request_no"] = format!("PC_{brand}").into();
        coupon["stock"] = serde_json::json!({
            "remark": "crash",
            "coupon_code_mode": "WECHATPAY",
            "stock_send_rule": {"max_count": 100_000_000, "max_count_per_user": 10},
            "usage_rule_display_info": {"coupon_usage_method_list": ["OFFLINE"], "usage_description": "crash"},
            "coupon_display_info": {"code_display_mode": "INVISIBLE"},
            "notify_config": {"notify_appid": "wx233544546545989"},
            "store_scope": "NONE"
        });
        let created = partner_call(setup, "partner-create-product-coupon", &coupon);
        stocks.push((
            brand.clone(),
            created["product_coupon_id"].as_str().unwrap().to_owned(),
            created["stock"]["stock_id"].as_str().unwrap().to_owned(),
        ));
    }
    let stranger = &setup.sandbox.keys().identity.unauthorized_brand_ids[0];
    let mut csv = String::from("brand_id,openid,product_coupon_id,stock_id\n");
    for i in 0..rows {
        for (brand, coupon, stock) in &stocks {
            csv.push_str(&format!("{brand},oCrash{brand}x{i:04},{coupon},{stock}\n"));
        }
        if i % 10 == 9 {
            let (_, coupon, stock) = &stocks[0];
            csv.push_str(&format!(
                "{stranger},oCrash{stranger}x{i:04},{coupon},{stock}\n"
            ));
        }
    }
    std::fs::write(setup.path("brands.csv"), csv).unwrap();
    std::fs::write(
        setup.path("template.json"),
        r#"{"appid":"wx233544546545989"}"#,
    )
    .unwrap();
    brands
}

#[test]
fn a_provider_campaign_over_several_brands_killed_and_resumed_issues_each_row_once() {
    const PER_BRAND: usize = 100;
    let setup = Setup::new(None);
    let brands = partner_files(&setup, PER_BRAND);
    let rows = PER_BRAND * brands.len();
    let args = partner_send_args(&setup);
    let mut rng = Rng::seeded();
    for round in 1..=2 {
        let mut command = Command::new(BIN);
        for var in ENV_VARS {
            command.env_remove(var);
        }
        let mut child = command
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // A full run takes under a second at 150/s per brand.
        let after = Duration::from_millis(50 + rng.below(450));
        std::thread::sleep(after);
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        eprintln!(
            "round {round}: SIGKILL after {after:?} ({status}); sandbox {:?}",
            setup.stats_of("partner-send-user-product-coupon")
        );
    }
    // Exit 10: done, the unauthorised brand's rows failed for good; the others succeeded.
    let (code, stdout, stderr) = outcome(&cli(&args, &[]));
    assert_eq!(code, 10, "{stderr}");
    assert!(
        stderr.contains("campaign: sending at 150/s per brand, "),
        "{stderr}"
    );
    let summary: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(summary["succeeded"], rows as u64, "{summary}");
    for brand in &brands {
        assert_eq!(
            summary["brands"][brand]["succeeded"], PER_BRAND as u64,
            "{summary}"
        );
    }
    let stranger = &setup.sandbox.keys().identity.unauthorized_brand_ids[0];
    let strangers = PER_BRAND / 10;
    assert_eq!(summary["failed"], strangers as u64, "{summary}");
    assert_eq!(
        summary["brands"][stranger]["failures"]["NO_AUTH"], strangers as u64,
        "{summary}"
    );

    let (requests, issued, replayed) = setup.stats_of("partner-send-user-product-coupon");
    assert_eq!(
        issued, rows as u64,
        "every row issued exactly once, none for {stranger}"
    );
    // The rest are the unauthorised brand's refusals: in each of the 3 runs at most its rows
    // once (a killed run may have sent them, so the next sends them again with their numbers)
    // and the re-check's two probes.
    let refused = requests - issued - replayed;
    assert!(
        refused >= 1 && refused <= 3 * (strangers as u64 + 2),
        "{refused} refusals"
    );
    let (requests, confirmed, replayed) =
        setup.stats_of("partner-confirm-send-user-product-coupon");
    assert_eq!(
        confirmed, rows as u64,
        "every coupon confirmed exactly once"
    );
    assert_eq!(requests, confirmed + replayed);

    let report = setup.report();
    assert_eq!(report.len(), rows + strangers);
    for row in &report {
        if row["brand_id"] == stranger.as_str() {
            assert_eq!(row["status"], "failed", "{row}");
            assert_eq!(row["error_code"], "NO_AUTH", "{row}");
        } else {
            assert_eq!(row["status"], "succeeded", "{row}");
            assert!(
                brands.iter().any(|b| row["brand_id"] == b.as_str()),
                "{row}"
            );
            assert_ne!(row["result"]["coupon_state"], "CONFIRMING", "{row}");
        }
    }
    let (code, status, _) = outcome(&cli(&setup.journal_args("status"), &[]));
    assert_eq!(code, 0);
    assert!(
        status.contains(&format!("brands:     {}\n", brands.len() + 1)),
        "{status}"
    );
    assert!(
        status.contains(&format!(
            "  {}: {PER_BRAND} rows, {PER_BRAND} succeeded, 0 failed, 0 pending\n",
            brands[0]
        )),
        "{status}"
    );
    assert!(
        status.contains(&format!(
            "  {stranger}: {strangers} rows, 0 succeeded, {strangers} failed, 0 pending (NO_AUTH {strangers})\n"
        )),
        "{status}"
    );
}

#[test]
fn workers_on_a_postgres_journal_share_the_rows_and_survive_a_sigkill() {
    const PER_BRAND: usize = 100;
    let setup = Setup::new(None);
    let brands = partner_files(&setup, PER_BRAND);
    let rows = PER_BRAND * brands.len();
    let server = wechatpay_test_kit::pg::PgServer::start().unwrap();
    let url = server.create_database("cli").unwrap();
    let mut args = partner_send_args(&setup);
    let at = args.iter().position(|a| a == "--journal").unwrap();
    args.remove(at);
    args.remove(at);
    args.extend(["--lease".to_owned(), "5".to_owned()]);
    let spawn = |name: &str| {
        let mut command = Command::new(BIN);
        for var in ENV_VARS {
            command.env_remove(var);
        }
        command
            .args(&args)
            .env("WECHATPAY_JOURNAL", &url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(setup.path(name)).unwrap())
            .spawn()
            .unwrap()
    };
    let mut doomed = spawn("a.err");
    let mut b = spawn("b.err");
    std::thread::sleep(Duration::from_millis(400));
    doomed.kill().unwrap(); // SIGKILL: its leases stay behind
    doomed.wait().unwrap();
    // A worker started on the same machine takes the dead one's rows at once.
    let mut c = spawn("c.err");
    for (child, name) in [(&mut b, "b.err"), (&mut c, "c.err")] {
        let status = wait_bounded(child, 60);
        let stderr = std::fs::read_to_string(setup.path(name)).unwrap();
        // 10: done, with the unauthorised brand's rows failed for good.
        assert_eq!(status.code(), Some(10), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let (_, issued, _) = setup.stats_of("partner-send-user-product-coupon");
    assert_eq!(issued, rows as u64, "every row issued exactly once");
    let (_, confirmed, _) = setup.stats_of("partner-confirm-send-user-product-coupon");
    assert_eq!(
        confirmed, rows as u64,
        "every coupon confirmed exactly once"
    );

    // status and report read the journal from WECHATPAY_JOURNAL; a password in the
    // URL is never printed.
    let status = cli(
        &["campaign", "status"],
        &[("WECHATPAY_JOURNAL", url.as_str())],
    );
    let (code, text, stderr) = outcome(&status);
    assert_eq!(code, 0, "{stderr}");
    assert!(text.contains(&format!("succeeded:  {rows}\n")), "{text}");
    assert!(text.contains("workers:    0 live, 3 in all"), "{text}");
    let secret = url.replace("postgres@", "postgres:hunter2@");
    let (code, text, stderr) = outcome(&cli(
        &[
            "campaign",
            "status",
            "--journal",
            &secret.replace("/cli", "/nowhere"),
        ],
        &[],
    ));
    assert_ne!(code, 0);
    assert!(!format!("{text}{stderr}").contains("hunter2"), "{stderr}");
    assert!(stderr.contains("postgres:***@"), "{stderr}");
}

#[test]
fn a_postgres_journal_is_verified_against_pgsslrootcert() {
    let server = wechatpay_test_kit::pg::PgServer::start().unwrap();
    let ca = server.enable_tls().unwrap();
    let url = format!("{}?sslmode=require", server.create_database("tls").unwrap());
    let status = |root: &str| {
        outcome(&cli(
            &["campaign", "status", "--journal", &url],
            &[("PGSSLROOTCERT", root)],
        ))
    };
    // The server's own certificate as the root: verified, and the (empty) journal read.
    let (code, _, stderr) = status(&ca.display().to_string());
    assert_ne!(code, 0);
    assert!(stderr.contains("holds no campaign journal"), "{stderr}");
    // Another root: the handshake fails, and the error says why.
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.crt");
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=other",
        ])
        .arg("-keyout")
        .arg(dir.path().join("other.key"))
        .arg("-out")
        .arg(&other)
        .output()
        .unwrap();
    assert!(made.status.success());
    let (code, _, stderr) = status(&other.display().to_string());
    assert_ne!(code, 0);
    assert!(!stderr.contains("holds no campaign journal"), "{stderr}");
    assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");
}

#[test]
fn ctrl_c_stops_cleanly_and_prints_how_to_resume() {
    let setup = Setup::new(None);
    setup.files("oInterrupt", 400);
    let mut child = setup.spawn("200");
    // Wait until rows are going out, then interrupt.
    let deadline = Instant::now() + Duration::from_secs(30);
    while setup.stats().0 < 20 {
        assert!(Instant::now() < deadline, "no request was sent");
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = wait_bounded(&mut child, 30);
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(11), "{stderr}");
    assert!(stderr.contains("stopping: no new rows"), "{stderr}");
    assert!(
        stderr.contains(
            "the campaign stopped on request; requests in flight were waited for and recorded"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("resume with the same settings:\n    wechatpay campaign send send-user-product-coupon --input "),
        "{stderr}"
    );
    // Nothing is in flight and every sent row is recorded.
    let (_, issued, _) = setup.stats();
    let rows = setup.report();
    // A stop waits for what is in flight: every coupon issued is in the journal,
    // confirmed (succeeded) or awaiting its confirm (pending, with its coupon code).
    let sent = rows
        .iter()
        .filter(|r| r["result"]["coupon_code"].is_string())
        .count() as u64;
    assert_eq!(sent, issued, "every coupon issued is in the journal");
    assert!(sent < 400);
    let (code, _, stderr) = outcome(&cli(&setup.send_args("400"), &[]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(setup.stats().1, 400);
    assert_eq!(setup.stats_of("confirm-send-user-product-coupon").1, 400);
}

#[test]
fn failed_rows_exit_10_and_refusals_send_nothing() {
    let setup = Setup::new(Some("error=USER_ERROR"));
    setup.files("oNotMember", 5);
    let (code, stdout, stderr) = outcome(&cli(&setup.send_args("100"), &[]));
    assert_eq!(code, 10, "{stderr}");
    assert!(
        stderr.contains("rows failed: campaign done: 0 succeeded, 5 failed permanently (documented errors; see wechatpay campaign report --journal "),
        "{stderr}"
    );
    let summary: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(
        (summary["failed"].as_u64(), summary["requests"].as_u64()),
        (Some(5), Some(5))
    );
    let (code, csv, _) = setup.run_to_file(&setup.journal_args("report"));
    assert_eq!(code, 0);
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with(
        "row,openid,request_no,status,attempts,error_step,error_code,error_message,confirm_request_no,coupon_code,"
    ));
    let first: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        first[..7],
        [
            "1",
            "oNotMember00000",
            first[2],
            "failed",
            "1",
            "send-user-product-coupon",
            "USER_ERROR"
        ]
    );

    // Another input for the same journal: refused, nothing sent.
    let before = setup.stats();
    setup.files("oOther", 5);
    let (code, _, stderr) = outcome(&cli(&setup.send_args("100"), &[]));
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("belongs to another campaign: it was created with input"),
        "{stderr}"
    );
    assert_eq!(setup.stats(), before);

    // An invalid row in a new campaign: named, nothing sent, no journal left.
    std::fs::remove_file(setup.path("campaign.db")).unwrap();
    std::fs::write(setup.path("users.csv"), "openid\noFine\n\"\"\n").unwrap();
    let (code, _, stderr) = outcome(&cli(&setup.send_args("100"), &[]));
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains(
            "1 problem(s) in the input; nothing was sent:\n  row 2 (line 3): openid: is required"
        ),
        "{stderr}"
    );
    assert!(!Path::new(&setup.path("campaign.db")).exists());
    assert_eq!(setup.stats(), before);

    let (code, _, stderr) = outcome(&cli(&setup.journal_args("status"), &[]));
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("no journal at"), "{stderr}");
}

#[test]
fn a_repeated_user_over_a_per_user_limited_stock_fails_its_row_and_the_campaign_goes_on() {
    // Stock 1000000013001 gives one coupon per user: the repeats are answered
    // 400 USER_RECEIVE_LIMIT, which the schema declares `scope: request`.
    let setup = Setup::new(None);
    setup.files("oTwice", 12);
    let mut csv = std::fs::read_to_string(setup.path("users.csv")).unwrap();
    csv.push_str("oTwice00003\noTwice00007\n");
    std::fs::write(setup.path("users.csv"), csv).unwrap();
    let (code, stdout, stderr) = outcome(&cli(&setup.send_args("100"), &[]));
    assert_eq!(code, 10, "{stderr}");
    let summary: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(
        (summary["succeeded"].as_u64(), summary["failed"].as_u64()),
        (Some(12), Some(2)),
        "{summary}"
    );
    for row in setup.report() {
        let repeat = row["row"].as_u64().unwrap() > 12;
        if repeat {
            assert_eq!(row["status"], "failed", "{row}");
            assert_eq!(row["error_code"], "USER_RECEIVE_LIMIT", "{row}");
        } else {
            assert_eq!(row["status"], "succeeded", "{row}");
        }
    }
}

#[test]
fn the_printed_resume_command_works_as_it_is_and_holds_no_secret() {
    // Every row is refused with a code about the caller: the campaign stops
    // at row 1 and prints how to resume.
    let setup = Setup::new(Some("error=NO_AUTH"));
    setup.files("oResume", 3);
    let mut args = setup.send_args("50");
    args.extend(
        [
            "--concurrency",
            "2",
            "--timeout",
            "7.5",
            "--no-confirm",
            "--apiv3-key",
            "TopSecretApiV3KeyValue0123456789",
        ]
        .map(String::from),
    );
    let (code, _, stderr) = outcome(&cli(&args, &[]));
    assert_eq!(code, 5, "{stderr}");
    assert!(!stderr.contains("TopSecretApiV3KeyValue"), "{stderr}");
    let resume = stderr
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("wechatpay campaign send "))
        .unwrap_or_else(|| panic!("no resume command in {stderr}"));
    for flag in [
        "--profile",
        "--base-url",
        "--rate 50",
        "--concurrency 2",
        "--timeout 7.5",
        "--no-confirm",
    ] {
        assert!(resume.contains(flag), "{flag} not in {resume}");
    }
    assert!(!resume.contains("--apiv3-key"), "{resume}");
    // Pasted into a shell (no WECHATPAY_* variables) it runs the same
    // campaign: it reaches the sandbox and stops on the same answer, rather
    // than failing on settings (exit 4).
    let bin = format!("'{}'", BIN.replace('\'', r"'\''"));
    let command = resume.replacen("wechatpay", &bin, 1);
    let before = setup.stats().0;
    let mut shell = Command::new("sh");
    for var in ENV_VARS {
        shell.env_remove(var);
    }
    let mut child = shell
        .args(["-c", &command])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_bounded(&mut child, 60);
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(5), "{command}: {stderr}");
    // With two requests in flight either row may be the one that stops it.
    assert!(stderr.contains("campaign stopped at row "), "{stderr}");
    assert!(setup.stats().0 > before, "the resumed run sent nothing");
}
