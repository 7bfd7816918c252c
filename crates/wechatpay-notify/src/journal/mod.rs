//! The journal: one SQLite file (WAL mode) per notify URL, one row per event id.
//!
//! ```text
//! events  event_id (primary key), event_type, create_time, received_at, brand_id,
//!         coupon_code, openid, stock_id, product_coupon_id, payload (decrypted JSON),
//!         confirm (confirmed | failed | pending | not_needed), confirm_request_no,
//!         attempts, next_attempt_at, error_code, error_message, coupon_state, note,
//!         announced (the confirm status last announced, e.g. printed by the CLI)
//! ```
//!
//! The file is marked with `PRAGMA application_id` ([`APPLICATION_ID`], "WPNT") and
//! `PRAGMA user_version` ([`FORMAT`]); any other SQLite file (a campaign journal, the
//! sandbox's state) is refused rather than written to. A notification is answered 2xx
//! only after its row is committed, so commits use `synchronous = FULL`: an
//! acknowledged notification is never delivered again, and a commit lost to a power
//! cut would lose it for good.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OpenFlags, Row};

use crate::record::{ConfirmStatus, EventRecord};

pub use wechatpay_campaign::journal::lock::lock_path;
use wechatpay_campaign::journal::lock::{LockError, LockFile};

/// `PRAGMA application_id` of a notify journal: "WPNT" in ASCII.
pub const APPLICATION_ID: i32 = 0x5750_4E54;

/// The journal format this version writes and reads (`PRAGMA user_version`).
pub const FORMAT: i32 = 1;

const SCHEMA: &str = "
CREATE TABLE events (
    event_id TEXT PRIMARY KEY NOT NULL,
    event_type TEXT NOT NULL,
    create_time TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    brand_id TEXT NOT NULL,
    coupon_code TEXT,
    openid TEXT,
    stock_id TEXT,
    product_coupon_id TEXT,
    payload TEXT NOT NULL,
    confirm TEXT NOT NULL
        CHECK (confirm IN ('confirmed', 'failed', 'pending', 'not_needed')),
    confirm_request_no TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    error_code TEXT,
    error_message TEXT,
    coupon_state TEXT,
    note TEXT,
    updated_at INTEGER,
    announced TEXT
);
CREATE INDEX events_pending ON events (next_attempt_at) WHERE confirm = 'pending';
";

const COLUMNS: &str = "event_id, event_type, create_time, received_at, brand_id, coupon_code,
    openid, stock_id, product_coupon_id, payload, confirm, confirm_request_no, attempts,
    error_code, error_message, coupon_state, note";

/// Why a journal cannot be used. Every message names the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// The file (or its lock file) cannot be created or opened for writing.
    #[error("cannot create or open the journal {}: {reason}", .path.display())]
    Create {
        /// The journal file.
        path: PathBuf,
        /// The operating system's or SQLite's reason.
        reason: String,
    },
    /// The file exists but is not a notify journal (another SQLite file, or not SQLite).
    #[error("{} is not a wechatpay notify journal: {reason}", .path.display())]
    NotAJournal {
        /// The journal file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// `report` on a file that does not exist.
    #[error("no journal at {}", .path.display())]
    Missing {
        /// The path given.
        path: PathBuf,
    },
    /// Another receiver holds the journal.
    #[error("another receiver is using the journal {} (lock {} held); stop it first", .path.display(), lock_path(.path).display())]
    Busy {
        /// The journal file.
        path: PathBuf,
    },
    /// A read or write failed.
    #[error("journal {}: {message}", .path.display())]
    Sqlite {
        /// The journal file.
        path: PathBuf,
        /// SQLite's message.
        message: String,
    },
}

/// Events by confirm status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Every event journaled.
    pub total: u64,
    /// Events whose confirm succeeded (or that WeChat Pay reports as already confirmed).
    pub confirmed: u64,
    /// Events whose confirm can never succeed.
    pub failed: u64,
    /// Events whose confirm is still to be made or retried.
    pub pending: u64,
    /// Events that ask for no follow-up.
    pub not_needed: u64,
}

/// What one confirm attempt changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Settle {
    pub confirm: ConfirmStatus,
    pub confirm_request_no: Option<String>,
    /// Whether an attempt was made (counted).
    pub attempted: bool,
    pub next_attempt_at: Option<i64>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub coupon_state: Option<String>,
    pub note: Option<String>,
}

/// An open journal.
#[derive(Debug)]
pub struct Journal {
    conn: Connection,
    path: PathBuf,
    _lock: Option<LockFile>,
}

/// Whether this process may create files in `dir` (access(2); root may even where
/// the mode bits say no, and then it truly can).
#[cfg(unix)]
fn writable(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt as _;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: access(2) reads the NUL-terminated path it is given and nothing else.
    unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) == 0 }
}

#[cfg(not(unix))]
fn writable(_dir: &Path) -> bool {
    true
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Journal {
    /// Opens the journal at `path` for receiving, creating it if it does not exist, and
    /// takes its lock (`PATH.lock`). A file that is not a notify journal is refused.
    /// Open it before listening, so that a journal that cannot be written stops the
    /// service before any notification is acknowledged.
    ///
    /// ```no_run
    /// let journal = wechatpay_notify::Journal::open("notify.db".as_ref())
    ///     .unwrap_or_else(|e| panic!("{e}")); // names the file and the reason
    /// let counts = journal.counts().unwrap();
    /// println!("{} events, {} confirms pending", counts.total, counts.pending);
    /// ```
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        let create = |reason: String| JournalError::Create {
            path: path.to_owned(),
            reason,
        };
        let existed = path.exists();
        if !existed {
            let parent = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            if !parent.is_dir() {
                return Err(create(format!(
                    "{} is not a directory (or does not exist)",
                    parent.display()
                )));
            }
            if !writable(parent) {
                return Err(create(format!(
                    "the directory {} is not writable",
                    parent.display()
                )));
            }
        } else if path.is_dir() {
            return Err(create("it is a directory".into()));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| create(e.to_string()))?;
        let journal = Journal {
            conn,
            path: path.to_owned(),
            _lock: None,
        };
        journal.check_kind()?;
        let lock = LockFile::acquire(path).map_err(|e| match e {
            LockError::Busy { .. } => JournalError::Busy {
                path: path.to_owned(),
            },
            LockError::Io { lock, source } => JournalError::Create {
                path: lock,
                reason: source.to_string(),
            },
        })?;
        let journal = Journal {
            _lock: Some(lock),
            ..journal
        };
        journal.setup(existed)?;
        Ok(journal)
    }

    /// Opens an existing journal to read it (`report`); never writes.
    pub fn open_read_only(path: &Path) -> Result<Journal, JournalError> {
        if !path.is_file() {
            return Err(JournalError::Missing {
                path: path.to_owned(),
            });
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| JournalError::Sqlite {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let journal = Journal {
            conn,
            path: path.to_owned(),
            _lock: None,
        };
        journal.check_kind()?;
        if journal.application_id()? != APPLICATION_ID {
            return Err(journal.not_a_journal("it is empty".into()));
        }
        Ok(journal)
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, e: impl std::fmt::Display) -> JournalError {
        JournalError::Sqlite {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    fn not_a_journal(&self, reason: String) -> JournalError {
        JournalError::NotAJournal {
            path: self.path.clone(),
            reason,
        }
    }

    fn application_id(&self) -> Result<i32, JournalError> {
        self.conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(|e| match e.sqlite_error_code() {
                Some(rusqlite::ErrorCode::NotADatabase) => {
                    self.not_a_journal("it is not an SQLite database".into())
                }
                _ => self.err(e),
            })
    }

    /// Refuses a file of another kind before anything is written to it.
    fn check_kind(&self) -> Result<(), JournalError> {
        self.conn
            .busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| self.err(e))?;
        let id = self.application_id()?;
        if id == APPLICATION_ID {
            let format: i32 = self
                .conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(|e| self.err(e))?;
            if format != FORMAT {
                return Err(self.not_a_journal(format!(
                    "journal format {format}; this version reads format {FORMAT}"
                )));
            }
            return Ok(());
        }
        let objects: i64 = self
            .conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if id != 0 || objects > 0 {
            return Err(self.not_a_journal(format!(
                "it is another kind of SQLite file (application_id {id:#010x}, {objects} schema objects); give a new file"
            )));
        }
        Ok(())
    }

    /// WAL, full sync, and the schema on a new (empty) file.
    fn setup(&self, existed: bool) -> Result<(), JournalError> {
        let create_or = |e: rusqlite::Error| {
            if existed {
                self.err(e)
            } else {
                JournalError::Create {
                    path: self.path.clone(),
                    reason: e.to_string(),
                }
            }
        };
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(create_or)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(self.err(format!("cannot switch to WAL mode (got {mode})")));
        }
        self.conn
            .execute_batch("PRAGMA synchronous = FULL;")
            .map_err(create_or)?;
        if self.application_id()? == APPLICATION_ID {
            return Ok(());
        }
        self.conn
            .execute_batch(&format!(
                "BEGIN IMMEDIATE;
                 PRAGMA application_id = {APPLICATION_ID};
                 PRAGMA user_version = {FORMAT};
                 {SCHEMA}
                 COMMIT;"
            ))
            .map_err(|e| {
                let _ = self.conn.execute_batch("ROLLBACK");
                create_or(e)
            })
    }

    /// Records a new event; `false` (and nothing written) when its id is already there.
    pub fn insert(&mut self, event: &EventRecord) -> Result<bool, JournalError> {
        let now = now_ms();
        let inserted = self
            .conn
            .execute(
                "INSERT INTO events (event_id, event_type, create_time, received_at, brand_id,
                     coupon_code, openid, stock_id, product_coupon_id, payload, confirm,
                     confirm_request_no, attempts, error_code, error_message, coupon_state, note,
                     updated_at, next_attempt_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                     ?17, ?18, NULL)
                 ON CONFLICT (event_id) DO NOTHING",
                params![
                    event.event_id,
                    event.event_type,
                    event.create_time,
                    event.received_at,
                    event.brand_id,
                    event.coupon_code,
                    event.openid,
                    event.stock_id,
                    event.product_coupon_id,
                    event.payload,
                    event.confirm.as_str(),
                    event.confirm_request_no,
                    event.attempts as i64,
                    event.error_code,
                    event.error_message,
                    event.coupon_state,
                    event.note,
                    now,
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(inserted == 1)
    }

    fn record(row: &Row<'_>) -> rusqlite::Result<EventRecord> {
        let confirm: String = row.get(10)?;
        Ok(EventRecord {
            event_id: row.get(0)?,
            event_type: row.get(1)?,
            create_time: row.get(2)?,
            received_at: row.get(3)?,
            brand_id: row.get(4)?,
            coupon_code: row.get(5)?,
            openid: row.get(6)?,
            stock_id: row.get(7)?,
            product_coupon_id: row.get(8)?,
            payload: row.get(9)?,
            confirm: ConfirmStatus::parse(&confirm).unwrap_or(ConfirmStatus::Pending),
            confirm_request_no: row.get(11)?,
            attempts: row.get::<_, i64>(12)?.max(0) as u64,
            error_code: row.get(13)?,
            error_message: row.get(14)?,
            coupon_state: row.get(15)?,
            note: row.get(16)?,
        })
    }

    fn select(
        &self,
        filter: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<EventRecord>, JournalError> {
        let sql = format!("SELECT {COLUMNS} FROM events {filter}");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(args, Self::record)
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e));
        rows
    }

    /// One event by id.
    pub fn get(&self, event_id: &str) -> Result<Option<EventRecord>, JournalError> {
        Ok(self.select("WHERE event_id = ?1", [event_id])?.pop())
    }

    /// Every event, in the order they were received.
    pub fn events(&self) -> Result<Vec<EventRecord>, JournalError> {
        self.select("ORDER BY rowid", [])
    }

    /// Calls `f` with each event in the order they were received, one at a time (a
    /// journal of millions of events is never held in memory).
    pub fn for_each<E: From<JournalError>>(
        &self,
        mut f: impl FnMut(EventRecord) -> Result<(), E>,
    ) -> Result<(), E> {
        let sql = format!("SELECT {COLUMNS} FROM events ORDER BY rowid");
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            f(Self::record(row).map_err(|e| self.err(e))?)?;
        }
        Ok(())
    }

    /// Events by confirm status.
    pub fn counts(&self) -> Result<Counts, JournalError> {
        let mut counts = Counts::default();
        let mut stmt = self
            .conn
            .prepare("SELECT confirm, count(*) FROM events GROUP BY confirm")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(|e| self.err(e))?;
        for row in rows {
            let (status, n) = row.map_err(|e| self.err(e))?;
            let n = n.max(0) as u64;
            counts.total += n;
            match ConfirmStatus::parse(&status) {
                Some(ConfirmStatus::Confirmed) => counts.confirmed += n,
                Some(ConfirmStatus::Failed) => counts.failed += n,
                Some(ConfirmStatus::NotNeeded) => counts.not_needed += n,
                _ => counts.pending += n,
            }
        }
        Ok(counts)
    }

    /// Pending events due for a confirm attempt at `now` (Unix ms), oldest first.
    pub(crate) fn due(&self, now: i64, limit: usize) -> Result<Vec<EventRecord>, JournalError> {
        self.select(
            "WHERE confirm = 'pending' AND coalesce(next_attempt_at, 0) <= ?1 ORDER BY coalesce(next_attempt_at, 0), rowid LIMIT ?2",
            params![now, limit as i64],
        )
    }

    /// When the next pending event that is not due at `now` (Unix ms) becomes due.
    pub(crate) fn next_due_after(&self, now: i64) -> Result<Option<i64>, JournalError> {
        self.conn
            .query_row(
                "SELECT min(next_attempt_at) FROM events WHERE confirm = 'pending' AND next_attempt_at > ?1",
                [now],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// Writes the outcome of a confirm attempt.
    pub(crate) fn settle(&mut self, event_id: &str, s: &Settle) -> Result<(), JournalError> {
        self.conn
            .execute(
                "UPDATE events SET confirm = ?2, confirm_request_no = coalesce(?3, confirm_request_no),
                     attempts = attempts + ?4, next_attempt_at = ?5, error_code = ?6,
                     error_message = ?7, coupon_state = coalesce(?8, coupon_state), note = ?9,
                     updated_at = ?10
                 WHERE event_id = ?1",
                params![
                    event_id,
                    s.confirm.as_str(),
                    s.confirm_request_no,
                    i64::from(s.attempted),
                    s.next_attempt_at,
                    s.error_code,
                    s.error_message,
                    s.coupon_state,
                    s.note,
                    now_ms(),
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Events whose confirm status changed since they were last announced
    /// ([`mark_announced`](Self::mark_announced)), in the order received: settled ones,
    /// pending ones that no confirmer of this run can settle
    /// ([`NOT_CONFIGURED`](crate::NOT_CONFIGURED)), and with `include_pending` every
    /// pending one never announced.
    pub fn unannounced(&self, include_pending: bool) -> Result<Vec<EventRecord>, JournalError> {
        self.select(
            "WHERE (announced IS NULL OR announced != confirm)
               AND (confirm != 'pending' OR ?1 OR error_code IS ?2) ORDER BY rowid",
            params![include_pending, crate::NOT_CONFIGURED],
        )
    }

    /// Remembers that `event_id` was announced with `status`, so a restart does not
    /// announce it again (until its status changes).
    pub fn mark_announced(
        &mut self,
        event_id: &str,
        status: ConfirmStatus,
    ) -> Result<(), JournalError> {
        self.conn
            .execute(
                "UPDATE events SET announced = ?2 WHERE event_id = ?1",
                params![event_id, status.as_str()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
