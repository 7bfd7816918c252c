//! `wechatpay notify serve | report` end to end: the real binary as the notify URL of
//! an in-process sandbox on 127.0.0.1 — the URL on the first line, one JSON line per
//! event once its confirm is settled, exactly one confirm, nothing printed or confirmed
//! again after a restart, a clean stop on SIGTERM, and the errors at start.

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{cli, keys_dir, outcome, BIN, ENV_VARS};
use serde_json::Value;
use wechatpay_models::{SendUserProductCouponRequest, SetNotifyConfigRequest};
use wechatpay_sandbox::{NotifyPolicy, Options, Sandbox};
use wechatpay_transport::{Client, Identity};

const APPID: &str = "wx233544546545989";
const WAIT: Duration = Duration::from_secs(20);

fn sandbox() -> Sandbox {
    Sandbox::start(Options {
        notify: NotifyPolicy {
            attempts: 6,
            first_delay: Duration::from_millis(200),
            timeout: Duration::from_secs(3),
        },
        ..Options::new(keys_dir("notify"))
    })
    .expect("sandbox")
}

fn client(sandbox: &Sandbox) -> Client {
    sandbox
        .client_builder(Identity::brand(sandbox.keys().identity.brand_id.as_str()))
        .build()
        .unwrap()
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// `(issued, replayed)` of confirm-send-user-product-coupon.
fn confirms(sandbox: &Sandbox) -> (u64, u64) {
    let addr = sandbox
        .base_url()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let reply = common::http(addr, "GET", "/sandbox/stats", &[], b"").expect("stats");
    let stats: Value = serde_json::from_slice(&reply.body).unwrap();
    let op = &stats["operations"]["confirm-send-user-product-coupon"];
    (
        op["issued"].as_u64().unwrap_or(0),
        op["replayed"].as_u64().unwrap_or(0),
    )
}

/// The settings of `call`, for the sandbox: its profile and base URL; the APIv3 key
/// goes in the environment.
fn settings(sandbox: &Sandbox) -> Vec<String> {
    vec![
        "--profile".into(),
        sandbox
            .keys()
            .dir
            .join("profile.toml")
            .display()
            .to_string(),
        "--base-url".into(),
        sandbox.base_url().into(),
    ]
}

/// A running `wechatpay notify serve`, its stdout read line by line.
struct Serve {
    child: Child,
    lines: mpsc::Receiver<String>,
    url: String,
}

impl Serve {
    fn start(sandbox: &Sandbox, journal: &Path, extra: &[&str]) -> Serve {
        let mut command = Command::new(BIN);
        for var in ENV_VARS {
            command.env_remove(var);
        }
        let mut child = command
            .args(["notify", "serve", "--listen", "127.0.0.1:0", "--journal"])
            .arg(journal)
            .args(settings(sandbox))
            .args(extra)
            .env("WECHATPAY_APIV3_KEY", &sandbox.keys().identity.apiv3_key)
            .env("WECHATPAY_APPID", APPID)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn notify serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let url = match lines.recv_timeout(Duration::from_secs(60)) {
            Ok(url) => url,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("notify serve printed no URL: {e}");
            }
        };
        let port = url
            .strip_prefix("http://127.0.0.1:")
            .and_then(|rest| rest.strip_suffix("/notify"))
            .and_then(|p| p.parse::<u16>().ok());
        assert!(
            port.is_some_and(|p| p != 0),
            "the first line is the URL: {url}"
        );
        Serve { child, lines, url }
    }

    /// The next event line, as JSON, waiting at most `timeout`.
    fn next_event(&self, timeout: Duration) -> Option<Value> {
        self.lines
            .recv_timeout(timeout)
            .ok()
            .map(|line| serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}")))
    }

    /// SIGTERM, then the exit code (bounded wait).
    fn terminate(mut self) -> i32 {
        // SAFETY: kill(2) on the pid of a child this test spawned and has not reaped.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("notify serve did not stop within {WAIT:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn send(client: &Client, openid: &str, number: &str) -> String {
    block_on(async {
        client
            .execute(&SendUserProductCouponRequest::new(
                openid,
                "1000000013",
                "1000000013001",
                APPID,
                number,
            ))
            .await
            .unwrap()
            .coupon_code
    })
}

fn set_url(client: &Client, url: &str) {
    block_on(async {
        client
            .execute(&SetNotifyConfigRequest::new(url))
            .await
            .unwrap();
    });
}

fn journal_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("notify.db")
}

#[test]
fn serve_confirms_each_sent_coupon_once_and_a_restart_prints_nothing_again() {
    let sandbox = sandbox();
    let client = client(&sandbox);
    let dir = tempfile::tempdir().unwrap();
    let journal = journal_in(&dir);

    let serve = Serve::start(&sandbox, &journal, &[]);
    set_url(&client, &serve.url);
    let code = send(&client, "o-cli-notify-1", &common::unique("CLI_NOTIFY"));
    let event = serve.next_event(WAIT).expect("a line for the event");
    assert_eq!(event["event_type"], "PRODUCT_COUPON.SEND", "{event}");
    assert_eq!(event["coupon_code"], code.as_str(), "{event}");
    assert_eq!(event["openid"], "o-cli-notify-1", "{event}");
    assert_eq!(event["stock_id"], "1000000013001", "{event}");
    assert_eq!(event["confirm"], "confirmed", "{event}");
    assert!(
        event["event_id"].as_str().is_some_and(|id| !id.is_empty()),
        "{event}"
    );
    assert!(event["confirm_request_no"].is_string(), "{event}");
    assert_eq!(confirms(&sandbox), (1, 0));
    assert!(
        serve.next_event(Duration::from_millis(300)).is_none(),
        "one line per event"
    );
    assert_eq!(serve.terminate(), 0, "SIGTERM stops cleanly");

    // A restart on the same journal: nothing printed again, nothing confirmed again.
    let serve = Serve::start(&sandbox, &journal, &[]);
    assert!(serve.next_event(Duration::from_millis(1500)).is_none());
    assert_eq!(serve.terminate(), 0);
    assert_eq!(confirms(&sandbox), (1, 0));

    let journal_arg = journal.display().to_string();
    let (code_, csv, err) = outcome(&cli(&["notify", "report", "--journal", &journal_arg], &[]));
    assert_eq!(code_, 0, "{err}");
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    assert!(
        header
            .starts_with("event_id,event_type,create_time,received_at,brand_id,coupon_code,openid"),
        "{header}"
    );
    for column in [
        "confirm",
        "confirm_request_no",
        "error_code",
        "coupon_state",
    ] {
        assert!(
            header.split(',').any(|c| c == column),
            "{column} in {header}"
        );
    }
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 1, "{csv}");
    assert!(
        rows[0].contains(&code) && rows[0].contains(",confirmed,"),
        "{csv}"
    );
    let (code_, json, err) = outcome(&cli(
        &[
            "notify",
            "report",
            "--journal",
            &journal_arg,
            "--format",
            "json",
        ],
        &[],
    ));
    assert_eq!(code_, 0, "{err}");
    let report: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report.as_array().map(Vec::len), Some(1), "{json}");
    assert_eq!(
        report[0]["brand_id"],
        sandbox.keys().identity.brand_id.as_str()
    );
    assert_eq!(report[0]["confirm"], "confirmed");
}

#[test]
fn no_confirm_prints_pending_and_a_later_run_confirms_it() {
    let sandbox = sandbox();
    let client = client(&sandbox);
    let dir = tempfile::tempdir().unwrap();
    let journal = journal_in(&dir);

    let serve = Serve::start(&sandbox, &journal, &["--no-confirm"]);
    set_url(&client, &serve.url);
    let code = send(&client, "o-cli-noconfirm", &common::unique("CLI_NOCONFIRM"));
    let event = serve.next_event(WAIT).expect("a line for the event");
    assert_eq!(event["confirm"], "pending", "{event}");
    assert_eq!(event["coupon_code"], code.as_str());
    assert_eq!(serve.terminate(), 0);
    assert_eq!(confirms(&sandbox), (0, 0));

    let serve = Serve::start(&sandbox, &journal, &[]);
    let event = serve
        .next_event(WAIT)
        .expect("the confirm, printed once settled");
    assert_eq!(event["confirm"], "confirmed", "{event}");
    assert_eq!(event["coupon_code"], code.as_str());
    assert_eq!(serve.terminate(), 0);
    assert_eq!(confirms(&sandbox), (1, 0));
}

#[test]
fn errors_at_start_name_what_is_wrong_and_listen_on_nothing() {
    let sandbox = sandbox();
    let dir = tempfile::tempdir().unwrap();
    let key = sandbox.keys().identity.apiv3_key.clone();
    let run = |journal: &Path, extra: &[&str], env: &[(&str, &str)]| {
        let mut args: Vec<String> = vec!["notify".into(), "serve".into(), "--journal".into()];
        args.push(journal.display().to_string());
        args.extend(settings(&sandbox));
        args.extend(extra.iter().map(|s| s.to_string()));
        outcome(&cli(&args, env))
    };
    let with_key = [
        ("WECHATPAY_APIV3_KEY", key.as_str()),
        ("WECHATPAY_APPID", APPID),
    ];

    // Tests run as root, for which a read-only directory is still writable: the
    // journal's directory is a regular file instead, which no one can create in.
    let plain = dir.path().join("plain-file");
    std::fs::write(&plain, "x").unwrap();
    let unwritable = plain.join("notify.db");
    let (code, out, err) = run(&unwritable, &[], &with_key);
    assert_eq!(code, 12, "{err}");
    assert!(out.is_empty(), "no URL: nothing listened: {out}");
    assert!(err.contains(&unwritable.display().to_string()), "{err}");

    // A file of another kind is refused, and left as it was (another kind of SQLite
    // file too: the library's journal tests).
    let other = dir.path().join("notes.db");
    let text = "not a journal: some notes that are long enough to fill an SQLite header";
    std::fs::write(&other, text).unwrap();
    let (code, out, err) = run(&other, &[], &with_key);
    assert_eq!(code, 12, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("not a wechatpay notify journal"), "{err}");
    assert_eq!(std::fs::read_to_string(&other).unwrap(), text);

    let journal = journal_in(&dir);
    let (code, _, err) = run(&journal, &[], &[("WECHATPAY_APPID", APPID)]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("APIv3 key"), "{err}");
    let (code, _, err) = run(&journal, &[], &[("WECHATPAY_APIV3_KEY", key.as_str())]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("--appid"), "{err}");
    assert!(
        !journal.exists(),
        "settings are checked before the journal is created"
    );

    let (code, _, err) = outcome(&cli(
        &[
            "notify",
            "report",
            "--journal",
            &dir.path().join("none.db").display().to_string(),
        ],
        &[],
    ));
    assert_eq!(code, 12, "{err}");

    for sub in ["serve", "report"] {
        let (code, help, _) = outcome(&cli(&["notify", sub, "--help"], &[]));
        assert_eq!(code, 0);
        assert!(
            help.contains("--journal") && help.contains("Exit codes:"),
            "{help}"
        );
        assert!(help.contains("12  notify"), "{help}");
    }
    let (_, help, _) = outcome(&cli(&["notify", "serve", "--help"], &[]));
    for flag in [
        "--listen",
        "--no-confirm",
        "--appid",
        "--apiv3-key",
        "WECHATPAY_APPID",
        "--brand-id",
    ] {
        assert!(help.contains(flag), "{flag} in {help}");
    }
}

/// The two confirmers together against the strict sandbox (a confirm is refused
/// until the coupon's PRODUCT_COUPON.SEND was delivered): a campaign and
/// `notify serve` derive the same number per coupon, so whichever confirms first,
/// the other is answered as a replay; every coupon is confirmed exactly once.
#[test]
fn a_campaign_and_notify_serve_confirm_each_coupon_exactly_once_under_the_strict_sandbox() {
    const ROWS: usize = 60;
    let sandbox = Sandbox::start(Options {
        notify: NotifyPolicy {
            attempts: 6,
            first_delay: Duration::from_millis(200),
            timeout: Duration::from_secs(3),
        },
        ..Options::new(keys_dir("notify")).confirm_after_notify(true)
    })
    .expect("sandbox");
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(&sandbox, &journal_in(&dir), &[]);
    set_url(&client(&sandbox), &serve.url);

    let mut csv = String::from("openid\n");
    for i in 0..ROWS {
        csv.push_str(&format!("oBoth{i:04}\n"));
    }
    std::fs::write(dir.path().join("users.csv"), csv).unwrap();
    let template = format!(
        r#"{{"product_coupon_id":"1000000013","stock_id":"1000000013001","appid":"{APPID}"}}"#
    );
    std::fs::write(dir.path().join("template.json"), template).unwrap();
    let campaign_journal = dir.path().join("campaign.db");
    let args: Vec<String> = [
        "campaign",
        "send",
        "send-user-product-coupon",
        "--input",
        &dir.path().join("users.csv").display().to_string(),
        "--body",
        &format!("@{}", dir.path().join("template.json").display()),
        "--journal",
        &campaign_journal.display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .chain(settings(&sandbox))
    .collect();
    let (code, stdout, stderr) = outcome(&cli(&args, &[]));
    assert_eq!(code, 0, "{stderr}");
    let summary: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(summary["succeeded"], ROWS as u64, "{summary}");

    // notify serve settles every event: confirmed by itself, or found done by the campaign.
    let mut confirmed = std::collections::HashSet::new();
    // Bounded generously: a confirm refused before its delivery was recorded backs
    // off (1 s, doubling), and a loaded machine delays the deliveries.
    let deadline = Instant::now() + Duration::from_secs(180);
    while confirmed.len() < ROWS && Instant::now() < deadline {
        if let Some(event) = serve.next_event(Duration::from_secs(5)) {
            assert_eq!(event["confirm"], "confirmed", "{event}");
            confirmed.insert(event["coupon_code"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(confirmed.len(), ROWS, "every notification confirmed");
    let (issued, _) = confirms(&sandbox);
    assert_eq!(issued, ROWS as u64, "each coupon confirmed exactly once");
    assert_eq!(serve.terminate(), 0);
}

/// One call of `op` with a JSON body, as `client`.
fn call_json(client: &Client, op: &str, body: Value) -> Value {
    let prepared = wechatpay_endpoints::dispatch(op)
        .unwrap()
        .prepare(&body)
        .unwrap_or_else(|p| panic!("{op}: {p:?}"));
    block_on(async {
        let reply = client
            .execute_raw(
                prepared.info,
                &prepared.url(),
                prepared.body,
                Default::default(),
            )
            .await
            .unwrap_or_else(|e| panic!("{op}: {e}"));
        serde_json::from_slice(&reply.body).unwrap_or(Value::Null)
    })
}

/// A service provider's notify URL: `--mchid` names the provider, whose
/// PRODUCT_COUPON_SP.SEND is confirmed with the partner confirm, as the provider, for
/// the brand the event names; the line and the report carry that brand.
#[test]
fn serve_confirms_a_providers_coupon_as_the_provider_for_its_brand() {
    let sandbox = sandbox();
    let id = sandbox.keys().identity.clone();
    let provider = sandbox
        .client_builder(Identity::partner(id.sp_mchid.as_str()))
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let journal = journal_in(&dir);
    let serve = Serve::start(&sandbox, &journal, &["--mchid", &id.sp_mchid]);
    call_json(
        &provider,
        "partner-set-notify-config",
        serde_json::json!({ "notify_url": serve.url }),
    );
    let info = wechatpay_endpoints::find("create-product-coupon").unwrap();
    let mut create: Value = serde_json::from_str(info.request_examples[0].body).unwrap();
    let now = common::now();
    let at = |t: i64| wechatpay_runtime::DateTime::from_unix(t, 480).to_string();
    create["brand_id"] = id.brand_id.as_str().into();
    create["stock"]["coupon_code_mode"] = "WECHATPAY".into();
    create["stock"]["single_usage_rule"]["coupon_available_period"] = serde_json::json!({
        "available_begin_time": at(now - 3600), "available_end_time": at(now + 30 * 86_400),
        "available_days": 30
    });
    let created = call_json(&provider, "partner-create-product-coupon", create);
    let sent = call_json(
        &provider,
        "partner-send-user-product-coupon",
        serde_json::json!({
            "brand_id": id.brand_id, "openid": "o-cli-sp", "appid": APPID,
            "product_coupon_id": created["product_coupon_id"],
            "stock_id": created["stock"]["stock_id"],
            "send_request_no": common::unique("CLI_SP_SEND"),
        }),
    );
    let event = serve.next_event(WAIT).expect("a line for the event");
    assert_eq!(event["event_type"], "PRODUCT_COUPON_SP.SEND", "{event}");
    assert_eq!(event["brand_id"], id.brand_id.as_str(), "{event}");
    assert_eq!(event["coupon_code"], sent["coupon_code"], "{event}");
    assert_eq!(event["openid"], "o-cli-sp", "{event}");
    assert_eq!(event["confirm"], "confirmed", "{event}");
    assert_eq!(serve.terminate(), 0);
    let addr = sandbox
        .base_url()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let stats: Value = serde_json::from_slice(
        &common::http(addr, "GET", "/sandbox/stats", &[], b"")
            .unwrap()
            .body,
    )
    .unwrap();
    assert_eq!(
        stats["operations"]["partner-confirm-send-user-product-coupon"]["issued"],
        1
    );
    assert_eq!(confirms(&sandbox), (0, 0), "no brand confirm");

    let (code, json, err) = outcome(&cli(
        &[
            "notify",
            "report",
            "--journal",
            &journal.display().to_string(),
            "--format",
            "json",
        ],
        &[],
    ));
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report[0]["brand_id"], id.brand_id.as_str(), "{json}");
    assert_eq!(report[0]["event_type"], "PRODUCT_COUPON_SP.SEND");
    assert_eq!(report[0]["confirm"], "confirmed");

    // Neither a brand nor a provider: nothing to confirm as, refused at start.
    let (code, out, err) = outcome(&cli(
        &[
            "notify",
            "serve",
            "--journal",
            &dir.path().join("none.db").display().to_string(),
            "--base-url",
            sandbox.base_url(),
        ],
        &[("WECHATPAY_APIV3_KEY", id.apiv3_key.as_str())],
    ));
    assert_eq!(code, 4, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("--brand-id") && err.contains("--mchid"),
        "{err}"
    );
}
