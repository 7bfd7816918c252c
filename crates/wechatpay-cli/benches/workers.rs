//! Many workers on one PostgreSQL journal: the real `wechatpay campaign send
//! partner-send-user-product-coupon --journal postgres://… --lease 10`, three
//! processes at once, against a sandbox process that limits each brand to
//! `--rate-limit RATE` (`--partner-quota per-brand`; sends and confirms each
//! have their own bucket per brand).
//!
//! The input: ROWS rows spread evenly over BRANDS brands that authorised the
//! provider (the sandbox's `sandbox.json` gets the extra brand ids before it
//! starts), interleaved, each brand with a stock the provider created for it.
//! Every worker runs at `--rate RATE` per brand (each paces a brand at RATE /
//! live workers) and confirms each coupon it sends.
//!
//! What happens during the run, by the share of the rows the sandbox issued:
//! at 25 % worker B is SIGKILLed; at 40 % worker D starts (on the same machine:
//! it takes B's leases at once); at 55 % PostgreSQL is stopped (`pg_ctl stop -m
//! fast`) for 10 s and started again. The bench waits (bounded) for A, C and D
//! to end; if rows are still open then, one more worker finishes them, and the
//! bench says so.
//!
//! Measured:
//! - each brand's send rate, from the sandbox's own request log (each line
//!   time-stamped by the bench as it arrives; a send counts when the sandbox
//!   answered it 200, i.e. it passed the brand's bucket): over the brand's
//!   *steady* window — from its 1st to its 97th percentile send, without the
//!   disturbance windows [kill, +6 s], [D starts, +4 s] and [PostgreSQL stopped
//!   −1 s, started again +6 s] — and *overall*, first to last send, everything
//!   included;
//! - the share of all requests (sends and confirms) answered 429, and per brand;
//! - what the sandbox issued and confirmed (its counters, and its state file:
//!   one coupon per send_request_no, each number a journal row's);
//! - the journal's rows by state, and its runs;
//! - how long the workers logged "sending paused" and the longest gap in the
//!   sandbox's sends around the outage.
//!
//! Knobs: `WORKERS_BENCH_ROWS` (default 30000), `WORKERS_BENCH_BRANDS` (10),
//! `WORKERS_BENCH_RATE` (100); for diagnosis, `WORKERS_BENCH_STAGGER_SECS`
//! (seconds between the starts of A, B and C; default 0, together),
//! `WORKERS_BENCH_PG_LOG_MS` (PostgreSQL logs statements slower than this) and
//! `WORKERS_BENCH_KEEP` (keep the files: the workers' stderr, the sandbox's
//! answers per second and brand, PostgreSQL's log).
//!
//! A send and its confirm cost two RSA-2048 signatures on the client and two on
//! the sandbox: BRANDS × RATE × 4 signatures a second, 4,000/s at the defaults,
//! beyond a 2-core machine (about 2,200/s); `cargo xtask bench` runs it at a
//! rate the CPU can hold (see xtask/src/bench.rs).
//! Nothing is pinned: the workers, the sandbox and PostgreSQL share the cores.
//!
//! Needs PostgreSQL's server tools (`initdb`, `pg_ctl`, `psql`; see
//! wechatpay-test-kit's `pg`). Run: `cargo bench -p wechatpay-cli --bench workers`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod common;

use common::{call, identity, provider_client, start_sandbox, Sandbox};
use wechatpay_sandbox::keys::{Identity as SandboxIdentity, IDENTITY_FILE};
use wechatpay_test_kit::pg::PgServer;
use wechatpay_transport::Client;

const SEND: &str = "partner-send-user-product-coupon";
const CONFIRM: &str = "partner-confirm-send-user-product-coupon";
const BIN: &str = env!("CARGO_BIN_EXE_wechatpay");
/// `--lease` of every worker, seconds.
const LEASE_SECS: u64 = 10;
/// How long PostgreSQL stays down.
const OUTAGE: Duration = Duration::from_secs(10);
/// When B is killed, D started and PostgreSQL stopped: shares of the rows issued.
const KILL_AT: f64 = 0.25;
const ADD_AT: f64 = 0.40;
const OUTAGE_AT: f64 = 0.55;
/// When `wechatpay campaign status` is run mid-run (D live, before the outage).
const STATUS_AT: f64 = 0.50;
/// Disturbance windows left out of the steady rate: after the kill (a worker
/// counts as live 4 s after its last heartbeat, then the others take its share),
/// after D starts, around the outage (reconnection backs off up to 2 s).
const KILL_SETTLE: f64 = 6.0;
const ADD_SETTLE: f64 = 4.0;
const OUTAGE_BEFORE: f64 = 1.0;
const OUTAGE_SETTLE: f64 = 6.0;
/// Openids are `oWorkers<brand index, 2 digits>x<row>`: the sandbox's log line
/// (its URL) names the brand.
const OPENID_PREFIX: &str = "oWorkers";

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n: &usize| *n > 0)
        .unwrap_or(default)
}

fn knob_f64(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n: &f64| n.is_finite() && *n >= 0.0)
        .unwrap_or(default)
}

/// Seconds since the bench started: every time stamp of the run.
fn now() -> f64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_secs_f64()
}

/// Generates the sandbox's keys (a first start, stopped at once) and gives the
/// provider `brands` authorised brands in `sandbox.json` (it has three): ids
/// `1277000000` on, skipping any the file already uses.
fn prepare_keys(keys: &Path, brands: usize) -> SandboxIdentity {
    drop(start_sandbox(keys, "off"));
    let path = keys.join(IDENTITY_FILE);
    let mut file: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect()
    };
    let mut ids = strings(&file["authorized_brand_ids"]);
    let mut taken: HashSet<String> = ids.iter().cloned().collect();
    taken.extend(strings(&file["unauthorized_brand_ids"]));
    taken.extend(file["brand_id"].as_str().map(str::to_owned));
    let mut next = 77_000_000u64;
    while ids.len() < brands {
        let id = format!("12{next:08}");
        next += 1;
        if taken.insert(id.clone()) {
            ids.push(id);
        }
    }
    file["authorized_brand_ids"] = ids.into();
    std::fs::write(&path, serde_json::to_vec_pretty(&file).unwrap()).unwrap();
    identity(keys)
}

/// A product coupon and a stock the provider creates for each brand: (coupon, stock).
/// The sandbox wants the provider's notify URL first (see [`forget_notify_url`]).
async fn stocks(client: &Client, brands: &[String]) -> Vec<(String, String)> {
    call(
        client,
        "partner-set-notify-config",
        json!({"notify_url": "http://127.0.0.1:9/notify"}),
    )
    .await;
    let example = wechatpay_endpoints::find("partner-create-product-coupon")
        .unwrap()
        .request_examples[0]
        .body;
    let mut out = Vec::new();
    for brand in brands {
        let mut coupon: Value = serde_json::from_str(example).unwrap();
        coupon["brand_id"] = brand.as_str().into();
        coupon["out_request_no"] = format!("WORKERS_PC_{brand}").into();
        coupon["stock"] = json!({
            "remark": "bench",
            "coupon_code_mode": "WECHATPAY",
            "stock_send_rule": {"max_count": 100_000_000, "max_count_per_user": 100},
            "usage_rule_display_info": {"coupon_usage_method_list": ["OFFLINE"], "usage_description": "bench"},
            "coupon_display_info": {"code_display_mode": "INVISIBLE"},
            "notify_config": {"notify_appid": "wx233544546545989"},
            "store_scope": "NONE"
        });
        let created = call(client, "partner-create-product-coupon", coupon).await;
        out.push((
            created["product_coupon_id"].as_str().unwrap().to_owned(),
            created["stock"]["stock_id"].as_str().unwrap().to_owned(),
        ));
    }
    out
}

/// Removes the provider's notify URL from the sandbox's state file (the sandbox
/// stopped): the run's coupons then queue no notification. Each delivery attempt
/// costs the sandbox an RSA signature, and one to 127.0.0.1:9 is attempted six
/// times: work of WeChat Pay's side, not the provider's, that would take the
/// shared cores from the workers.
fn forget_notify_url(state: &Path, brand_id: &str) {
    let store = wechatpay_sandbox::store::Store::open(Some(state), 0, brand_id)
        .expect("the sandbox's state file");
    store
        .transaction(
            |db| -> Result<usize, wechatpay_sandbox::replies::Rejection> {
                Ok(db.execute("DELETE FROM notify_configs", [])?)
            },
        )
        .expect("removing the notify URL");
}

/// The input: `per_brand` rows of each brand, interleaved; each row its own user.
fn write_input(dir: &Path, brands: &[String], stocks: &[(String, String)], per_brand: usize) {
    let mut csv = String::from("brand_id,openid,product_coupon_id,stock_id\n");
    for i in 0..per_brand {
        for (b, (brand, (coupon, stock))) in brands.iter().zip(stocks).enumerate() {
            csv.push_str(&format!(
                "{brand},{OPENID_PREFIX}{b:02}x{i:06},{coupon},{stock}\n"
            ));
        }
    }
    std::fs::write(dir.join("rows.csv"), csv).unwrap();
    std::fs::write(
        dir.join("template.json"),
        r#"{"appid":"wx233544546545989"}"#,
    )
    .unwrap();
}

/// Which request a sandbox log line is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Send,
    Confirm,
}

/// One request the sandbox answered, as its log line said.
#[derive(Debug, Clone, Copy)]
struct Answer {
    /// When the bench read the line.
    at: f64,
    brand: usize,
    step: Step,
    status: u16,
    /// A first-time success (`issued`), not a replay of a recorded result.
    fresh: bool,
}

/// What the sandbox's log said so far.
#[derive(Default)]
struct SandboxLog {
    answers: Vec<Answer>,
    sends_issued: u64,
    /// Lines about other requests, or not understood (kept for the report).
    other: Vec<String>,
}

/// Reads `sandbox: POST /v3/…/users/oWorkers03x000012/coupons[/…/confirm] [op] -> 200 issued`.
fn parse_log_line(line: &str, at: f64) -> Option<Answer> {
    let rest = line.strip_prefix("sandbox: ")?;
    let (_, after_users) = rest.split_once(&format!("/users/{OPENID_PREFIX}"))?;
    let brand: usize = after_users.get(..2)?.parse().ok()?;
    let operation = rest.split_once(" [")?.1.split_once(']')?.0;
    let step = match operation {
        SEND => Step::Send,
        CONFIRM => Step::Confirm,
        _ => return None,
    };
    let outcome = rest.rsplit_once("-> ")?.1;
    let (status, note) = outcome.split_once(' ').unwrap_or((outcome, ""));
    Some(Answer {
        at,
        brand,
        step,
        status: status.parse().ok()?,
        fresh: note == "issued",
    })
}

/// Starts `wechatpay sandbox` logging each request (read and time-stamped by a
/// thread of the bench), with its state in `state`.
fn start_logged_sandbox(
    keys: &Path,
    rate: usize,
    state: &Path,
) -> (Sandbox, String, Arc<Mutex<SandboxLog>>, JoinHandle<()>) {
    let mut child = Command::new(BIN)
        .args(["sandbox", "--listen", "127.0.0.1:0", "--stop-on-eof"])
        .args([
            "--rate-limit",
            &rate.to_string(),
            "--partner-quota",
            "per-brand",
        ])
        .arg("--state")
        .arg(state)
        .arg("--keys")
        .arg(keys)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the sandbox");
    let stdout = child.stdout.take().expect("sandbox stdout");
    let stderr = child.stderr.take().expect("sandbox stderr");
    let sandbox = Sandbox(child);
    let log = Arc::new(Mutex::new(SandboxLog::default()));
    let into = log.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let at = now();
            let mut log = into.lock().unwrap();
            match parse_log_line(&line, at) {
                Some(answer) => {
                    if answer.step == Step::Send && answer.fresh {
                        log.sends_issued += 1;
                    }
                    log.answers.push(answer);
                }
                None => log.other.push(line),
            }
        }
    });
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the sandbox prints its base URL");
    let base_url = line.trim().to_owned();
    assert!(
        base_url.starts_with("http://127.0.0.1:"),
        "unexpected first line {base_url:?}"
    );
    (sandbox, base_url, log, reader)
}

/// What every worker is started with.
struct Setup {
    dir: PathBuf,
    keys: PathBuf,
    base_url: String,
    sp_mchid: String,
    journal: String,
    rate: usize,
}

/// One `wechatpay campaign send` process; killed (SIGKILL) if still running when dropped.
struct Worker {
    name: &'static str,
    child: Child,
    started_at: f64,
    /// Its standard error, line by line, time-stamped as read.
    lines: Arc<Mutex<Vec<(f64, String)>>>,
    reader: Option<JoinHandle<()>>,
    exit: Option<(f64, ExitStatus)>,
    killed: bool,
    /// utime + stime of the process, seconds, as last read from /proc.
    cpu: f64,
}

impl Worker {
    fn start(name: &'static str, setup: &Setup) -> Worker {
        let mut command = Command::new(BIN);
        for (var, _) in std::env::vars() {
            if var.starts_with("WECHATPAY_") || var == "RUST_LOG" {
                command.env_remove(var);
            }
        }
        let stdout = File::create(setup.dir.join(format!("worker-{name}.stdout"))).unwrap();
        let mut child = command
            .args(["campaign", "send", SEND, "--input"])
            .arg(setup.dir.join("rows.csv"))
            .arg("--body")
            .arg(format!("@{}", setup.dir.join("template.json").display()))
            .args(["--journal", &setup.journal])
            .args(["--lease", &LEASE_SECS.to_string()])
            .args(["--rate", &setup.rate.to_string()])
            // The sandbox's --rate-limit counts the confirms too.
            .args(["--confirm-rate", &setup.rate.to_string()])
            .args(["--partner-quota", "per-brand", "--mchid", &setup.sp_mchid])
            .arg("--profile")
            .arg(setup.keys.join("profile.toml"))
            .args(["--base-url", &setup.base_url])
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .expect("campaign send");
        let stderr = child.stderr.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let into = lines.clone();
        let mut file = File::create(setup.dir.join(format!("worker-{name}.stderr"))).unwrap();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let at = now();
                let _ = writeln!(file, "{at:8.2} {line}");
                into.lock().unwrap().push((at, line));
            }
        });
        Worker {
            name,
            child,
            started_at: now(),
            lines,
            reader: Some(reader),
            exit: None,
            killed: false,
            cpu: 0.0,
        }
    }

    /// Whether it still runs (its exit is recorded when it ended).
    fn running(&mut self) -> bool {
        if self.exit.is_some() {
            return false;
        }
        if let Some(cpu) = proc_cpu_secs(self.child.id()) {
            self.cpu = cpu;
        }
        match self.child.try_wait().unwrap() {
            Some(status) => {
                self.exit = Some((now(), status));
                if let Some(reader) = self.reader.take() {
                    let _ = reader.join();
                }
                false
            }
            None => true,
        }
    }

    /// SIGKILL, and reaped at once: its pid is gone for the next worker to see.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let status = self.child.wait().unwrap();
        self.killed = true;
        self.exit = Some((now(), status));
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }

    fn summary(&self, dir: &Path) -> Option<Value> {
        let text =
            std::fs::read_to_string(dir.join(format!("worker-{}.stdout", self.name))).ok()?;
        serde_json::from_str(text.trim()).ok()
    }

    /// Its lines that are not the periodic progress line.
    fn notable_lines(&self) -> Vec<(f64, String)> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, l)| !(l.starts_with("campaign: ") && l.contains(" rows done: ")))
            .cloned()
            .collect()
    }

    /// Seconds between each "sending paused" and the next "sending resumes";
    /// a pause not resumed counts up to the worker's exit.
    fn paused_secs(&self) -> (f64, usize) {
        let lines = self.lines.lock().unwrap();
        let (mut total, mut count, mut since) = (0.0, 0, None);
        for (at, line) in lines.iter() {
            if line.contains("sending paused") {
                since.get_or_insert(*at);
                count += 1;
            } else if line.contains("sending resumes") {
                if let Some(from) = since.take() {
                    total += at - from;
                }
            }
        }
        if let Some(from) = since {
            total += self.exit.map_or_else(now, |(at, _)| at) - from;
        }
        (total, count)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if self.exit.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// CPU seconds used so far (utime + stime), sampled during the run.
struct Cpu {
    at: f64,
    workers: f64,
    sandbox: f64,
    postgres: f64,
    /// This process (reading the logs, sampling).
    bench: f64,
    /// Every core of the machine, busy (/proc/stat).
    machine: f64,
    /// The sandbox's open files (mostly its connections).
    sandbox_fds: usize,
}

/// utime + stime of `pid` in seconds (/proc/PID/stat, Linux).
fn proc_cpu_secs(pid: u32) -> Option<f64> {
    let fields = proc_stat_fields(pid)?;
    // After the command: state is field 3, utime 14, stime 15 (1-based).
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / clock_ticks())
}

/// (busy, total) jiffies of all cores (/proc/stat): the whole machine's load.
fn machine_jiffies() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<f64> = cpu
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: f64 = v.iter().take(8).sum();
    let idle = v.get(3)? + v.get(4).unwrap_or(&0.0);
    Some((total - idle, total))
}

/// The CPU time of the bench's PostgreSQL server: its postmaster (found by its
/// port in `/tmp/wechatpay-pg-*/data/postmaster.pid`), the children it reaped and
/// the live ones; across a restart, the stopped server's last total is kept.
struct PgCpu {
    port: u16,
    postmaster: Option<u32>,
    last: f64,
    carried: f64,
}

impl PgCpu {
    fn new(port: u16) -> PgCpu {
        PgCpu {
            port,
            postmaster: None,
            last: 0.0,
            carried: 0.0,
        }
    }

    /// The server's directory (where `postgres.log` is).
    fn dir(port: u16) -> Option<PathBuf> {
        std::fs::read_dir("/tmp").ok()?.flatten().find_map(|entry| {
            let name = entry.file_name();
            if !name.to_string_lossy().starts_with("wechatpay-pg-") {
                return None;
            }
            let pid = std::fs::read_to_string(entry.path().join("data/postmaster.pid")).ok()?;
            (pid.lines().nth(3)?.trim() == port.to_string()).then(|| entry.path())
        })
    }

    fn postmaster_pid(&self) -> Option<u32> {
        let dir = Self::dir(self.port)?;
        let pid = std::fs::read_to_string(dir.join("data/postmaster.pid")).ok()?;
        pid.lines().next()?.trim().parse().ok()
    }

    /// CPU seconds so far.
    fn sample(&mut self) -> f64 {
        let Some(pid) = self.postmaster_pid() else {
            return self.carried + self.last;
        };
        if self.postmaster != Some(pid) {
            self.carried += self.last;
            self.last = 0.0;
            self.postmaster = Some(pid);
        }
        let mut total = proc_cpu_with_children(pid).unwrap_or(0.0);
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            if proc_parent(child) == Some(pid) {
                total += proc_cpu_secs(child).unwrap_or(0.0);
            }
        }
        self.last = self.last.max(total);
        self.carried + self.last
    }
}

/// The fields of /proc/PID/stat after the command (the 3rd field first).
fn proc_stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(
        stat.rsplit_once(')')?
            .1
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
    )
}

fn proc_parent(pid: u32) -> Option<u32> {
    proc_stat_fields(pid)?.get(1)?.parse().ok()
}

/// utime + stime + cutime + cstime of `pid` (its reaped children included), seconds.
fn proc_cpu_with_children(pid: u32) -> Option<f64> {
    let f = proc_stat_fields(pid)?;
    let ticks: f64 = (11..15)
        .map(|i| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0))
        .sum();
    Some(ticks / clock_ticks())
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    hz.max(1.0)
}

/// psql's output, trimmed; panics with the error.
fn sql(pg: &PgServer, sql: &str) -> String {
    pg.psql("workers", sql)
        .unwrap_or_else(|e| panic!("psql {sql}: {e}"))
        .trim()
        .to_owned()
}

/// The journal's rows by state.
fn journal_states(pg: &PgServer) -> BTreeMap<String, u64> {
    sql(
        pg,
        "SELECT state, count(*) FROM rows GROUP BY state ORDER BY state",
    )
    .lines()
    .filter_map(|l| l.split_once('|'))
    .map(|(s, n)| (s.to_owned(), n.parse().unwrap_or(0)))
    .collect()
}

/// The length of `[lo, hi]` outside every window, and whether `t` is outside them.
fn outside(windows: &[(f64, f64)], t: f64) -> bool {
    windows.iter().all(|(a, b)| t < *a || t > *b)
}

fn length_outside(windows: &[(f64, f64)], lo: f64, hi: f64) -> f64 {
    // Merge the windows clipped to [lo, hi], then subtract.
    let mut clipped: Vec<(f64, f64)> = windows
        .iter()
        .map(|(a, b)| (a.max(lo), b.min(hi)))
        .filter(|(a, b)| b > a)
        .collect();
    clipped.sort_by(|x, y| x.0.total_cmp(&y.0));
    let mut covered = 0.0;
    let mut end = lo;
    for (a, b) in clipped {
        let a = a.max(end);
        if b > a {
            covered += b - a;
            end = b;
        }
    }
    (hi - lo) - covered
}

/// Per brand: (steady rate, overall rate, steady seconds) of sends answered 200.
fn brand_rates(times: &[f64], windows: &[(f64, f64)]) -> (f64, f64, f64) {
    let n = times.len();
    if n < 2 {
        return (0.0, 0.0, 0.0);
    }
    let overall = n as f64 / (times[n - 1] - times[0]);
    let (lo, hi) = (times[n / 100], times[n * 97 / 100]);
    let secs = length_outside(windows, lo, hi);
    let count = times
        .iter()
        .filter(|t| **t >= lo && **t <= hi && outside(windows, **t))
        .count();
    let steady = if secs > 0.0 { count as f64 / secs } else { 0.0 };
    (steady, overall, secs)
}

fn print_tails(workers: &[&Worker]) {
    for w in workers {
        eprintln!("--- worker {} (stderr, notable lines) ---", w.name);
        for (at, line) in w.notable_lines().iter().rev().take(15).rev() {
            eprintln!("{at:8.2} {line}");
        }
    }
}

fn main() {
    now();
    let rows_wanted = knob("WORKERS_BENCH_ROWS", 30_000);
    let brand_count = knob("WORKERS_BENCH_BRANDS", 10).min(99);
    let rate = knob("WORKERS_BENCH_RATE", 100);
    let per_brand = rows_wanted / brand_count;
    let rows = per_brand * brand_count;
    assert!(per_brand > 0, "fewer rows than brands");
    // Each brand in parallel at `rate`: the run without disturbances.
    let nominal = per_brand as f64 / rate as f64;
    let timeout = Duration::from_secs_f64(600.0 + 10.0 * nominal);

    let root = tempfile::tempdir().expect("temp dir");
    let keys = root.path().join("keys");
    let id = prepare_keys(&keys, brand_count);
    let brands: Vec<String> = id
        .authorized_brand_ids
        .iter()
        .take(brand_count)
        .cloned()
        .collect();
    assert_eq!(brands.len(), brand_count, "{:?}", id.authorized_brand_ids);

    let pg = PgServer::start().unwrap_or_else(|e| panic!("starting PostgreSQL: {e}"));
    let journal = pg
        .create_database("workers")
        .expect("the journal's database");
    // A diagnosis aid, off by default: PostgreSQL logs every statement slower
    // than this many milliseconds (its log is copied next to the workers' files).
    if let Ok(ms) = std::env::var("WORKERS_BENCH_PG_LOG_MS") {
        let ms: u32 = ms
            .trim()
            .parse()
            .expect("WORKERS_BENCH_PG_LOG_MS: milliseconds");
        sql(
            &pg,
            &format!("ALTER SYSTEM SET log_min_duration_statement = {ms}"),
        );
        sql(&pg, "SELECT pg_reload_conf()");
    }
    // The sandbox's state in memory (/dev/shm) where there is one: on a disk its
    // SQLite checkpoints fsync, and a stall there (another user's build writing)
    // holds the sandbox's store lock, and with it every request.
    let state_dir = match Path::new("/dev/shm") {
        shm if shm.is_dir() => tempfile::tempdir_in(shm),
        _ => tempfile::tempdir_in(root.path()),
    }
    .expect("a directory for the sandbox's state");
    let state = state_dir.path().join("sandbox-state.db");
    // The stocks, on a first sandbox on the same state file.
    let stocks = {
        let (setup_sandbox, base_url, _, _) = start_logged_sandbox(&keys, rate, &state);
        let stocks = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(stocks(&provider_client(&keys, &base_url), &brands));
        drop(setup_sandbox);
        forget_notify_url(&state, &id.brand_id);
        stocks
    };
    let (sandbox, base_url, log, log_reader) = start_logged_sandbox(&keys, rate, &state);
    let dir = root.path().join("workers");
    std::fs::create_dir_all(&dir).unwrap();
    write_input(&dir, &brands, &stocks, per_brand);
    let setup = Setup {
        dir: dir.clone(),
        keys: keys.clone(),
        base_url: base_url.clone(),
        sp_mchid: id.sp_mchid.clone(),
        journal: journal.clone(),
        rate,
    };
    eprintln!(
        "workers bench: {rows} rows over {brand_count} brands at {rate}/s each (nominal {nominal:.0} s), lease {LEASE_SECS} s; files in {}",
        dir.display()
    );

    // The run.
    let machine_before = machine_jiffies();
    let started = now();
    // WORKERS_BENCH_STAGGER_SECS (default 0: together, as the issue's scenario):
    // seconds between the starts of A, B and C.
    let stagger = Duration::from_secs_f64(knob_f64("WORKERS_BENCH_STAGGER_SECS", 0.0));
    let mut a = Worker::start("A", &setup);
    std::thread::sleep(stagger);
    let mut b = Worker::start("B", &setup);
    std::thread::sleep(stagger);
    let mut c = Worker::start("C", &setup);
    let mut d: Option<Worker> = None;
    let mut events: Vec<(f64, String)> = Vec::new();
    let (mut killed_at, mut added_at) = (None, None);
    let (mut pg_down, mut pg_up): (Option<f64>, Option<f64>) = (None, None);
    let mut status_mid = None;
    let mut timed_out: Option<String> = None;
    let mut pg_cpu = PgCpu::new(pg.port());
    // CPU seconds so far, about once a second.
    let mut cpu_samples: Vec<Cpu> = Vec::new();
    let mut sandbox_cpu = 0.0;
    let deadline = Instant::now() + timeout;
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let issued = log.lock().unwrap().sends_issued as f64 / rows as f64;
        if cpu_samples.last().is_none_or(|c| now() >= c.at + 1.0) {
            if let Some(cpu) = proc_cpu_secs(sandbox.0.id()) {
                sandbox_cpu = cpu;
            }
            let workers: f64 =
                [&a, &b, &c].iter().map(|w| w.cpu).sum::<f64>() + d.as_ref().map_or(0.0, |w| w.cpu);
            let machine = machine_jiffies().map_or(0.0, |(busy, _)| busy / clock_ticks());
            cpu_samples.push(Cpu {
                at: now(),
                workers,
                sandbox: sandbox_cpu,
                postgres: pg_cpu.sample(),
                bench: proc_cpu_secs(std::process::id()).unwrap_or(0.0),
                machine,
                sandbox_fds: std::fs::read_dir(format!("/proc/{}/fd", sandbox.0.id()))
                    .map_or(0, Iterator::count),
            });
        }
        if killed_at.is_none() && issued >= KILL_AT {
            b.kill();
            killed_at = Some(now());
            events.push((
                now(),
                format!("SIGKILL worker B at {:.0} % issued", issued * 100.0),
            ));
        }
        if killed_at.is_some() && added_at.is_none() && issued >= ADD_AT {
            d = Some(Worker::start("D", &setup));
            added_at = Some(now());
            events.push((
                now(),
                format!("worker D started at {:.0} % issued", issued * 100.0),
            ));
        }
        if added_at.is_some() && status_mid.is_none() && issued >= STATUS_AT {
            status_mid = Some((now(), campaign_status(&journal)));
        }
        if added_at.is_some() && pg_down.is_none() && issued >= OUTAGE_AT {
            let asked = now();
            pg.stop()
                .unwrap_or_else(|e| panic!("stopping PostgreSQL: {e}"));
            pg_down = Some(now());
            events.push((
                asked,
                format!(
                    "PostgreSQL stop asked at {:.0} % issued (stopped after {:.2} s)",
                    issued * 100.0,
                    now() - asked
                ),
            ));
        }
        if let (Some(down), None) = (pg_down, pg_up) {
            if now() >= down + OUTAGE.as_secs_f64() {
                let asked = now();
                pg.restart()
                    .unwrap_or_else(|e| panic!("restarting PostgreSQL: {e}"));
                pg_up = Some(now());
                events.push((
                    asked,
                    format!(
                        "PostgreSQL start asked ({:.2} s after it stopped); accepting connections after {:.2} s",
                        asked - down,
                        now() - asked
                    ),
                ));
            }
        }
        let a_runs = a.running();
        let c_runs = c.running();
        let d_runs = d.as_mut().is_some_and(Worker::running);
        if !a_runs && !c_runs && !d_runs {
            if pg_down.is_some() && pg_up.is_none() {
                pg.restart()
                    .unwrap_or_else(|e| panic!("restarting PostgreSQL: {e}"));
                pg_up = Some(now());
            }
            break;
        }
        if Instant::now() > deadline {
            // What was measured is still read and printed; the bench fails at the end.
            let mut all = vec![&a, &b, &c];
            all.extend(d.as_ref());
            print_tails(&all);
            timed_out = Some(format!(
                "the workers did not end within {:.0} s ({:.1} % of the rows issued); they were killed",
                timeout.as_secs_f64(),
                issued * 100.0
            ));
            eprintln!(
                "workers bench: {}",
                timed_out.as_deref().unwrap_or_default()
            );
            for w in [&mut a, &mut c].into_iter().chain(d.as_mut()) {
                if w.running() {
                    w.kill();
                }
            }
            if pg_down.is_some() && pg_up.is_none() {
                pg.restart()
                    .unwrap_or_else(|e| panic!("restarting PostgreSQL: {e}"));
                pg_up = Some(now());
            }
            events.push((
                now(),
                "timed out: the remaining workers SIGKILLed".to_owned(),
            ));
            break;
        }
    }
    let ended = now();
    let machine_after = machine_jiffies();
    let phases_done = killed_at.is_some() && added_at.is_some() && pg_up.is_some();
    if !phases_done {
        eprintln!("warning: the workers ended before every disturbance happened: {events:?}");
    }
    for w in [&a, &c].into_iter().chain(d.as_ref()) {
        if let Some((at, status)) = w.exit {
            events.push((at, format!("worker {} exited: {status}", w.name)));
        }
    }

    // Rows still open (e.g. awaiting their confirm): one more worker finishes them.
    let mut states = journal_states(&pg);
    let open = |s: &BTreeMap<String, u64>| {
        ["pending", "in_flight", "confirming"]
            .iter()
            .map(|k| s.get(*k).copied().unwrap_or(0))
            .sum::<u64>()
    };
    let open_after_run = open(&states);
    let mut extra = None;
    if open_after_run > 0 && timed_out.is_none() {
        eprintln!(
            "{open_after_run} rows still open after the workers ended ({states:?}): one more worker finishes them"
        );
        let mut e = Worker::start("E", &setup);
        let limit = Instant::now() + timeout;
        while e.running() {
            assert!(Instant::now() < limit, "the extra worker did not end");
            std::thread::sleep(Duration::from_millis(100));
        }
        events.push((
            now(),
            format!("extra worker E exited: {:?}", e.exit.unwrap().1),
        ));
        states = journal_states(&pg);
        extra = Some(e);
    }

    // The journal.
    let journal_status = campaign_status(&journal);
    // Rows still open, with their follow-ups: what kept them open.
    let stuck = sql(
        &pg,
        "SELECT r.row, r.brand, r.state, r.attempts, r.updated_at, coalesce(r.lease_owner, '-'), \
         coalesce(f.state, '-'), coalesce(f.attempts, 0), coalesce(f.updated_at, 0), \
         coalesce(f.lease_owner, '-') \
         FROM rows r LEFT JOIN follow_ups f ON f.row = r.row \
         WHERE r.state NOT IN ('succeeded', 'failed') ORDER BY r.row LIMIT 20",
    );
    let resent: String = sql(
        &pg,
        "SELECT (SELECT count(*) FROM rows WHERE attempts > 1) || ' rows, ' || \
         (SELECT count(*) FROM follow_ups WHERE attempts > 1) || ' confirms'",
    );
    let numbers: HashSet<String> = sql(&pg, "SELECT request_no FROM rows")
        .lines()
        .map(str::to_owned)
        .collect();
    let runs = sql(
        &pg,
        "SELECT id, split_part(worker, ':', 2), requests, throttled, sent, follow_ups, \
         coalesce(outcome, '-'), round((coalesce(last_send_at, 0) - coalesce(first_send_at, 0)) / 1000.0, 1) \
         FROM runs ORDER BY id",
    );
    // The last error of each row and follow-up still carrying one (a row that
    // succeeded later has none): what the workers' resends were about.
    let last_errors = sql(
        &pg,
        "SELECT 'send', coalesce(error_code, '-'), left(coalesce(error_message, ''), 160), count(*) \
         FROM rows WHERE error_code IS NOT NULL GROUP BY 2, 3 \
         UNION ALL SELECT 'confirm', coalesce(error_code, '-'), left(coalesce(error_message, ''), 160), count(*) \
         FROM follow_ups WHERE error_code IS NOT NULL GROUP BY 2, 3 ORDER BY 4 DESC LIMIT 15",
    );
    let runs_requests: u64 = sql(&pg, "SELECT coalesce(sum(requests), 0) FROM runs")
        .parse()
        .unwrap_or(0);
    let table_stats = sql(
        &pg,
        "SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_live_tup, n_dead_tup, \
         autovacuum_count, autoanalyze_count, seq_scan, idx_scan \
         FROM pg_stat_user_tables WHERE relname IN ('rows', 'follow_ups', 'workers', 'runs') \
         ORDER BY relname",
    );
    let follow_ups_done: u64 = sql(&pg, "SELECT count(*) FROM follow_ups WHERE state = 'done'")
        .parse()
        .unwrap_or(0);

    // The sandbox: its counters, then its state file.
    // The sandbox's counters (it may still be busy with what the killed workers left).
    let send = try_stats(&base_url, SEND);
    let confirm = try_stats(&base_url, CONFIRM);
    drop(sandbox);
    let _ = log_reader.join();
    let store = wechatpay_sandbox::store::Store::open(Some(&state), 0, &id.brand_id)
        .expect("the sandbox's state file");
    let coupons: Vec<(String, String, bool)> = store
        .transaction(|db| -> Result<_, wechatpay_sandbox::replies::Rejection> {
            let mut statement = db.prepare(
                "SELECT stock_id, json_extract(body, '$.send_request_no'), \
                 json_extract(body, '$.confirm_request_no') IS NOT NULL FROM user_coupons",
            )?;
            let found = statement.query_map([], |r| {
                Ok((
                    r.get::<usize, String>(0)?,
                    r.get::<usize, String>(1)?,
                    r.get::<usize, bool>(2)?,
                ))
            })?;
            Ok(found.collect::<Result<Vec<_>, _>>()?)
        })
        .expect("the sandbox's coupons");
    let stock_brand: HashMap<&str, usize> = stocks
        .iter()
        .enumerate()
        .map(|(b, (_, stock))| (stock.as_str(), b))
        .collect();
    let mut issued_per_brand = vec![0u64; brand_count];
    let mut confirmed_per_brand = vec![0u64; brand_count];
    let mut sandbox_numbers: HashSet<(usize, String)> = HashSet::new();
    for (stock, number, confirmed) in &coupons {
        let Some(&b) = stock_brand.get(stock.as_str()) else {
            continue;
        };
        issued_per_brand[b] += 1;
        confirmed_per_brand[b] += u64::from(*confirmed);
        sandbox_numbers.insert((b, number.clone()));
    }
    let coupons_issued: u64 = issued_per_brand.iter().sum();
    let coupons_confirmed: u64 = confirmed_per_brand.iter().sum();
    // Without the counters, the state file's coupons (the same, barring a bug).
    let send = send.unwrap_or((0, coupons_issued, 0, 0));
    let confirm = confirm.unwrap_or((0, coupons_confirmed, 0, 0));
    // A row's number issued twice would be two coupons with one send_request_no.
    let duplicates = coupons_issued - sandbox_numbers.len() as u64;
    let sandbox_only: HashSet<&String> = sandbox_numbers.iter().map(|(_, n)| n).collect();
    let missing = numbers.iter().filter(|n| !sandbox_only.contains(n)).count();
    let foreign = sandbox_only
        .iter()
        .filter(|n| !numbers.contains(**n))
        .count();

    // The sandbox's log: per brand, its 200 sends over time and its 429s.
    let log = std::mem::take(&mut *log.lock().unwrap());
    let mut windows = Vec::new();
    if let Some(at) = killed_at {
        windows.push((at, at + KILL_SETTLE));
    }
    if let Some(at) = added_at {
        windows.push((at, at + ADD_SETTLE));
    }
    if let (Some(down), Some(up)) = (pg_down, pg_up) {
        // From the stop being asked (the event before pg_down).
        let asked = events
            .iter()
            .find(|(_, e)| e.starts_with("PostgreSQL stop asked"))
            .map_or(down, |(at, _)| *at);
        windows.push((asked - OUTAGE_BEFORE, up + OUTAGE_SETTLE));
    }
    let mut send_times: Vec<Vec<f64>> = vec![Vec::new(); brand_count];
    let mut throttled = vec![[0u64; 2]; brand_count];
    let mut requests = vec![[0u64; 2]; brand_count];
    let mut other_errors: BTreeMap<u16, u64> = BTreeMap::new();
    let mut replayed = [0u64; 2];
    for answer in &log.answers {
        let Some(times) = send_times.get_mut(answer.brand) else {
            continue;
        };
        let s = usize::from(answer.step == Step::Confirm);
        requests[answer.brand][s] += 1;
        match answer.status {
            200 => {
                if answer.step == Step::Send {
                    times.push(answer.at);
                }
                if !answer.fresh {
                    replayed[s] += 1;
                }
            }
            429 => throttled[answer.brand][s] += 1,
            other => *other_errors.entry(other).or_default() += 1,
        }
    }
    let limit = rate as f64;
    let mut steady_ratios = Vec::new();
    let mut overall_ratios = Vec::new();
    let mut per_brand_lines = Vec::new();
    for (b, times) in send_times.iter().enumerate() {
        let (steady, overall, secs) = brand_rates(times, &windows);
        steady_ratios.push(steady / limit);
        overall_ratios.push(overall / limit);
        let req: u64 = requests[b].iter().sum();
        let thr: u64 = throttled[b].iter().sum();
        per_brand_lines.push(format!(
            "| {} | {} | {} | {steady:.1}/s over {secs:.0} s = {:.3}× | {overall:.1}/s = {:.3}× | {} + {} of {req} ({:.2} %) |",
            brands[b],
            issued_per_brand[b],
            confirmed_per_brand[b],
            steady / limit,
            overall / limit,
            throttled[b][0],
            throttled[b][1],
            if req > 0 { thr as f64 / req as f64 * 100.0 } else { 0.0 },
        ));
    }
    let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let all_requests: u64 = requests.iter().flatten().sum();
    let all_throttled: u64 = throttled.iter().flatten().sum();
    let share = all_throttled as f64 / all_requests.max(1) as f64 * 100.0;
    let step_share = |step: usize| {
        let r: u64 = requests.iter().map(|r| r[step]).sum();
        let t: u64 = throttled.iter().map(|t| t[step]).sum();
        (t, r, t as f64 / r.max(1) as f64 * 100.0)
    };
    let (send_throttled, send_requests, send_share) = step_share(0);
    let (confirm_throttled, confirm_requests, confirm_share) = step_share(1);
    let worst_brand_share = (0..brand_count)
        .map(|b| {
            let r: u64 = requests[b].iter().sum();
            let t: u64 = throttled[b].iter().sum();
            t as f64 / r.max(1) as f64 * 100.0
        })
        .fold(0.0, f64::max);

    // The outage as the workers and the sandbox saw it.
    let mut workers: Vec<&Worker> = vec![&a, &b, &c];
    workers.extend(d.as_ref());
    let (mut paused_max, mut paused_workers) = (0.0f64, 0);
    for w in &workers {
        let (secs, count) = w.paused_secs();
        if count > 0 {
            paused_workers += 1;
        }
        paused_max = paused_max.max(secs);
    }
    let mut all_sends: Vec<f64> = send_times.iter().flatten().copied().collect();
    all_sends.sort_by(f64::total_cmp);
    let send_gap = match (pg_down, pg_up) {
        (Some(down), Some(up)) => all_sends
            .windows(2)
            .filter(|w| w[1] >= down - OUTAGE_BEFORE && w[0] <= up + OUTAGE_SETTLE)
            .map(|w| w[1] - w[0])
            .fold(0.0, f64::max),
        _ => 0.0,
    };
    let first_send = all_sends.first().copied().unwrap_or(started);
    let last_send = all_sends.last().copied().unwrap_or(ended);
    let run_secs = ended - started;
    let workers_cpu: f64 =
        workers.iter().map(|w| w.cpu).sum::<f64>() + extra.as_ref().map_or(0.0, |e| e.cpu);
    let cpu_span =
        |f: fn(&Cpu) -> f64| cpu_samples.last().map_or(0.0, f) - cpu_samples.first().map_or(0.0, f);
    let postgres_cpu = cpu_span(|c| c.postgres);
    let bench_cpu = cpu_span(|c| c.bench);
    let others_cpu = cpu_span(|c| c.machine)
        - cpu_span(|c| c.workers)
        - cpu_span(|c| c.sandbox)
        - postgres_cpu
        - bench_cpu;
    let machine_busy = match (machine_before, machine_after) {
        (Some((b0, t0)), Some((b1, t1))) if t1 > t0 => (b1 - b0) / (t1 - t0),
        _ => f64::NAN,
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    write_per_second(&dir.join("per-second.csv"), &log.answers, brand_count);
    let pg_errors = postgres_errors(pg.port(), &dir);

    // Everything printed before anything is asserted.
    println!("## workers bench: {rows} rows, {brand_count} brands, --rate-limit {rate} per brand, 3 workers (lease {LEASE_SECS} s)");
    println!();
    println!("events (s since the bench started; the run started at {started:.2}):");
    for (at, e) in &events {
        println!("  {at:8.2}  {e}");
    }
    println!("  first send answered 200 at {first_send:.2}, last at {last_send:.2}");
    println!();
    println!("timeline (5 s buckets, s since the bench started; sends and confirms answered per second, all brands; the slowest and fastest brand's sends/s; CPU cores busy: \"others\" is the whole machine less these three and the bench itself — other users' work, the kernel):");
    timeline(&log.answers, brand_count, started, ended, &cpu_samples);
    println!();
    println!("worker stderr (notable lines):");
    let mut all_workers = workers.clone();
    all_workers.extend(extra.as_ref());
    for w in &all_workers {
        let (secs, count) = w.paused_secs();
        println!(
            "  worker {} (started {:.2}{}; CPU {:.1} s; {count} pause(s), {secs:.1} s paused):",
            w.name,
            w.started_at,
            match (w.killed, w.exit) {
                (true, Some((at, _))) => format!(", SIGKILLed {at:.2}"),
                (false, Some((at, s))) => format!(", exited {at:.2} {s}"),
                _ => String::new(),
            },
            w.cpu
        );
        for (at, line) in w.notable_lines() {
            println!("    {at:8.2} {line}");
        }
        if let Some(summary) = w.summary(&dir) {
            let mut s = summary.clone();
            if let Some(o) = s.as_object_mut() {
                o.remove("brands");
            }
            println!("    summary: {s}");
        }
    }
    if !log.other.is_empty() {
        println!(
            "sandbox lines not about the campaign's requests: {}",
            log.other.len()
        );
        for line in log.other.iter().filter(|l| !l.starts_with("  ")).take(10) {
            println!("  {line}");
        }
    }
    println!();
    println!(
        "PostgreSQL's log, errors ({} lines, whole log in {}):",
        pg_errors.len(),
        dir.join("postgres.log").display()
    );
    for line in pg_errors.iter().take(60) {
        println!("  {line}");
    }
    if !stuck.is_empty() {
        println!();
        println!("journal rows still open (row, brand, state, attempts, updated_at, lease owner; its follow-up: state, attempts, updated_at, lease owner):");
        for line in stuck.lines() {
            println!("  {line}");
        }
    }
    println!();
    println!("journal tables (relname, inserted, updated, HOT-updated, live, dead, autovacuums, autoanalyzes, seq scans, index scans):");
    for line in table_stats.lines() {
        println!("  {line}");
    }
    println!("journal: sent more than once: {resent}");
    if !last_errors.is_empty() {
        println!("journal: last errors still recorded (step, code, message, rows):");
        for line in last_errors.lines() {
            println!("  {line}");
        }
    }
    println!("journal after the run: {states:?}; runs (id, pid, requests, 429s, sent, confirms, outcome, first→last send s):");
    for line in runs.lines() {
        println!("  {line}");
    }
    if let Some((at, status)) = &status_mid {
        println!();
        println!("`wechatpay campaign status` at {at:.2} (50 % issued):");
        for line in status.lines() {
            println!("  {line}");
        }
    }
    println!();
    println!("`wechatpay campaign status` at the end:");
    for line in journal_status.lines() {
        println!("  {line}");
    }
    println!();
    println!("| brand | issued | confirmed | steady send rate / limit | overall (first→last send) | 429 sends + confirms |");
    println!("|---|---|---|---|---|---|");
    for line in &per_brand_lines {
        println!("{line}");
    }
    println!();

    let succeeded = states.get("succeeded").copied().unwrap_or(0);
    println!("BENCH workers_rate_limit {rate} req/s");
    println!(
        "BENCH workers_brand_rate_min_ratio {:.3} x",
        min(&steady_ratios)
    );
    println!(
        "BENCH workers_brand_rate_mean_ratio {:.3} x",
        mean(&steady_ratios)
    );
    println!(
        "BENCH workers_brand_rate_overall_min_ratio {:.3} x",
        min(&overall_ratios)
    );
    println!("BENCH workers_429_share {share:.2} %");
    println!("BENCH workers_429_worst_brand_share {worst_brand_share:.2} %");
    println!("BENCH workers_429_send_share {send_share:.2} %");
    println!("BENCH workers_429_confirm_share {confirm_share:.2} %");
    println!("BENCH workers_issued {} coupons", send.1);
    println!("BENCH workers_confirmed {} coupons", confirm.1);
    println!("BENCH workers_duplicates {duplicates} coupons");
    println!("BENCH workers_missing {missing} rows");
    println!("BENCH workers_journal_succeeded {succeeded} rows");
    println!(
        "BENCH workers_replayed {} requests",
        replayed[0] + replayed[1]
    );
    println!("BENCH workers_requests_counted {runs_requests} requests");
    println!(
        "BENCH workers_requests_answered {} requests",
        log.answers.len()
    );
    println!("BENCH workers_pause_secs {paused_max:.1} s");
    println!("BENCH workers_paused_workers {paused_workers} workers");
    println!("BENCH workers_send_gap_secs {send_gap:.1} s");
    println!("BENCH workers_run_secs {run_secs:.1} s");
    println!("BENCH workers_nominal_secs {nominal:.1} s");
    println!(
        "BENCH workers_extra_worker {} runs",
        u8::from(extra.is_some())
    );
    println!(
        "BENCH workers_cpu_cores {:.2} cores",
        (workers_cpu + sandbox_cpu + postgres_cpu) / run_secs
    );
    println!("BENCH workers_machine_busy {:.2} x", machine_busy);
    println!(
        "BENCH workers_other_cpu_cores {:.2} cores",
        others_cpu / run_secs
    );
    println!();
    println!("| workers measurement | value | target |");
    println!("|---|---|---|");
    println!(
        "| {rows} rows over {brand_count} brands, 3 workers on one PostgreSQL journal (B SIGKILLed at 25 %, D added at 40 %, PostgreSQL down 10 s at 55 %), sandbox --rate-limit {rate} per brand: slowest brand's steady send rate / limit | {:.3}× (mean {:.3}×) | ≥ 0.95× |",
        min(&steady_ratios),
        mean(&steady_ratios)
    );
    println!(
        "| the same, first to last send, every disturbance included: slowest brand | {:.3}× | |",
        min(&overall_ratios)
    );
    println!("| answered 429 (sends and confirms) | {all_throttled} of {all_requests} ({share:.2} %; worst brand {worst_brand_share:.2} %) | < 1 % |");
    println!("| answered 429: sends / confirms | {send_throttled} of {send_requests} ({send_share:.2} %) / {confirm_throttled} of {confirm_requests} ({confirm_share:.2} %) | |");
    println!(
        "| coupons issued (sandbox) | {} ({coupons_issued} in its state) | exactly {rows} |",
        send.1
    );
    println!(
        "| coupons confirmed (sandbox) | {} ({coupons_confirmed} in its state) | exactly {rows} |",
        confirm.1
    );
    println!("| coupons issued twice for one row (one send_request_no) | {duplicates} | 0 |");
    println!("| journal rows without a coupon / coupons of no journal row | {missing} / {foreign} | 0 / 0 |");
    println!("| journal rows succeeded (confirms done) | {succeeded} ({follow_ups_done}) | exactly {rows} |");
    println!(
        "| resends answered with their recorded result (sends + confirms) | {} + {} | |",
        replayed[0], replayed[1]
    );
    println!(
        "| requests the workers counted (journal runs) / requests the sandbox answered (its log) | {runs_requests} / {} | |",
        log.answers.len()
    );
    println!("| PostgreSQL down 10 s: longest \"sending paused\" of a worker ({paused_workers} paused) / longest gap in the sandbox's sends | {paused_max:.1} s / {send_gap:.1} s | |");
    println!(
        "| the run: workers started → all ended / {nominal:.0} s without disturbances | {run_secs:.1} s | |"
    );
    println!(
        "| CPU / wall time: workers, sandbox, PostgreSQL, the bench, other processes; the whole machine's busy share ({cores} cores) | {:.2}, {:.2}, {:.2}, {:.2}, {:.2} cores; {:.0} % | |",
        workers_cpu / run_secs,
        sandbox_cpu / run_secs,
        postgres_cpu / run_secs,
        bench_cpu / run_secs,
        others_cpu / run_secs,
        machine_busy * 100.0
    );
    println!(
        "| rows left open when A, C and D ended / still open after one more worker ran | {open_after_run} / {} | 0 |",
        if extra.is_some() { open(&states).to_string() } else { "-".to_owned() }
    );
    if !other_errors.is_empty() {
        println!("| other error answers | {other_errors:?} | none |");
    }

    drop(extra);
    drop(d);
    drop(pg);
    // Closing the last connection checkpoints the state file (its WAL folded in).
    drop(store);
    if std::env::var_os("WORKERS_BENCH_KEEP").is_some() {
        let _ = std::fs::copy(&state, dir.join("sandbox-state.db"));
        eprintln!("files kept in {}", root.keep().display());
    }
    drop(state_dir);
    // The table says which targets were missed; the bench fails only when it
    // could not measure (a setup error, the workers not ending in time), so
    // `cargo xtask bench` still prints every other figure.
    let mut missed = Vec::new();
    if !phases_done {
        missed.push("the workers ended before every disturbance happened".to_owned());
    }
    if send.1 != rows as u64 || confirm.1 != rows as u64 {
        missed.push(format!(
            "issued {} / confirmed {} of {rows}",
            send.1, confirm.1
        ));
    }
    if duplicates > 0 || missing > 0 || foreign > 0 {
        missed.push(format!(
            "{duplicates} coupons issued twice, {missing} rows without a coupon, {foreign} coupons of no row"
        ));
    }
    if succeeded != rows as u64 {
        missed.push(format!("journal: {states:?}"));
    }
    for m in &missed {
        eprintln!("workers bench: target missed: {m}");
    }
    if let Some(why) = timed_out {
        panic!("{why} (the figures above are what was measured until then)");
    }
}

/// One line per second, brand and outcome: `second,brand,step,status,count`.
fn write_per_second(path: &Path, answers: &[Answer], brands: usize) {
    let mut counts: BTreeMap<(i64, usize, &str, u16), u64> = BTreeMap::new();
    for a in answers.iter().filter(|a| a.brand < brands) {
        let step = if a.step == Step::Send {
            "send"
        } else {
            "confirm"
        };
        *counts
            .entry((a.at.floor() as i64, a.brand, step, a.status))
            .or_default() += 1;
    }
    let mut out = String::from("second,brand,step,status,count\n");
    for ((second, brand, step, status), n) in counts {
        out.push_str(&format!("{second},{brand},{step},{status},{n}\n"));
    }
    let _ = std::fs::write(path, out);
}

/// Copies the server's log next to the workers' files; its ERROR lines and
/// the DETAIL / STATEMENT lines after them.
fn postgres_errors(port: u16, dir: &Path) -> Vec<String> {
    let Some(log) = PgCpu::dir(port).map(|d| d.join("postgres.log")) else {
        return vec!["(the server's log was not found)".into()];
    };
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::write(dir.join("postgres.log"), &text);
    let mut out = Vec::new();
    let mut in_error = false;
    for line in text.lines() {
        if line.contains("ERROR:") {
            in_error = true;
            out.push(line.to_owned());
        } else if in_error
            && (line.contains("DETAIL:") || line.contains("STATEMENT:") || line.starts_with('\t'))
        {
            out.push(line.to_owned());
        } else {
            in_error = false;
        }
    }
    out
}

/// (requests, issued, replayed, rejected) of `operation` in `/sandbox/stats`, or
/// `None` when the sandbox does not answer within 30 s.
fn try_stats(base_url: &str, operation: &str) -> Option<(u64, u64, u64, u64)> {
    use std::io::Read as _;
    let addr = base_url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    write!(
        stream,
        "GET /sandbox/stats HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).ok()?;
    let stats: Value = serde_json::from_str(reply.split_once("\r\n\r\n")?.1).ok()?;
    let op = &stats["operations"][operation];
    let get = |k: &str| op[k].as_u64().unwrap_or(0);
    Some((
        get("requests"),
        get("issued"),
        get("replayed"),
        get("rejected"),
    ))
}

/// `wechatpay campaign status --journal URL`: its output, or its error.
fn campaign_status(journal: &str) -> String {
    let out = Command::new(BIN)
        .args(["campaign", "status", "--journal", journal])
        .stdin(Stdio::null())
        .output();
    match out {
        Ok(o) => format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => format!("cannot run campaign status: {e}"),
    }
}

/// One line per 5 s: sends and confirms answered 200 per second, 429s, and the
/// slowest and fastest brand's sends per second.
fn timeline(answers: &[Answer], brands: usize, from: f64, to: f64, cpu: &[Cpu]) {
    const BUCKET: f64 = 5.0;
    let buckets = ((to - from) / BUCKET).ceil().max(1.0) as usize;
    let mut sends = vec![vec![0u64; brands]; buckets];
    let mut confirms = vec![0u64; buckets];
    let mut throttled = vec![0u64; buckets];
    for a in answers {
        let i = ((a.at - from) / BUCKET).floor();
        if i < 0.0 || i as usize >= buckets || a.brand >= brands {
            continue;
        }
        let i = i as usize;
        match (a.status, a.step) {
            (200, Step::Send) => sends[i][a.brand] += 1,
            (200, Step::Confirm) => confirms[i] += 1,
            (429, _) => throttled[i] += 1,
            _ => {}
        }
    }
    // CPU seconds so far at `t`: the last sample at or before it.
    let cpu_at = |t: f64| {
        cpu.iter()
            .take_while(|c| c.at <= t)
            .last()
            .or(cpu.first())
            .map_or((0.0, 0.0, 0.0, 0.0), |c| {
                (c.workers, c.sandbox, c.postgres, c.machine - c.bench)
            })
    };
    let fds_at = |t: f64| {
        cpu.iter()
            .take_while(|c| c.at <= t)
            .last()
            .map_or(0, |c| c.sandbox_fds)
    };
    for i in 0..buckets {
        let (lo_t, hi_t) = (from + i as f64 * BUCKET, from + (i + 1) as f64 * BUCKET);
        let (w0, s0, p0, m0) = cpu_at(lo_t);
        let (w1, s1, p1, m1) = cpu_at(hi_t);
        let total: u64 = sends[i].iter().sum();
        let lo = sends[i].iter().min().copied().unwrap_or(0);
        let hi = sends[i].iter().max().copied().unwrap_or(0);
        println!(
            "  {lo_t:6.1}–{hi_t:6.1} s: sends {:7.1}/s (brands {:5.1}–{:5.1}/s), confirms {:7.1}/s, 429s {:4}; CPU cores: workers {:.2}, sandbox {:.2}, PostgreSQL {:.2}, others {:.2}; sandbox fds {}",
            total as f64 / BUCKET,
            lo as f64 / BUCKET,
            hi as f64 / BUCKET,
            confirms[i] as f64 / BUCKET,
            throttled[i],
            (w1 - w0) / BUCKET,
            (s1 - s0) / BUCKET,
            (p1 - p0) / BUCKET,
            ((m1 - m0) - (w1 - w0) - (s1 - s0) - (p1 - p0)) / BUCKET,
            fds_at(hi_t),
        );
    }
}
