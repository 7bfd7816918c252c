//! The PostgreSQL journal: the SQLite journal's tables and contract, shared by
//! any number of `send` workers.
//!
//! ```text
//! rows.lease_owner, follow_ups.lease_owner: the worker holding an open row or follow-up;
//!           held while that worker's lease (workers.lease_until) runs
//! workers   id (host:pid:nonce), host, boot, pid, started_at, seen_at, ended_at, rates
//! throttles step, brand, throttled_by, seq: each worker's last 429 of a step for a brand
//! rows.parked, follow_ups.parked: given up on by their worker's run (not waited for)
//! rows.claim_tok, follow_ups.claim_tok: the claim that leased them (a retried claim finds them)
//! ```
//!
//! - **Leases.** A claim takes open rows no live lease holds (`FOR UPDATE SKIP
//!   LOCKED`, so two workers never take the same row). A row is held while its
//!   worker's lease runs ([`LEASE`] from its last heartbeat, about once a second):
//!   one write per worker and beat, not one per row.
//!   A worker that dies stops extending them: when they expire, another worker
//!   claims the rows and resends them with their recorded numbers. A worker that
//!   died on this machine (same host and boot, its pid gone) loses its leases at
//!   once when a new worker starts there.
//! - **Time** is the server's (`clock_timestamp()`), so workers' clocks need not agree.
//! - **Rate.** Each heartbeat reports the brands answered 429 and reads the
//!   others' and how many workers are live; the runner divides each brand's rate
//!   among them (see `runner`).

mod conn;

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use postgres::Transaction;
use serde_json::{Map, Value};

use super::{
    now_ms, Beat, Binding, BrandCounts, Claimed, ClaimedFollowUp, Counts, FollowUpUpdate,
    NewFollowUp, NumberSource, Peers, RowRecord, RowSink, RunProgress, RunRecord, State, Store,
    Update, WorkerRecord, FORMAT,
};
use crate::error::CampaignError;
use conn::Conn;

/// How long a claimed row stays a worker's without a heartbeat: a dead worker's
/// rows are taken by the others this long after its last heartbeat.
pub const LEASE: Duration = Duration::from_secs(30);
/// A worker is counted live (for sharing the rate) while its last heartbeat is
/// this recent.
const LIVE: Duration = Duration::from_secs(3);
/// How long a sending worker waits for a lost server before its run fails.
const PATIENCE: Duration = Duration::from_secs(600);
/// Rows inserted per statement while the journal is created.
const INSERT_BATCH: usize = 1000;
/// The server's clock, in Unix milliseconds.
const NOW: &str = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";
/// An open row (or follow-up) no live lease holds: no worker, or one whose lease
/// (renewed by its heartbeats) ran out.
const FREE: &str = "(lease_owner IS NULL OR NOT EXISTS (SELECT 1 FROM workers w
     WHERE w.id = lease_owner AND w.lease_until > (extract(epoch FROM clock_timestamp()) * 1000)::bigint))";
/// Whether the journal's tables exist: read from the catalog with this statement's
/// snapshot (`to_regclass` may answer from a cache an advisory lock does not refresh,
/// and miss the tables another worker just committed).
const CAMPAIGN_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables
     WHERE schemaname = current_schema() AND tablename = 'campaign')";
/// Serialises journal creation among workers starting at once.
const CREATE_LOCK: i64 = 0x5750_434A;

const SCHEMA: &str = "
CREATE TABLE campaign (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    format BIGINT NOT NULL,
    operation_id TEXT NOT NULL,
    request_number_field TEXT NOT NULL,
    numbers TEXT NOT NULL CHECK (numbers IN ('derived', 'column')),
    input_path TEXT NOT NULL,
    input_sha256 TEXT NOT NULL,
    template_source TEXT NOT NULL,
    template_sha256 TEXT NOT NULL,
    template TEXT NOT NULL,
    columns TEXT NOT NULL,
    campaign_key TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE rows (
    row BIGINT PRIMARY KEY,
    line BIGINT NOT NULL,
    input TEXT NOT NULL,
    request_no TEXT NOT NULL,
    number_key TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'in_flight', 'confirming', 'succeeded', 'failed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    result TEXT,
    error_step TEXT CHECK (error_step IN ('send', 'follow_up')),
    error_code TEXT,
    error_message TEXT,
    updated_at BIGINT,
    brand TEXT NOT NULL DEFAULT '',
    lease_owner TEXT,
    parked BOOLEAN NOT NULL DEFAULT false,
    claim_tok BIGINT
);
CREATE INDEX rows_open_brand ON rows (brand, row) WHERE state IN ('pending', 'in_flight');
CREATE INDEX rows_lease ON rows (lease_owner) WHERE state IN ('pending', 'in_flight');
CREATE TABLE follow_ups (
    row BIGINT NOT NULL REFERENCES rows (row),
    item BIGINT NOT NULL,
    operation_id TEXT NOT NULL,
    request_no TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'in_flight', 'done', 'failed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    result TEXT,
    error_code TEXT,
    error_message TEXT,
    updated_at BIGINT,
    brand TEXT NOT NULL DEFAULT '',
    lease_owner TEXT,
    parked BOOLEAN NOT NULL DEFAULT false,
    claim_tok BIGINT,
    PRIMARY KEY (row, item)
);
CREATE INDEX follow_ups_number ON follow_ups (request_no);
CREATE INDEX follow_ups_open_brand ON follow_ups (brand, row, item)
    WHERE state IN ('pending', 'in_flight');
CREATE INDEX follow_ups_lease ON follow_ups (lease_owner) WHERE state IN ('pending', 'in_flight');
CREATE TABLE brands (brand TEXT PRIMARY KEY);
CREATE SEQUENCE throttle_seq;
CREATE TABLE throttles (
    step TEXT NOT NULL CHECK (step IN ('send', 'follow_up')),
    brand TEXT NOT NULL,
    seq BIGINT NOT NULL,
    throttled_by TEXT NOT NULL,
    PRIMARY KEY (step, brand, throttled_by)
);
CREATE TABLE runs (
    id BIGSERIAL PRIMARY KEY,
    worker TEXT NOT NULL,
    pid BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    first_send_at BIGINT,
    last_progress_at BIGINT,
    ended_at BIGINT,
    rate DOUBLE PRECISION NOT NULL,
    requests BIGINT NOT NULL DEFAULT 0,
    throttled BIGINT NOT NULL DEFAULT 0,
    completed BIGINT NOT NULL DEFAULT 0,
    sent BIGINT NOT NULL DEFAULT 0,
    last_send_at BIGINT,
    follow_ups BIGINT NOT NULL DEFAULT 0,
    outcome TEXT
);
CREATE TABLE workers (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    boot TEXT NOT NULL,
    pid BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    seen_at BIGINT NOT NULL,
    ended_at BIGINT,
    lease_until BIGINT NOT NULL DEFAULT 0,
    sending BOOLEAN NOT NULL DEFAULT true,
    rates TEXT NOT NULL DEFAULT '[]'
);
";

/// The connection string without its password (`postgres://u:***@h/db`,
/// `password=***`), for every message and log line. It reads the URL the way
/// the client does: the credentials run to the first `@` (a password may hold `/`
/// or `?`), and parameter names are percent-decoded.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let mut out = format!("{scheme}://");
    let after = match rest.split_once('@') {
        Some((credentials, after)) => {
            match credentials.split_once(':') {
                Some((user, _)) => out.push_str(&format!("{user}:***@")),
                None => out.push_str(&format!("{credentials}@")),
            }
            after
        }
        None => rest,
    };
    match after.split_once('?') {
        Some((head, query)) => {
            out.push_str(head);
            out.push('?');
            let pairs: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) if percent_decoded(k).eq_ignore_ascii_case("password") => {
                        format!("{k}=***")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            out.push_str(&pairs.join("&"));
        }
        None => out.push_str(after),
    }
    out
}

/// `%XX` sequences decoded (as the client decodes parameter names).
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod redaction {
    use super::redact_url;

    #[test]
    fn no_password_survives_however_it_is_written() {
        for (url, shown) in [
            (
                "postgres://app:s3cret@db:5432/x",
                "postgres://app:***@db:5432/x",
            ),
            ("postgres://app:ab/cd@db/x", "postgres://app:***@db/x"),
            (
                "postgresql://app:a?b@db/x?sslmode=require",
                "postgresql://app:***@db/x?sslmode=require",
            ),
            (
                "postgres://app@db/x?password=s3cret&sslmode=require",
                "postgres://app@db/x?password=***&sslmode=require",
            ),
            (
                "postgres://db/x?pass%77ord=s3cret",
                "postgres://db/x?pass%77ord=***",
            ),
            ("postgres://app@db/x", "postgres://app@db/x"),
        ] {
            let redacted = redact_url(url);
            assert_eq!(redacted, shown);
            assert!(!redacted.contains("s3cret") && !redacted.contains("ab/cd"));
        }
    }
}

/// This machine: its host name, and where its pids mean something: the boot id
/// and the pid namespace (containers sharing a host name and boot id have their
/// own). Empty when that cannot be known (no `/proc`): no pid is then judged.
fn this_machine() -> (String, String) {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    };
    let mut host = read("/proc/sys/kernel/hostname");
    if host.is_empty() {
        host = std::env::var("HOSTNAME").unwrap_or_else(|_| "unknown-host".into());
    }
    let boot = read("/proc/sys/kernel/random/boot_id");
    let namespace = std::fs::read_link("/proc/self/ns/pid")
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let pids = if boot.is_empty() || namespace.is_empty() {
        String::new()
    } else {
        format!("{boot}/{namespace}")
    };
    (host, pids)
}

/// Whether process `pid` of this machine is gone.
fn process_gone(pid: i64) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        // SAFETY: signal 0 checks that the process exists; nothing is sent.
        let alive = unsafe { libc::kill(pid, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH);
        !alive
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        false
    }
}

/// An open PostgreSQL journal.
pub(crate) struct Postgres {
    conn: Conn,
    label: String,
    /// This worker's id; `None` for a reader (`status`, `report`).
    worker: Option<String>,
    lease_ms: i64,
    /// The last 429 report read (`throttle_seq`): later ones are news.
    last_throttle: i64,
    /// Claims made so far: each claim's token, so that a claim retried after its
    /// COMMIT's answer was lost finds the rows it leased the first time.
    claims: i64,
    /// Whether this worker's row (and so its lease) is in `workers`.
    registered: bool,
    /// This machine's host name and pid scope (see [`this_machine`]), read once.
    machine: (String, String),
}

impl Postgres {
    /// Connects as a sending worker, registering it.
    pub fn open_for_send(url: &str, lease: Duration) -> Result<Postgres, CampaignError> {
        let label = redact_url(url);
        let conn = Conn::open(url, label.clone(), PATIENCE)?;
        let machine = this_machine();
        let nonce = format!("{:x}", now_ms() ^ (i64::from(std::process::id()) << 20));
        let worker = format!("{}:{}:{nonce}", machine.0, std::process::id());
        let mut journal = Postgres {
            conn,
            label,
            worker: Some(worker),
            lease_ms: lease_ms(lease),
            last_throttle: 0,
            claims: 0,
            registered: false,
            machine,
        };
        journal.check()?;
        Ok(journal)
    }

    /// Connects to read an existing journal.
    pub fn open_read_only(url: &str) -> Result<Postgres, CampaignError> {
        let label = redact_url(url);
        let conn = Conn::open(url, label.clone(), Duration::ZERO)?;
        let mut journal = Postgres {
            conn,
            label: label.clone(),
            worker: None,
            lease_ms: 0,
            last_throttle: 0,
            claims: 0,
            registered: false,
            machine: (String::new(), String::new()),
        };
        if journal.format()?.is_none() {
            return Err(CampaignError::Input(format!(
                "{label} holds no campaign journal (or it was never filled)"
            )));
        }
        journal.check()?;
        Ok(journal)
    }

    fn me(&self) -> String {
        self.worker.clone().unwrap_or_default()
    }

    /// The journal's format; `None` before its tables exist.
    fn format(&self) -> Result<Option<i64>, CampaignError> {
        self.conn.call(|tx| {
            let exists: bool = tx.query_one(CAMPAIGN_EXISTS, &[])?.get(0);
            if !exists {
                return Ok(None);
            }
            Ok(tx
                .query_opt("SELECT format FROM campaign WHERE id = 1", &[])?
                .map(|r| r.get(0)))
        })
    }

    /// Refuses a journal of another format, and a database that holds other tables.
    fn check(&mut self) -> Result<(), CampaignError> {
        match self.format()? {
            Some(FORMAT) => Ok(()),
            Some(other) => Err(CampaignError::Journal(format!(
                "{}: journal format {other}, this version reads format {FORMAT}",
                self.label
            ))),
            None => {
                let tables: i64 = self.conn.call(|tx| {
                    Ok(tx
                        .query_one(
                            "SELECT count(*) FROM information_schema.tables
                             WHERE table_schema = current_schema()",
                            &[],
                        )?
                        .get(0))
                })?;
                if tables > 0 {
                    return Err(CampaignError::Input(format!(
                        "{} holds {tables} table(s) but no campaign journal; give an empty database (or schema, with options=-csearch_path=NAME)",
                        self.label
                    )));
                }
                Ok(())
            }
        }
    }

    /// Takes back the leases of workers that died on this machine: same host, boot
    /// and pid namespace, silent for longer than a live worker is, their pid gone.
    fn bury_the_dead_here(&mut self) -> Result<(), CampaignError> {
        let (host, pids) = self.machine.clone();
        if pids.is_empty() {
            return Ok(());
        }
        let me = self.me();
        let live_ms = i64::try_from(LIVE.as_millis()).unwrap_or(i64::MAX);
        let here: Vec<(String, i64)> = self.conn.call(move |tx| {
            Ok(tx
                .query(
                    &format!(
                        "SELECT id, pid FROM workers WHERE host = $1 AND boot = $2 AND id <> $3
                           AND ended_at IS NULL AND seen_at < {NOW} - $4::bigint"
                    ),
                    &[&host, &pids, &me, &live_ms],
                )?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect())
        })?;
        let dead: Vec<String> = here
            .into_iter()
            .filter(|(_, pid)| process_gone(*pid))
            .map(|(id, _)| id)
            .collect();
        if dead.is_empty() {
            return Ok(());
        }
        self.conn.call(move |tx| {
            for id in &dead {
                expire(tx, id)?;
            }
            Ok(())
        })
    }

    /// Registers this worker before its first claim, run or heartbeat: the rows
    /// it takes are held by its lease.
    fn ensure_registered(&mut self) -> Result<(), CampaignError> {
        if self.registered || self.worker.is_none() {
            return Ok(());
        }
        self.register()
    }

    /// Registers this worker (and buries the dead of this machine).
    fn register(&mut self) -> Result<(), CampaignError> {
        let Some(me) = self.worker.clone() else {
            return Ok(());
        };
        self.bury_the_dead_here()?;
        let (host, boot) = self.machine.clone();
        let pid = i64::from(std::process::id());
        let lease = self.lease_ms;
        self.registered = true;
        self.conn.call(move |tx| {
            tx.execute(
                &format!(
                    "INSERT INTO workers (id, host, boot, pid, started_at, seen_at, lease_until)
                     VALUES ($1, $2, $3, $4, {NOW}, {NOW}, {NOW} + $5::bigint)
                     ON CONFLICT (id) DO NOTHING"
                ),
                &[&me, &host, &boot, &pid, &lease],
            )?;
            Ok(())
        })
    }
}

/// Gives a dead worker's leases up and marks it ended.
fn expire(tx: &mut Transaction<'_>, worker: &str) -> Result<(), postgres::Error> {
    tx.execute(
        "UPDATE rows SET lease_owner = NULL, parked = false
         WHERE lease_owner = $1 AND state IN ('pending', 'in_flight')",
        &[&worker],
    )?;
    tx.execute(
        "UPDATE follow_ups SET lease_owner = NULL, parked = false, state = 'pending'
         WHERE lease_owner = $1 AND state IN ('pending', 'in_flight')",
        &[&worker],
    )?;
    tx.execute(
        &format!(
            "UPDATE workers SET ended_at = {NOW}, lease_until = 0, rates = '[]' WHERE id = $1"
        ),
        &[&worker],
    )?;
    Ok(())
}

/// A lease in milliseconds: at least five seconds (several heartbeats, and longer
/// than a worker stays counted live without one).
fn lease_ms(lease: Duration) -> i64 {
    i64::try_from(lease.as_millis())
        .unwrap_or(i64::MAX)
        .max(5000)
}

fn i(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn u(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// What `fill` feeds the transaction that creates the journal.
enum Fed {
    Rows(Columns),
    End { keep: bool },
}

/// A batch of new rows, column by column (one `unnest` insert).
#[derive(Default)]
struct Columns {
    rows: Vec<i64>,
    lines: Vec<i64>,
    inputs: Vec<String>,
    numbers: Vec<String>,
    keys: Vec<String>,
    brands: Vec<String>,
}

enum Created {
    /// Another worker created the journal first.
    Already,
    Kept,
    Dropped,
}

/// Rows inserted while the journal is created, sent a batch at a time; a number
/// used twice is found in memory (the journal is new: no other worker writes rows
/// before it commits).
struct Sink {
    out: mpsc::SyncSender<Fed>,
    numbers: HashMap<String, u64>,
    batch: Columns,
    rows: u64,
    /// The transaction ended early (another worker created the journal, or an error).
    closed: bool,
}

impl Sink {
    fn flush(&mut self) {
        let batch = std::mem::take(&mut self.batch);
        if !batch.rows.is_empty() && !self.closed {
            self.closed = self.out.send(Fed::Rows(batch)).is_err();
        }
    }
}

impl RowSink for Sink {
    fn insert(
        &mut self,
        row: u64,
        line: u64,
        cells: &Map<String, Value>,
        request_no: &str,
        number_key: &str,
        brand: &str,
    ) -> Result<Result<(), u64>, CampaignError> {
        if let Some(other) = self.numbers.get(number_key) {
            return Ok(Err(*other));
        }
        self.numbers.insert(number_key.to_owned(), row);
        let batch = &mut self.batch;
        batch.rows.push(i(row));
        batch.lines.push(i(line));
        batch
            .inputs
            .push(serde_json::to_string(cells).unwrap_or_default());
        batch.numbers.push(request_no.to_owned());
        batch.keys.push(number_key.to_owned());
        batch.brands.push(brand.to_owned());
        self.rows += 1;
        if batch.rows.len() >= INSERT_BATCH {
            self.flush();
        }
        Ok(Ok(()))
    }
}

/// Creates the tables, the binding and the rows `inbox` brings, in one
/// transaction, under a lock that serialises workers starting at once.
fn create_tables(
    client: &mut postgres::Client,
    binding: &Binding,
    inbox: &mpsc::Receiver<Fed>,
) -> Result<Created, postgres::Error> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CREATE_LOCK])?;
    let exists: bool = tx.query_one(CAMPAIGN_EXISTS, &[])?.get(0);
    if exists {
        return Ok(Created::Already);
    }
    tx.batch_execute(SCHEMA)?;
    tx.execute(
        "INSERT INTO campaign (id, format, operation_id, request_number_field, numbers,
             input_path, input_sha256, template_source, template_sha256, template, columns,
             campaign_key, created_at)
         VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            &FORMAT,
            &binding.operation_id,
            &binding.request_number_field,
            &match binding.numbers {
                NumberSource::Derived => "derived",
                NumberSource::Column => "column",
            },
            &binding.input_path,
            &binding.input_sha256,
            &binding.template_source,
            &binding.template_sha256,
            &binding.template,
            &serde_json::to_string(&binding.columns).unwrap_or_default(),
            &binding.campaign_key,
            &binding.created_at,
        ],
    )?;
    let insert = tx.prepare(
        "INSERT INTO rows (row, line, input, request_no, number_key, brand)
         SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[],
                              $6::text[])",
    )?;
    loop {
        match inbox.recv() {
            Ok(Fed::Rows(batch)) => {
                tx.execute(
                    &insert,
                    &[
                        &batch.rows,
                        &batch.lines,
                        &batch.inputs,
                        &batch.numbers,
                        &batch.keys,
                        &batch.brands,
                    ],
                )?;
            }
            Ok(Fed::End { keep: true }) => {
                tx.batch_execute("INSERT INTO brands (brand) SELECT DISTINCT brand FROM rows")?;
                tx.commit()?;
                return Ok(Created::Kept);
            }
            // `fill` refused a row, or went away: nothing is kept.
            Ok(Fed::End { keep: false }) | Err(_) => return Ok(Created::Dropped),
        }
    }
}

fn binding_from(r: &postgres::Row) -> Binding {
    Binding {
        operation_id: r.get(0),
        request_number_field: r.get(1),
        numbers: if r.get::<_, String>(2) == "column" {
            NumberSource::Column
        } else {
            NumberSource::Derived
        },
        input_path: r.get(3),
        input_sha256: r.get(4),
        template_source: r.get(5),
        template_sha256: r.get(6),
        template: r.get(7),
        columns: serde_json::from_str(&r.get::<_, String>(8)).unwrap_or_default(),
        campaign_key: r.get(9),
        created_at: r.get(10),
    }
}

fn object(text: &str) -> Option<Map<String, Value>> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// The statements of one transaction, each prepared once (a statement sent as
/// text is prepared on every call: two round trips instead of one).
#[derive(Default)]
struct Statements(HashMap<&'static str, postgres::Statement>);

impl Statements {
    fn get(
        &mut self,
        tx: &mut Transaction<'_>,
        sql: &'static str,
    ) -> Result<postgres::Statement, postgres::Error> {
        if let Some(statement) = self.0.get(sql) {
            return Ok(statement.clone());
        }
        let statement = tx.prepare(sql)?;
        self.0.insert(sql, statement.clone());
        Ok(statement)
    }

    fn execute(
        &mut self,
        tx: &mut Transaction<'_>,
        sql: &'static str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<u64, postgres::Error> {
        let statement = self.get(tx, sql)?;
        tx.execute(&statement, params)
    }
}

/// Applies one batch of updates (see `Update`); rows keep their lease until the
/// run ends, so a row this run gave up on is not taken again by it.
fn apply_updates(
    tx: &mut Transaction<'_>,
    me: &str,
    updates: &[Update],
    run: Option<(i64, RunProgress)>,
) -> Result<(), postgres::Error> {
    let now = now_ms();
    let mut cache = Statements::default();
    // Every `Sent` first, in one statement: it only moves a pending row in flight,
    // and any later update of the same row in the batch comes after it anyway.
    let sent: Vec<i64> = updates
        .iter()
        .filter_map(|u| match u {
            Update::Sent { row } => Some(i(*row)),
            _ => None,
        })
        .collect();
    if !sent.is_empty() {
        cache.execute(
            tx,
            "UPDATE rows SET state = 'in_flight', updated_at = $2
             WHERE row = ANY($1) AND state = 'pending' AND lease_owner = $3",
            &[&sent, &now, &me],
        )?;
    }
    // Every write names this worker's lease: an outcome that comes back after the row
    // went to another worker (this one was cut off longer than its lease) is dropped,
    // never written over what that worker recorded.
    // Rows whose follow-ups settle in this batch are locked first, in row order:
    // two workers confirming two coupons of one row then take turns (each sees the
    // other's, and one of them marks the row done), and never lock in crossed order.
    let settling: Vec<i64> = {
        let mut rows: Vec<i64> = updates
            .iter()
            .filter_map(|u| match u {
                Update::FollowUp { row, .. } => Some(i(*row)),
                _ => None,
            })
            .collect();
        rows.sort_unstable();
        rows.dedup();
        rows
    };
    if !settling.is_empty() {
        cache.execute(
            tx,
            "SELECT 1 FROM rows WHERE row = ANY($1) ORDER BY row FOR UPDATE",
            &[&settling],
        )?;
    }
    let attempt = tx.prepare(
        "UPDATE rows SET state = $2, attempts = attempts + 1, result = $3,
             error_code = $4, error_message = $5, updated_at = $6,
             error_step = CASE WHEN $4::text IS NULL THEN NULL ELSE 'send' END, parked = $8
         WHERE row = $1 AND lease_owner = $7 AND state IN ('pending', 'in_flight')",
    )?;
    for update in updates {
        match update {
            Update::Succeeded {
                row,
                result,
                note,
                follow_ups,
            } => {
                let state = if follow_ups.is_empty() {
                    State::Succeeded
                } else {
                    State::Confirming
                };
                let code = note.as_ref().map(|_| "REPLY_NOT_DECODED");
                let written = tx.execute(
                    &attempt,
                    &[
                        &i(*row),
                        &state.as_str(),
                        &result.to_string(),
                        &code,
                        note,
                        &now,
                        &me,
                        &false,
                    ],
                )?;
                if written == 1 {
                    insert_follow_ups(tx, &mut cache, *row, follow_ups, now)?;
                }
            }
            // A refusal, or an unknown outcome resent now or (parked) by a later run.
            Update::Failed { row, code, message }
            | Update::Retrying { row, code, message }
            | Update::Unresolved { row, code, message } => {
                let (state, parked) = match update {
                    Update::Failed { .. } => (State::Failed, false),
                    Update::Retrying { .. } => (State::InFlight, false),
                    _ => (State::Pending, true),
                };
                tx.execute(
                    &attempt,
                    &[
                        &i(*row),
                        &state.as_str(),
                        &None::<String>,
                        code,
                        message,
                        &now,
                        &me,
                        &parked,
                    ],
                )?;
            }
            Update::Released { row } => {
                cache.execute(
                    tx,
                    "UPDATE rows SET state = 'pending', updated_at = $2, lease_owner = NULL,
                         parked = false
                     WHERE row = $1 AND state IN ('pending', 'in_flight') AND lease_owner = $3",
                    &[&i(*row), &now, &me],
                )?;
            }
            Update::NotSent { row, code, message } => {
                cache.execute(
                    tx,
                    "UPDATE rows SET state = 'failed', error_step = 'send', error_code = $2,
                         error_message = $3, updated_at = $4
                     WHERE row = $1 AND state IN ('pending', 'in_flight') AND lease_owner = $5",
                    &[&i(*row), code, message, &now, &me],
                )?;
            }
            Update::Sent { .. } => {}
            Update::FollowUp {
                row,
                item,
                update,
                declared,
            } => apply_follow_up(tx, &mut cache, me, (*row, *item), update, *declared, now)?,
        }
    }
    if let Some((id, p)) = run {
        cache.execute(
            tx,
            "UPDATE runs SET first_send_at = $2, last_progress_at = $3, requests = $4,
                 throttled = $5, completed = $6, sent = $7, last_send_at = $8, follow_ups = $9
             WHERE id = $1",
            &[
                &id,
                &p.first_send_at,
                &now,
                &i(p.requests),
                &i(p.throttled),
                &i(p.completed),
                &i(p.sent),
                &p.last_send_at,
                &i(p.follow_ups),
            ],
        )?;
    }
    Ok(())
}

fn insert_follow_ups(
    tx: &mut Transaction<'_>,
    cache: &mut Statements,
    row: u64,
    follow_ups: &[NewFollowUp],
    now: i64,
) -> Result<(), postgres::Error> {
    for f in follow_ups {
        cache.execute(
            tx,
            "INSERT INTO follow_ups (row, item, operation_id, request_no, body, updated_at, brand)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (row, item) DO NOTHING",
            &[
                &i(row),
                &i64::from(f.item),
                &f.operation_id,
                &f.request_no,
                &Value::Object(f.body.clone()).to_string(),
                &now,
                &f.brand,
            ],
        )?;
    }
    Ok(())
}

fn apply_follow_up(
    tx: &mut Transaction<'_>,
    cache: &mut Statements,
    me: &str,
    (row, item): (u64, u32),
    update: &FollowUpUpdate,
    declared: Option<&wechatpay_runtime::FollowUp>,
    now: i64,
) -> Result<(), postgres::Error> {
    let (row, item) = (i(row), i64::from(item));
    // As for rows: only while this worker holds it (see `apply_updates`).
    let attempt = "UPDATE follow_ups SET state = $3, attempts = attempts + 1, result = $4,
             error_code = $5, error_message = $6, updated_at = $7, parked = $9
         WHERE row = $1 AND item = $2 AND lease_owner = $8 AND state = 'in_flight'";
    match update {
        FollowUpUpdate::Done { result, note } => {
            let code = note.as_ref().map(|_| "NOTE");
            let written = cache.execute(
                tx,
                attempt,
                &[
                    &row,
                    &item,
                    &"done",
                    &result.to_string(),
                    &code,
                    note,
                    &now,
                    &me,
                    &false,
                ],
            )?;
            if written == 0 {
                return Ok(());
            }
            // The row's result shows the state after the last step.
            let changed = declared.map(|d| [d.while_field, d.done_field]);
            for field in changed.iter().flatten() {
                if let Some(Value::String(value)) = result.get(*field) {
                    cache.execute(
                        tx,
                        "UPDATE rows SET result = jsonb_set(coalesce(result, '{}')::jsonb,
                             ARRAY[$2::text], to_jsonb($3::text))::text
                         WHERE row = $1",
                        &[&row, &field.to_string(), value],
                    )?;
                }
            }
            cache.execute(
                tx,
                "UPDATE rows SET state = 'succeeded', updated_at = $2
                 WHERE row = $1 AND state = 'confirming' AND NOT EXISTS
                     (SELECT 1 FROM follow_ups f WHERE f.row = $1 AND f.state != 'done')",
                &[&row, &now],
            )?;
        }
        FollowUpUpdate::Failed { code, message } => {
            let written = cache.execute(
                tx,
                attempt,
                &[
                    &row,
                    &item,
                    &"failed",
                    &None::<String>,
                    code,
                    message,
                    &now,
                    &me,
                    &false,
                ],
            )?;
            if written == 0 {
                return Ok(());
            }
            cache.execute(
                tx,
                "UPDATE rows SET state = 'failed', error_step = 'follow_up', error_code = $2,
                     error_message = $3, updated_at = $4
                 WHERE row = $1 AND state = 'confirming'",
                &[&row, code, message, &now],
            )?;
        }
        FollowUpUpdate::Retrying { code, message }
        | FollowUpUpdate::Unresolved { code, message } => {
            // Given up on for this run: still its worker's (not taken again by it), but
            // not work the others wait for.
            let parked = matches!(update, FollowUpUpdate::Unresolved { .. });
            cache.execute(
                tx,
                attempt,
                &[
                    &row,
                    &item,
                    &"in_flight",
                    &None::<String>,
                    code,
                    message,
                    &now,
                    &me,
                    &parked,
                ],
            )?;
        }
        FollowUpUpdate::Released => {
            cache.execute(
                tx,
                "UPDATE follow_ups SET state = 'pending', updated_at = $3, lease_owner = NULL,
                     parked = false
                 WHERE row = $1 AND item = $2 AND state = 'in_flight' AND lease_owner = $4",
                &[&row, &item, &now, &me],
            )?;
        }
    }
    Ok(())
}

impl Store for Postgres {
    fn binding(&mut self) -> Result<Option<Binding>, CampaignError> {
        if self.format()?.is_none() {
            return Ok(None);
        }
        self.conn.call(|tx| {
            Ok(tx
                .query_opt(
                    "SELECT operation_id, request_number_field, numbers, input_path, input_sha256,
                        template_source, template_sha256, template, columns, campaign_key,
                        created_at
                     FROM campaign WHERE id = 1",
                    &[],
                )?
                .map(|r| binding_from(&r)))
        })
    }

    fn create(
        &mut self,
        binding: &Binding,
        fill: &mut dyn FnMut(&mut dyn RowSink) -> bool,
    ) -> Result<Option<u64>, CampaignError> {
        // `fill` reads the input on this thread; its rows go to the connection's
        // thread in batches, into one transaction that `fill`'s answer ends.
        let (batches, inbox) = mpsc::sync_channel::<Fed>(4);
        let binding = binding.clone();
        let answer = self
            .conn
            .start(move |client| create_tables(client, &binding, &inbox))?;
        let mut sink = Sink {
            out: batches,
            numbers: HashMap::new(),
            batch: Columns::default(),
            rows: 0,
            closed: false,
        };
        let keep = fill(&mut sink);
        sink.flush();
        let rows = sink.rows;
        let _ = sink.out.send(Fed::End { keep });
        drop(sink);
        let created = answer.recv().map_err(|_| {
            CampaignError::Journal(format!(
                "journal {}: its connection thread is gone",
                self.label
            ))
        })??;
        Ok(match created {
            Created::Already => None,
            Created::Kept => Some(rows),
            Created::Dropped => Some(0),
        })
    }

    fn counts(&mut self) -> Result<Counts, CampaignError> {
        self.conn.call(|tx| {
            let mut counts = Counts::default();
            for r in tx.query("SELECT state, count(*) FROM rows GROUP BY state", &[])? {
                counts.add(r.get(0), u(r.get(1)));
            }
            counts.failed_in_follow_up = u(tx
                .query_one(
                    "SELECT count(*) FROM rows WHERE state = 'failed' AND error_step = 'follow_up'",
                    &[],
                )?
                .get(0));
            for r in tx.query("SELECT state, count(*) FROM follow_ups GROUP BY state", &[])? {
                counts.follow_ups.add(r.get(0), u(r.get(1)));
            }
            Ok(counts)
        })
    }

    fn brands(&mut self) -> Result<Vec<String>, CampaignError> {
        self.conn.call(|tx| {
            Ok(tx
                .query("SELECT brand FROM brands ORDER BY brand", &[])?
                .iter()
                .map(|r| r.get(0))
                .collect())
        })
    }

    fn brand_counts(&mut self) -> Result<Vec<BrandCounts>, CampaignError> {
        let groups: Vec<(String, String, Option<String>, u64)> = self.conn.call(|tx| {
            Ok(tx
                .query(
                    "SELECT brand, state, CASE WHEN state = 'failed' THEN error_code END AS code,
                        count(*)
                     FROM rows GROUP BY brand, state, code ORDER BY brand",
                    &[],
                )?
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), u(r.get(3))))
                .collect())
        })?;
        Ok(BrandCounts::fold(groups))
    }

    fn claim(
        &mut self,
        wants: &[(String, u64)],
        limit: usize,
    ) -> Result<Vec<Claimed>, CampaignError> {
        self.ensure_registered()?;
        let wants = wants.to_vec();
        let me = self.me();
        let limit = i(limit as u64);
        self.claims += 1;
        let tok = self.claims;
        let found: Vec<(i64, String, String, i64, String, String)> = self.conn.call(move |tx| {
            let row_of = |r: &postgres::Row| -> (i64, String, String, i64, String, String) {
                (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5))
            };
            // A retry of this claim whose first COMMIT went through: the same rows.
            let earlier = tx.query(
                "SELECT row, input, request_no, attempts, state, brand FROM rows
                 WHERE lease_owner = $1 AND claim_tok = $2 AND state IN ('pending', 'in_flight')",
                &[&me, &tok],
            )?;
            if !earlier.is_empty() {
                return Ok(earlier.iter().map(row_of).collect());
            }
            // One statement, prepared once for every brand of the claim.
            let take = tx.prepare(&format!(
                "UPDATE rows r SET lease_owner = $3, parked = false, claim_tok = $5
                 FROM (SELECT row FROM rows
                       WHERE brand = $1 AND state IN ('pending', 'in_flight') AND row > $2
                         AND {FREE}
                       ORDER BY row LIMIT $4 FOR UPDATE SKIP LOCKED) picked
                 WHERE r.row = picked.row
                 RETURNING r.row, r.input, r.request_no, r.attempts, r.state, r.brand"
            ))?;
            let mut out = Vec::new();
            for (brand, after) in &wants {
                let rows = tx.query(&take, &[brand, &i(*after), &me, &limit, &tok])?;
                out.extend(rows.iter().map(row_of));
            }
            Ok(out)
        })?;
        let mut out = Vec::with_capacity(found.len());
        for (row, input, request_no, attempts, state, brand) in found {
            let Some(cells) = object(&input) else {
                return Err(CampaignError::Journal(format!(
                    "journal {}: row {row}: corrupt input",
                    self.label
                )));
            };
            out.push(Claimed {
                row: u(row),
                cells,
                request_no,
                attempts: u(attempts),
                brand,
                maybe_sent: attempts > 0 || state == State::InFlight.as_str(),
            });
        }
        out.sort_by(|a, b| a.brand.cmp(&b.brand).then(a.row.cmp(&b.row)));
        Ok(out)
    }

    fn apply(
        &mut self,
        updates: &[Update],
        run: Option<(i64, &RunProgress)>,
    ) -> Result<(), CampaignError> {
        let updates = updates.to_vec();
        let run = run.map(|(id, p)| (id, *p));
        let me = self.me();
        self.conn
            .call(move |tx| apply_updates(tx, &me, &updates, run))
    }

    fn start_run(&mut self, rate: f64) -> Result<i64, CampaignError> {
        self.ensure_registered()?;
        let me = self.me();
        let pid = i64::from(std::process::id());
        let (id, last_throttle) = self.conn.call(move |tx| {
            let r = tx.query_one(
                &format!(
                    "INSERT INTO runs (worker, pid, started_at, rate) VALUES ($1, $2, {NOW}, $3)
                     RETURNING id, (SELECT coalesce(max(seq), 0) FROM throttles)"
                ),
                &[&me, &pid, &rate],
            )?;
            Ok((r.get::<_, i64>(0), r.get::<_, i64>(1)))
        })?;
        // 429s reported before this run are history.
        self.last_throttle = last_throttle;
        Ok(id)
    }

    fn end_run(&mut self, id: i64, outcome: &str) -> Result<(), CampaignError> {
        let me = self.me();
        let outcome = outcome.to_owned();
        self.conn.call(move |tx| {
            tx.execute(
                &format!("UPDATE runs SET ended_at = {NOW}, outcome = $2 WHERE id = $1"),
                &[&id, &outcome],
            )?;
            expire(tx, &me)
        })
    }

    fn runs(&mut self) -> Result<Vec<RunRecord>, CampaignError> {
        self.conn.call(|tx| {
            Ok(tx
                .query(
                    "SELECT id, pid, started_at, first_send_at, last_progress_at, ended_at, rate,
                        requests, throttled, completed, outcome, sent, last_send_at, follow_ups
                     FROM runs ORDER BY id",
                    &[],
                )?
                .iter()
                .map(|r| RunRecord {
                    id: r.get(0),
                    pid: r.get(1),
                    started_at: r.get(2),
                    first_send_at: r.get(3),
                    last_progress_at: r.get(4),
                    ended_at: r.get(5),
                    rate: r.get(6),
                    requests: u(r.get(7)),
                    throttled: u(r.get(8)),
                    completed: u(r.get(9)),
                    outcome: r.get(10),
                    sent: u(r.get(11)),
                    last_send_at: r.get(12),
                    follow_ups: u(r.get(13)),
                })
                .collect())
        })
    }

    fn for_each_row(
        &mut self,
        each: &mut dyn FnMut(RowRecord) -> Result<(), CampaignError>,
    ) -> Result<(), CampaignError> {
        // A page at a time, so a report of millions of rows never holds them all.
        let mut after = 0i64;
        loop {
            let page: Vec<RowRecord> = self.conn.call(move |tx| {
                Ok(tx
                    .query(
                        "SELECT row, line, input, request_no, state, attempts, result, error_code,
                            error_message, error_step,
                            (SELECT string_agg(request_no, ';' ORDER BY item) FROM follow_ups f
                             WHERE f.row = rows.row),
                            brand
                         FROM rows WHERE row > $1 ORDER BY row LIMIT 5000",
                        &[&after],
                    )?
                    .iter()
                    .map(|r| RowRecord {
                        row: u(r.get(0)),
                        line: u(r.get(1)),
                        cells: object(r.get(2)).unwrap_or_default(),
                        request_no: r.get(3),
                        state: State::parse(r.get(4)),
                        attempts: u(r.get(5)),
                        result: r
                            .get::<_, Option<String>>(6)
                            .and_then(|t| serde_json::from_str(&t).ok()),
                        error_code: r.get(7),
                        error_message: r.get(8),
                        error_step: r.get(9),
                        follow_up_numbers: r.get(10),
                        brand: r.get(11),
                    })
                    .collect())
            })?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = i(last.row);
            for record in page {
                each(record)?;
            }
        }
    }

    fn reset_follow_ups(&mut self) -> Result<(), CampaignError> {
        // Only those no live worker holds: the others' are theirs.
        self.conn.call(|tx| {
            tx.execute(
                &format!(
                    "UPDATE follow_ups SET state = 'pending', lease_owner = NULL, parked = false
                     WHERE state = 'in_flight' AND {FREE}"
                ),
                &[],
            )?;
            Ok(())
        })
    }

    fn claim_follow_ups(
        &mut self,
        brands: &[String],
        limit: usize,
    ) -> Result<Vec<ClaimedFollowUp>, CampaignError> {
        self.ensure_registered()?;
        let brands = brands.to_vec();
        let me = self.me();
        let limit = i(limit as u64);
        self.claims += 1;
        let tok = self.claims;
        type Found = (i64, i64, String, String, String, i64, i64, String);
        let found: Vec<Found> = self.conn.call(move |tx| {
            let found_of = |r: &postgres::Row| -> Found {
                (
                    r.get(0),
                    r.get(1),
                    r.get(2),
                    r.get(3),
                    r.get(4),
                    r.get(5),
                    r.get(6),
                    r.get(7),
                )
            };
            // A retry of this claim whose first COMMIT went through: the same follow-ups.
            let earlier = tx.query(
                "SELECT f.row, f.item, f.operation_id, f.request_no, f.body, f.attempts,
                     (SELECT count(*) FROM follow_ups g
                      WHERE g.row = f.row AND g.state NOT IN ('done', 'failed')),
                     f.brand
                 FROM follow_ups f WHERE lease_owner = $1 AND claim_tok = $2
                   AND state = 'in_flight'",
                &[&me, &tok],
            )?;
            if !earlier.is_empty() {
                return Ok(earlier.iter().map(found_of).collect());
            }
            // One statement, prepared once for every brand of the claim.
            let take = tx.prepare(&format!(
                "UPDATE follow_ups f SET state = 'in_flight', lease_owner = $2,
                     parked = false, updated_at = {NOW}, claim_tok = $4
                 FROM (SELECT row, item FROM follow_ups
                       WHERE brand = $1 AND (state = 'pending' OR (state = 'in_flight'
                           AND {FREE}))
                       ORDER BY row, item LIMIT $3 FOR UPDATE SKIP LOCKED) picked
                 WHERE f.row = picked.row AND f.item = picked.item
                 RETURNING f.row, f.item, f.operation_id, f.request_no, f.body, f.attempts,
                     (SELECT count(*) FROM follow_ups g
                      WHERE g.row = f.row AND g.state NOT IN ('done', 'failed')),
                     f.brand"
            ))?;
            let mut out = Vec::new();
            for brand in &brands {
                let rows = tx.query(&take, &[brand, &me, &limit, &tok])?;
                out.extend(rows.iter().map(found_of));
            }
            Ok(out)
        })?;
        let mut out = Vec::with_capacity(found.len());
        for (row, item, operation_id, request_no, body, attempts, open, brand) in found {
            let Some(body) = object(&body) else {
                return Err(CampaignError::Journal(format!(
                    "journal {}: row {row}: corrupt follow-up {item}",
                    self.label
                )));
            };
            out.push(ClaimedFollowUp {
                row: u(row),
                item: u32::try_from(item).unwrap_or(0),
                operation_id,
                request_no,
                body,
                attempts: u(attempts),
                open_in_row: u32::try_from(open).unwrap_or(1).max(1),
                brand,
            });
        }
        out.sort_by(|a, b| {
            a.brand
                .cmp(&b.brand)
                .then(a.row.cmp(&b.row))
                .then(a.item.cmp(&b.item))
        });
        Ok(out)
    }

    fn running(&mut self) -> Result<bool, CampaignError> {
        let me = self.me();
        let live = i64::try_from(LIVE.as_millis()).unwrap_or(i64::MAX);
        self.conn.call(move |tx| {
            Ok(tx
                .query_one(
                    &format!(
                        "SELECT count(*) FROM workers
                         WHERE ended_at IS NULL AND seen_at > {NOW} - $1::bigint AND id <> $2"
                    ),
                    &[&live, &me],
                )?
                .get::<_, i64>(0)
                > 0)
        })
    }

    fn heartbeat(&mut self, beat: &Beat) -> Result<Peers, CampaignError> {
        self.ensure_registered()?;
        self.bury_the_dead_here()?;
        let me = self.me();
        let lease = self.lease_ms;
        let live_ms = i64::try_from(LIVE.as_millis()).unwrap_or(i64::MAX);
        let rates = serde_json::to_string(&beat.rates).unwrap_or_else(|_| "[]".into());
        let throttled: Vec<(&'static str, String)> = (beat.throttled.iter())
            .map(|b| ("send", b.clone()))
            .chain(
                beat.throttled_follow_ups
                    .iter()
                    .map(|b| ("follow_up", b.clone())),
            )
            .collect();
        let since = self.last_throttle;
        let sending = beat.sending;
        let (peers, seen) = self.conn.call(move |tx| {
            let now: i64 = tx.query_one(&format!("SELECT {NOW}"), &[])?.get(0);
            // The lease of every row and follow-up this worker holds, in one write.
            tx.execute(
                "UPDATE workers SET seen_at = $2, lease_until = $2::bigint + $5::bigint,
                     rates = $3, sending = $4
                 WHERE id = $1",
                &[&me, &now, &rates, &sending, &lease],
            )?;
            for (step, brand) in &throttled {
                tx.execute(
                    // Numbered, not timed: a report is news to whoever has not read its number.
                    "INSERT INTO throttles (step, brand, throttled_by, seq)
                     VALUES ($1, $2, $3, nextval('throttle_seq'))
                     ON CONFLICT (step, brand, throttled_by) DO UPDATE SET seq = excluded.seq",
                    &[step, brand, &me],
                )?;
            }
            let others_sending: i64 = tx
                .query_one(
                    "SELECT count(*) FROM workers WHERE ended_at IS NULL AND sending
                         AND seen_at > $1::bigint - $2::bigint AND id <> $3",
                    &[&now, &live_ms, &me],
                )?
                .get(0);
            let mut others: Vec<String> = Vec::new();
            let mut others_follow_ups: Vec<String> = Vec::new();
            let mut seen = since;
            for r in tx.query(
                "SELECT step, brand, seq FROM throttles WHERE seq > $1 AND throttled_by <> $2",
                &[&since, &me],
            )? {
                seen = seen.max(r.get::<_, i64>(2));
                match r.get::<_, &str>(0) {
                    "send" => others.push(r.get(1)),
                    _ => others_follow_ups.push(r.get(1)),
                }
            }
            let held: bool = tx
                .query_one(
                    // Through each other worker's own leases (an index lookup each), not
                    // a scan of every open row.
                    "SELECT EXISTS (SELECT 1 FROM workers w WHERE w.id <> $1 AND w.lease_until > $2
                         AND (EXISTS (SELECT 1 FROM rows r WHERE r.lease_owner = w.id
                                      AND r.state IN ('pending', 'in_flight') AND NOT r.parked)
                           OR EXISTS (SELECT 1 FROM follow_ups f WHERE f.lease_owner = w.id
                                      AND f.state IN ('pending', 'in_flight') AND NOT f.parked)))",
                    &[&me, &now],
                )?
                .get(0);
            Ok((
                Peers {
                    sending: u32::try_from(others_sending).unwrap_or(0).saturating_add(1),
                    throttled: others,
                    throttled_follow_ups: others_follow_ups,
                    others_hold_work: held,
                },
                seen,
            ))
        })?;
        self.last_throttle = seen;
        Ok(peers)
    }

    fn workers(&mut self) -> Result<Vec<WorkerRecord>, CampaignError> {
        let live_ms = i64::try_from(LIVE.as_millis()).unwrap_or(i64::MAX);
        self.conn.call(move |tx| {
            Ok(tx
                .query(
                    &format!(
                        "SELECT w.id, w.host, w.pid, w.started_at, w.seen_at, w.ended_at, w.rates,
                            w.ended_at IS NULL AND w.seen_at > {NOW} - $1::bigint,
                            (SELECT count(*) FROM rows r WHERE r.lease_owner = w.id
                                AND r.state IN ('pending', 'in_flight') AND w.lease_until > {NOW}),
                            (SELECT count(*) FROM follow_ups f WHERE f.lease_owner = w.id
                                AND f.state IN ('pending', 'in_flight') AND w.lease_until > {NOW})
                         FROM workers w ORDER BY w.started_at DESC"
                    ),
                    &[&live_ms],
                )?
                .iter()
                .map(|r| WorkerRecord {
                    id: r.get(0),
                    host: r.get(1),
                    pid: r.get(2),
                    started_at: r.get(3),
                    seen_at: r.get(4),
                    ended_at: r.get(5),
                    rates: serde_json::from_str(r.get(6)).unwrap_or_default(),
                    live: r.get(7),
                    leased_rows: u(r.get(8)),
                    leased_follow_ups: u(r.get(9)),
                })
                .collect())
        })
    }

    fn paused(&self) -> Option<Arc<AtomicBool>> {
        Some(self.conn.paused())
    }

    fn set_lease(&mut self, lease: Duration) {
        self.lease_ms = lease_ms(lease);
    }
}
