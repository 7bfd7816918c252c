//! The SQLite journal: one file (WAL mode) per campaign, one sender at a time.
//!
//! ```text
//! campaign  the binding: operation, request-number field, input and template
//!           (path and SHA-256), the template itself, the CSV header, the campaign key
//! rows      row, line, input (cells as JSON), request_no, state (pending, in_flight,
//!           confirming, succeeded, failed), attempts, result (decoded reply), error_step,
//!           error_code, error_message, brand (see [`brands`])
//! follow_ups  the second step of a row whose result needs one (see [`follow_ups`])
//! brands    the brands of a service provider's campaign (see [`brands`])
//! runs      one per `send`: start, first send, end, rate, requests, 429s, outcome
//! ```
//!
//! Every row and its request number are written in the transaction that
//! creates the journal, before any request is sent. `synchronous = NORMAL` is
//! enough: a commit lost to a power cut only makes a row look unsent, and
//! resending it with its recorded number returns the original result.
//!
//! A `send` holds an exclusive lock on `FILE.db.lock` (`flock`, Unix), so two
//! processes never send from one journal; `status` and `report` only read.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde_json::{Map, Value};

use super::{
    lock, now_ms, Beat, Binding, BrandCounts, Claimed, ClaimedFollowUp, Counts, NumberSource,
    Peers, RowRecord, RowSink, RunProgress, RunRecord, State, Store, Update, WorkerRecord, FORMAT,
};
use crate::error::CampaignError;

mod brands;
mod follow_ups;

/// `PRAGMA application_id` of a campaign journal: "WPCJ" in ASCII (the notify
/// journal is "WPNT", the sandbox's state file "WPSB"). A journal written
/// before files were marked (a `campaign` table, id 0) is marked when opened
/// for sending: its own `campaign.format` already says what it is.
pub const APPLICATION_ID: i32 = 0x5750_434A;

/// The other SQLite files of this project, named when one is given as a journal.
const OTHER_KINDS: [(i32, &str); 2] = [
    (
        0x5750_4E54,
        "a notify journal (wechatpay notify serve --journal)",
    ),
    (
        0x5750_5342,
        "a sandbox state file (wechatpay sandbox --state)",
    ),
];

const SCHEMA: &str = "
CREATE TABLE campaign (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    format INTEGER NOT NULL,
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
    created_at INTEGER NOT NULL
);
CREATE TABLE rows (
    row INTEGER PRIMARY KEY,
    line INTEGER NOT NULL,
    input TEXT NOT NULL,
    request_no TEXT NOT NULL,
    number_key TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'in_flight', 'confirming', 'succeeded', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    result TEXT,
    error_step TEXT CHECK (error_step IN ('send', 'follow_up')),
    error_code TEXT,
    error_message TEXT,
    updated_at INTEGER,
    brand TEXT NOT NULL DEFAULT ''
);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    pid INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    first_send_at INTEGER,
    last_progress_at INTEGER,
    ended_at INTEGER,
    rate REAL NOT NULL,
    requests INTEGER NOT NULL DEFAULT 0,
    throttled INTEGER NOT NULL DEFAULT 0,
    completed INTEGER NOT NULL DEFAULT 0,
    sent INTEGER NOT NULL DEFAULT 0,
    last_send_at INTEGER,
    follow_ups INTEGER NOT NULL DEFAULT 0,
    outcome TEXT
);
";

/// An open SQLite journal.
pub(crate) struct Sqlite {
    conn: Connection,
    path: PathBuf,
    _lock: Option<lock::LockFile>,
}

impl std::fmt::Debug for Sqlite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sqlite").field("path", &self.path).finish()
    }
}

impl Sqlite {
    /// Opens (creating if needed) the journal for sending, holding its lock.
    pub fn open_for_send(path: &Path) -> Result<Sqlite, CampaignError> {
        // A missing directory is the user's to fix, not an internal error
        // about the lock file beside the journal.
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
        if let Some(dir) = parent.filter(|d| !d.is_dir()) {
            return Err(CampaignError::Input(format!(
                "journal {}: {}: no such directory (create it, or give --journal a path in an existing one)",
                path.display(),
                dir.display()
            )));
        }
        let lock = lock::LockFile::acquire(path).map_err(|e| match e {
            lock::LockError::Busy { journal, lock } => CampaignError::Busy(format!(
                "another `wechatpay campaign send` is running on {} (lock {} held); wait for it or stop it first",
                journal.display(),
                lock.display()
            )),
            lock::LockError::Io { lock, source } => CampaignError::JournalLock { lock, source },
        })?;
        let conn = Connection::open(path).map_err(|e| CampaignError::journal(path, e))?;
        let mut journal = Sqlite {
            conn,
            path: path.to_owned(),
            _lock: Some(lock),
        };
        journal.setup()?;
        Ok(journal)
    }

    /// Opens an existing journal to read it (`status`, `report`).
    pub fn open_read_only(path: &Path) -> Result<Sqlite, CampaignError> {
        if !path.is_file() {
            return Err(CampaignError::Input(format!(
                "no journal at {}",
                path.display()
            )));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| CampaignError::journal(path, e))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| CampaignError::journal(path, e))?;
        let journal = Sqlite {
            conn,
            path: path.to_owned(),
            _lock: None,
        };
        if !journal.has_table("campaign")? {
            return Err(CampaignError::Input(format!(
                "{} is not a campaign journal (or it was never filled)",
                path.display()
            )));
        }
        journal.check_format()?;
        Ok(journal)
    }

    fn err(&self, e: rusqlite::Error) -> CampaignError {
        CampaignError::journal(&self.path, e)
    }

    fn has_table(&self, name: &str) -> Result<bool, CampaignError> {
        self.conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [name],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)
            .map_err(|e| self.err(e))
    }

    fn setup(&mut self) -> Result<(), CampaignError> {
        self.conn
            .busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| self.err(e))?;
        // Another project file is refused before anything is written to it.
        let id: i32 = self
            .conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if let Some((_, kind)) = OTHER_KINDS.iter().find(|(other, _)| *other == id) {
            return Err(CampaignError::Input(format!(
                "{} is {kind}, not a campaign journal; give a new file",
                self.path.display()
            )));
        }
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(CampaignError::corrupt(
                &self.path,
                format!("cannot switch to WAL mode (got {mode})"),
            ));
        }
        self.conn
            .execute_batch("PRAGMA synchronous = NORMAL;")
            .map_err(|e| self.err(e))?;
        if self.has_table("campaign")? {
            self.check_format()?;
            if self.format()? == Some(brands::FORMAT_BEFORE_BRANDS) {
                brands::migrate(&mut self.conn).map_err(|e| self.err(e))?;
            }
            if id != APPLICATION_ID {
                self.conn
                    .execute_batch(&format!(
                        "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {FORMAT};"
                    ))
                    .map_err(|e| self.err(e))?;
            }
            return Ok(());
        }
        let tables: i64 = self
            .conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if tables > 0 || id != 0 {
            return Err(CampaignError::Input(format!(
                "{} is an SQLite database but not a campaign journal (application_id {id:#010x}); give a new file",
                self.path.display()
            )));
        }
        Ok(())
    }

    /// The journal's format; `None` before its campaign row is written.
    fn format(&self) -> Result<Option<i64>, CampaignError> {
        self.conn
            .query_row("SELECT format FROM campaign WHERE id = 1", [], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))
    }

    fn check_format(&self) -> Result<(), CampaignError> {
        match self.format()? {
            None | Some(FORMAT) | Some(brands::FORMAT_BEFORE_BRANDS) => Ok(()),
            Some(other) => Err(CampaignError::Journal(format!(
                "{}: journal format {other}, this version reads format {FORMAT}",
                self.path.display()
            ))),
        }
    }

    /// What the journal is bound to; `None` for a new (empty) journal.
    pub fn binding(&self) -> Result<Option<Binding>, CampaignError> {
        if !self.has_table("campaign")? {
            return Ok(None);
        }
        self.conn
            .query_row(
                "SELECT operation_id, request_number_field, numbers, input_path, input_sha256,
                        template_source, template_sha256, template, columns, campaign_key, created_at
                 FROM campaign WHERE id = 1",
                [],
                |r| {
                    Ok(Binding {
                        operation_id: r.get(0)?,
                        request_number_field: r.get(1)?,
                        numbers: if r.get::<_, String>(2)? == "column" {
                            NumberSource::Column
                        } else {
                            NumberSource::Derived
                        },
                        input_path: r.get(3)?,
                        input_sha256: r.get(4)?,
                        template_source: r.get(5)?,
                        template_sha256: r.get(6)?,
                        template: r.get(7)?,
                        columns: serde_json::from_str(&r.get::<_, String>(8)?).unwrap_or_default(),
                        campaign_key: r.get(9)?,
                        created_at: r.get(10)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Creates the tables, the binding and every row in one transaction:
    /// `fill` inserts the rows; if it fails nothing is kept.
    pub fn create(
        &mut self,
        binding: &Binding,
        fill: &mut dyn FnMut(&mut dyn RowSink) -> bool,
    ) -> Result<Option<u64>, CampaignError> {
        let path = self.path.clone();
        let err = |e: rusqlite::Error| CampaignError::journal(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        tx.execute_batch(SCHEMA).map_err(err)?;
        tx.execute_batch(follow_ups::SCHEMA).map_err(err)?;
        tx.execute_batch(brands::SCHEMA).map_err(err)?;
        tx.execute_batch(&format!(
            "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {FORMAT};"
        ))
        .map_err(err)?;
        tx.execute(
            "INSERT INTO campaign (id, format, operation_id, request_number_field, numbers,
                 input_path, input_sha256, template_source, template_sha256, template, columns,
                 campaign_key, created_at)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                FORMAT,
                binding.operation_id,
                binding.request_number_field,
                match binding.numbers {
                    NumberSource::Derived => "derived",
                    NumberSource::Column => "column",
                },
                binding.input_path,
                binding.input_sha256,
                binding.template_source,
                binding.template_sha256,
                binding.template,
                serde_json::to_string(&binding.columns).unwrap_or_default(),
                binding.campaign_key,
                binding.created_at,
            ],
        )
        .map_err(err)?;
        let outcome = {
            let insert = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO rows (row, line, input, request_no, number_key, brand)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(err)?;
            let find = tx
                .prepare_cached("SELECT row FROM rows WHERE number_key = ?1")
                .map_err(err)?;
            let brand = tx
                .prepare_cached("INSERT OR IGNORE INTO brands (brand) VALUES (?1)")
                .map_err(err)?;
            let mut sink = Sink {
                insert,
                find,
                brand,
                rows: 0,
                path: &path,
            };
            fill(&mut sink).then_some(sink.rows)
        };
        match outcome {
            Some(rows) => {
                tx.commit().map_err(err)?;
                Ok(Some(rows))
            }
            None => {
                tx.rollback().map_err(err)?;
                Ok(Some(0))
            }
        }
    }

    /// Rows by state.
    pub fn counts(&self) -> Result<Counts, CampaignError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT state, count(*) FROM rows GROUP BY state")
            .map_err(|e| self.err(e))?;
        let mut counts = Counts::default();
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(|e| self.err(e))?;
        for row in rows {
            let (state, n) = row.map_err(|e| self.err(e))?;
            counts.add(&state, n as u64);
        }
        counts.failed_in_follow_up = self
            .conn
            .query_row(
                "SELECT count(*) FROM rows WHERE state = 'failed' AND error_step = 'follow_up'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map_err(|e| self.err(e))? as u64;
        counts.follow_ups = self.follow_up_counts()?;
        Ok(counts)
    }

    /// Takes up to `limit` open rows of each brand after that brand's row, in row
    /// order. They stay as they are (read ahead, pending) until [`Update::Sent`]:
    /// one sender holds the journal, and a run never takes a row twice.
    pub fn claim(
        &mut self,
        wants: &[(String, u64)],
        limit: usize,
    ) -> Result<Vec<Claimed>, CampaignError> {
        let path = self.path.clone();
        let err = |e: rusqlite::Error| CampaignError::journal(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        let mut out = Vec::new();
        {
            let mut select = tx
                .prepare_cached(
                    "SELECT row, input, request_no, attempts, state FROM rows
                     WHERE brand = ?1 AND state IN ('pending', 'in_flight') AND row > ?2
                     ORDER BY row LIMIT ?3",
                )
                .map_err(err)?;
            for (brand, after_row) in wants {
                let rows = select
                    .query_map(params![brand, *after_row as i64, limit as i64], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, i64>(3)?,
                            r.get::<_, String>(4)?,
                        ))
                    })
                    .map_err(err)?;
                for row in rows {
                    let (row, input, request_no, attempts, state) = row.map_err(err)?;
                    let cells = match serde_json::from_str(&input) {
                        Ok(Value::Object(map)) => map,
                        _ => {
                            return Err(CampaignError::corrupt(
                                &path,
                                format!("row {row}: corrupt input"),
                            ))
                        }
                    };
                    out.push(Claimed {
                        row: row as u64,
                        cells,
                        request_no,
                        attempts: attempts as u64,
                        brand: brand.clone(),
                        maybe_sent: attempts > 0 || state == State::InFlight.as_str(),
                    });
                }
            }
        }
        tx.commit().map_err(err)?;
        Ok(out)
    }

    /// Applies updates (and the run's counters) in one transaction.
    pub fn apply(
        &mut self,
        updates: &[Update],
        run: Option<(i64, &RunProgress)>,
    ) -> Result<(), CampaignError> {
        let path = self.path.clone();
        let err = |e: rusqlite::Error| CampaignError::journal(&path, e);
        let now = now_ms();
        let tx = self.conn.transaction().map_err(err)?;
        {
            let mut attempt = tx
                .prepare_cached(
                    "UPDATE rows SET state = ?2, attempts = attempts + 1, result = ?3,
                         error_code = ?4, error_message = ?5, updated_at = ?6,
                         error_step = CASE WHEN ?4 IS NULL THEN NULL ELSE 'send' END
                     WHERE row = ?1",
                )
                .map_err(err)?;
            let mut sent = tx
                .prepare_cached(
                    "UPDATE rows SET state = 'in_flight', updated_at = ?2
                     WHERE row = ?1 AND state = 'pending'",
                )
                .map_err(err)?;
            let mut release = tx
                .prepare_cached(
                    "UPDATE rows SET state = 'pending', updated_at = ?2
                     WHERE row = ?1 AND state = 'in_flight'",
                )
                .map_err(err)?;
            for update in updates {
                match update {
                    Update::Succeeded {
                        row,
                        result,
                        note,
                        follow_ups,
                    } => {
                        follow_ups::insert(&tx, *row, follow_ups, now).map_err(err)?;
                        let state = if follow_ups.is_empty() {
                            State::Succeeded
                        } else {
                            State::Confirming
                        };
                        attempt.execute(params![
                            *row as i64,
                            state.as_str(),
                            result.to_string(),
                            note.as_ref().map(|_| "REPLY_NOT_DECODED"),
                            note,
                            now
                        ])
                    }
                    Update::Failed { row, code, message } => attempt.execute(params![
                        *row as i64,
                        State::Failed.as_str(),
                        Option::<String>::None,
                        code,
                        message,
                        now
                    ]),
                    Update::Retrying { row, code, message } => attempt.execute(params![
                        *row as i64,
                        State::InFlight.as_str(),
                        Option::<String>::None,
                        code,
                        message,
                        now
                    ]),
                    Update::Unresolved { row, code, message } => attempt.execute(params![
                        *row as i64,
                        State::Pending.as_str(),
                        Option::<String>::None,
                        code,
                        message,
                        now
                    ]),
                    Update::Released { row } => release.execute(params![*row as i64, now]),
                    Update::NotSent { row, code, message } => tx
                        .prepare_cached(
                            "UPDATE rows SET state = 'failed', error_step = 'send', error_code = ?2,
                                 error_message = ?3, updated_at = ?4
                             WHERE row = ?1 AND state IN ('pending', 'in_flight')",
                        )
                        .and_then(|mut s| s.execute(params![*row as i64, code, message, now])),
                    Update::Sent { row } => sent.execute(params![*row as i64, now]),
                    Update::FollowUp {
                        row,
                        item,
                        update,
                        declared,
                    } => follow_ups::apply(&tx, *row, *item, update, *declared, now).map(|()| 1),
                }
                .map_err(err)?;
            }
            if let Some((id, progress)) = run {
                tx.prepare_cached(
                    "UPDATE runs SET first_send_at = ?2, last_progress_at = ?3, requests = ?4,
                         throttled = ?5, completed = ?6, sent = ?7, last_send_at = ?8,
                         follow_ups = ?9
                     WHERE id = ?1",
                )
                .map_err(err)?
                .execute(params![
                    id,
                    progress.first_send_at,
                    now,
                    progress.requests as i64,
                    progress.throttled as i64,
                    progress.completed as i64,
                    progress.sent as i64,
                    progress.last_send_at,
                    progress.follow_ups as i64
                ])
                .map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }

    /// Records the start of a run; returns its id.
    pub fn start_run(&mut self, rate: f64) -> Result<i64, CampaignError> {
        self.conn
            .execute(
                "INSERT INTO runs (pid, started_at, rate) VALUES (?1, ?2, ?3)",
                params![i64::from(std::process::id()), now_ms(), rate],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Records the end of a run.
    pub fn end_run(&mut self, id: i64, outcome: &str) -> Result<(), CampaignError> {
        self.conn
            .execute(
                "UPDATE runs SET ended_at = ?2, outcome = ?3 WHERE id = ?1",
                params![id, now_ms(), outcome],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Every run, oldest first.
    pub fn runs(&self) -> Result<Vec<RunRecord>, CampaignError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, pid, started_at, first_send_at, last_progress_at, ended_at, rate,
                        requests, throttled, completed, outcome, sent, last_send_at, follow_ups
                 FROM runs ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(RunRecord {
                    id: r.get(0)?,
                    pid: r.get(1)?,
                    started_at: r.get(2)?,
                    first_send_at: r.get(3)?,
                    last_progress_at: r.get(4)?,
                    ended_at: r.get(5)?,
                    rate: r.get(6)?,
                    requests: r.get::<_, i64>(7)? as u64,
                    throttled: r.get::<_, i64>(8)? as u64,
                    completed: r.get::<_, i64>(9)? as u64,
                    outcome: r.get(10)?,
                    sent: r.get::<_, i64>(11)? as u64,
                    last_send_at: r.get(12)?,
                    follow_ups: r.get::<_, i64>(13)? as u64,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Calls `each` for every row in row order.
    pub fn for_each_row(
        &self,
        each: &mut dyn FnMut(RowRecord) -> Result<(), CampaignError>,
    ) -> Result<(), CampaignError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT row, line, input, request_no, state, attempts, result, error_code,
                        error_message, error_step,
                        (SELECT group_concat(request_no, ';') FROM
                            (SELECT request_no FROM follow_ups f WHERE f.row = rows.row
                             ORDER BY item)),
                        {}
                 FROM rows ORDER BY row",
                self.brand_sql()?
            ))
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let get = |e: rusqlite::Error| CampaignError::journal(&self.path, e);
            let input: String = r.get(2).map_err(get)?;
            let result: Option<String> = r.get(6).map_err(get)?;
            each(RowRecord {
                row: r.get::<_, i64>(0).map_err(get)? as u64,
                line: r.get::<_, i64>(1).map_err(get)? as u64,
                cells: match serde_json::from_str(&input) {
                    Ok(Value::Object(map)) => map,
                    _ => Map::new(),
                },
                request_no: r.get(3).map_err(get)?,
                state: State::parse(&r.get::<_, String>(4).map_err(get)?),
                attempts: r.get::<_, i64>(5).map_err(get)? as u64,
                result: result.and_then(|t| serde_json::from_str(&t).ok()),
                error_code: r.get(7).map_err(get)?,
                error_message: r.get(8).map_err(get)?,
                error_step: r.get(9).map_err(get)?,
                follow_up_numbers: r.get(10).map_err(get)?,
                brand: r.get(11).map_err(get)?,
            })?;
        }
        Ok(())
    }

    /// Whether a `send` holds this journal now (Unix; elsewhere always false).
    pub fn is_locked(path: &Path) -> bool {
        lock::LockFile::held_by_other(path)
    }
}

/// Inserts rows while a journal is being created.
struct Sink<'a> {
    insert: rusqlite::CachedStatement<'a>,
    find: rusqlite::CachedStatement<'a>,
    brand: rusqlite::CachedStatement<'a>,
    rows: u64,
    path: &'a Path,
}

impl RowSink for Sink<'_> {
    fn insert(
        &mut self,
        row: u64,
        line: u64,
        cells: &Map<String, Value>,
        request_no: &str,
        number_key: &str,
        brand: &str,
    ) -> Result<Result<(), u64>, CampaignError> {
        let input = serde_json::to_string(cells).unwrap_or_default();
        let changed = self
            .insert
            .execute(params![
                row as i64,
                line as i64,
                input,
                request_no,
                number_key,
                brand
            ])
            .map_err(|e| CampaignError::journal(self.path, e))?;
        if changed == 1 {
            self.rows += 1;
            self.brand
                .execute([brand])
                .map_err(|e| CampaignError::journal(self.path, e))?;
            return Ok(Ok(()));
        }
        let other: i64 = self
            .find
            .query_row([number_key], |r| r.get(0))
            .map_err(|e| CampaignError::journal(self.path, e))?;
        Ok(Err(other as u64))
    }
}

impl Store for Sqlite {
    fn binding(&mut self) -> Result<Option<Binding>, CampaignError> {
        Sqlite::binding(self)
    }
    fn create(
        &mut self,
        binding: &Binding,
        fill: &mut dyn FnMut(&mut dyn RowSink) -> bool,
    ) -> Result<Option<u64>, CampaignError> {
        Sqlite::create(self, binding, fill)
    }
    fn counts(&mut self) -> Result<Counts, CampaignError> {
        Sqlite::counts(self)
    }
    fn brands(&mut self) -> Result<Vec<String>, CampaignError> {
        Sqlite::brands(self)
    }
    fn brand_counts(&mut self) -> Result<Vec<BrandCounts>, CampaignError> {
        Sqlite::brand_counts(self)
    }
    fn claim(
        &mut self,
        wants: &[(String, u64)],
        limit: usize,
    ) -> Result<Vec<Claimed>, CampaignError> {
        Sqlite::claim(self, wants, limit)
    }
    fn apply(
        &mut self,
        updates: &[Update],
        run: Option<(i64, &RunProgress)>,
    ) -> Result<(), CampaignError> {
        Sqlite::apply(self, updates, run)
    }
    fn start_run(&mut self, rate: f64) -> Result<i64, CampaignError> {
        Sqlite::start_run(self, rate)
    }
    fn end_run(&mut self, id: i64, outcome: &str) -> Result<(), CampaignError> {
        Sqlite::end_run(self, id, outcome)
    }
    fn runs(&mut self) -> Result<Vec<RunRecord>, CampaignError> {
        Sqlite::runs(self)
    }
    fn for_each_row(
        &mut self,
        each: &mut dyn FnMut(RowRecord) -> Result<(), CampaignError>,
    ) -> Result<(), CampaignError> {
        Sqlite::for_each_row(self, each)
    }
    fn reset_follow_ups(&mut self) -> Result<(), CampaignError> {
        Sqlite::reset_follow_ups(self)
    }
    fn claim_follow_ups(
        &mut self,
        brands: &[String],
        limit: usize,
    ) -> Result<Vec<ClaimedFollowUp>, CampaignError> {
        Sqlite::claim_follow_ups(self, brands, limit)
    }
    fn running(&mut self) -> Result<bool, CampaignError> {
        // A sender holds the lock; this handle holds it only when it is that sender.
        Ok(self._lock.is_none() && Sqlite::is_locked(&self.path))
    }
    fn heartbeat(&mut self, _beat: &Beat) -> Result<Peers, CampaignError> {
        Ok(Peers::alone())
    }
    fn workers(&mut self) -> Result<Vec<WorkerRecord>, CampaignError> {
        Ok(Vec::new())
    }
    fn paused(&self) -> Option<Arc<AtomicBool>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::journal::tests::binding;

    #[test]
    fn the_file_is_in_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.db");
        let mut journal = Sqlite::open_for_send(&path).unwrap();
        journal.create(&binding(), &mut |_| true).unwrap();
        let mode: String = journal
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn one_sender_per_journal_and_foreign_databases_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.db");
        let first = Sqlite::open_for_send(&path).unwrap();
        let err = Sqlite::open_for_send(&path).unwrap_err();
        assert!(matches!(err, CampaignError::Busy(_)), "{err}");
        assert!(Sqlite::is_locked(&path));
        drop(first);
        assert!(!Sqlite::is_locked(&path));
        Sqlite::open_for_send(&path).unwrap();

        let other = dir.path().join("other.db");
        Connection::open(&other)
            .unwrap()
            .execute_batch("CREATE TABLE t (x)")
            .unwrap();
        let err = Sqlite::open_for_send(&other).unwrap_err();
        assert!(err.to_string().contains("not a campaign journal"), "{err}");
        let err = Sqlite::open_read_only(&dir.path().join("missing.db")).unwrap_err();
        assert!(err.to_string().contains("no journal at"), "{err}");
    }

    fn application_id(path: &Path) -> i32 {
        Connection::open(path)
            .unwrap()
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_journal_is_marked_and_another_project_file_is_refused_by_its_mark() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.db");
        let mut journal = Sqlite::open_for_send(&path).unwrap();
        journal.create(&binding(), &mut |_| true).unwrap();
        drop(journal);
        assert_eq!(application_id(&path), APPLICATION_ID);

        // A journal of before the marks is marked when opened for sending.
        Connection::open(&path)
            .unwrap()
            .execute_batch("PRAGMA application_id = 0")
            .unwrap();
        drop(Sqlite::open_for_send(&path).unwrap());
        assert_eq!(application_id(&path), APPLICATION_ID);

        // A sandbox state file (the hostile run's mix-up, the other way round).
        let state = dir.path().join("state.db");
        Connection::open(&state)
            .unwrap()
            .execute_batch("PRAGMA application_id = 1464881986; CREATE TABLE meta (k, v);")
            .unwrap();
        let err = Sqlite::open_for_send(&state).unwrap_err();
        assert!(err.to_string().contains("a sandbox state file"), "{err}");
        assert!(err.to_string().contains("state.db"), "{err}");
    }
}
