//! The journal: one row per input row, each with its request number, written
//! before the first attempt; the runs that sent them; the follow-ups their
//! results need. One interface ([`Journal`], over the crate's `Store` trait), two
//! implementations:
//!
//! - **SQLite** (a file path, the default): one file per campaign, one sender
//!   at a time (a lock file beside it), for one machine.
//! - **PostgreSQL** (`postgres://…`): any number of `send` processes, on any
//!   machines, share the campaign's rows: each takes rows under a lease that
//!   expires, so a worker that dies loses its rows to the others, who resend
//!   them with the same numbers; the workers share each brand's rate (see
//!   [`Peers`]).
//!
//! ```text
//! campaign  the binding: operation, request-number field, input and template
//!           (path and SHA-256), the template itself, the CSV header, the campaign key
//! rows      row, line, input (cells as JSON), request_no, state (pending, in_flight,
//!           confirming, succeeded, failed), attempts, result (decoded reply), error_step,
//!           error_code, error_message, brand (see [`brands`])
//! follow_ups  the second step of a row whose result needs one
//! brands    the brands of a service provider's campaign (see [`brands`])
//! runs      one per `send`: start, first send, end, rate, requests, 429s, outcome
//! workers   (PostgreSQL) one per `send` process: host, pid, last heartbeat, rates
//! ```

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::CampaignError;

pub mod brands;
pub mod lock;
mod postgres;
mod records;
mod sqlite;
#[cfg(test)]
mod tests;

pub use brands::BrandCounts;
pub use postgres::{redact_url, LEASE};
pub use records::{
    now_ms, Binding, Claimed, ClaimedFollowUp, Counts, FollowUpCounts, FollowUpUpdate, NewFollowUp,
    NumberSource, RowRecord, RunProgress, RunRecord, State, Update,
};
pub use sqlite::APPLICATION_ID;

/// The journal format this version writes and reads (SQLite: also `PRAGMA user_version`).
/// Format 2 (before brands) is migrated when opened for sending and read as it is.
pub const FORMAT: i64 = 3;

/// Where a journal lives.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// An SQLite file.
    File(PathBuf),
    /// A PostgreSQL database, by its connection string (`postgres://` or
    /// `postgresql://`, with the usual options: `sslmode`, `password`, …).
    Postgres(String),
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::File(path) => f.debug_tuple("File").field(path).finish(),
            Location::Postgres(_) => f.debug_tuple("Postgres").field(&self.display()).finish(),
        }
    }
}

impl Location {
    /// A `postgres://` or `postgresql://` URL (any case) is a PostgreSQL journal;
    /// anything else a file.
    pub fn parse(spec: &Path) -> Location {
        let text = spec.to_str().unwrap_or_default();
        let scheme = text.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("postgres" | "postgresql") => Location::Postgres(text.to_owned()),
            _ => Location::File(spec.to_owned()),
        }
    }

    /// Refuses what is neither a file path nor a URL this version reads: another
    /// scheme, or a PostgreSQL `key=value` connection string (which would otherwise
    /// become a local file named after it, password included).
    fn check(spec: &Path) -> Result<Location, CampaignError> {
        let location = Location::parse(spec);
        let text = spec.to_string_lossy();
        if let Location::File(_) = location {
            if let Some((scheme, _)) = text.split_once("://") {
                return Err(CampaignError::Input(format!(
                    "journal: a {scheme}:// URL is not a journal; give a file path or a postgres:// URL"
                )));
            }
            let key_value = ["host=", "dbname=", "user=", "password=", "port="];
            if text.split_whitespace().any(|word| {
                key_value
                    .iter()
                    .any(|k| word.to_ascii_lowercase().starts_with(k))
            }) {
                return Err(CampaignError::Input(
                    "journal: looks like a PostgreSQL key=value connection string; give it as a postgres://USER@HOST/DB URL".into(),
                ));
            }
        }
        Ok(location)
    }

    /// How the journal is named in messages: the file's path, or the URL
    /// without its password.
    pub fn display(&self) -> String {
        match self {
            Location::File(path) => path.display().to_string(),
            Location::Postgres(url) => redact_url(url),
        }
    }
}

/// Inserts rows while a journal is being created.
pub trait RowSink {
    /// Inserts a row acting for `brand` ('' without a brand field); `Err(other_row)`
    /// when its `number_key` (scope and request number) is already used by `other_row`.
    fn insert(
        &mut self,
        row: u64,
        line: u64,
        cells: &Map<String, Value>,
        request_no: &str,
        number_key: &str,
        brand: &str,
    ) -> Result<Result<(), u64>, CampaignError>;
}

/// What a worker tells the others sharing its journal, about once a second.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Beat {
    /// Its run.
    pub run_id: i64,
    /// Each brand's send rate it allows itself now (requests per second).
    pub rates: Vec<(String, f64)>,
    /// Whether it has rows or follow-ups to send (a worker waiting for the others
    /// to finish takes no share of the rate).
    pub sending: bool,
    /// Brands its sends were answered 429 for since its last beat.
    pub throttled: Vec<String>,
    /// Brands its follow-ups were answered 429 for since its last beat.
    pub throttled_follow_ups: Vec<String>,
}

/// What the other workers on the journal say, read with each [`Beat`].
#[derive(Debug, Clone, PartialEq)]
pub struct Peers {
    /// Workers with rows or follow-ups to send, this one counted (at least 1):
    /// each brand's rate is divided among them.
    pub sending: u32,
    /// Brands another worker's sends were answered 429 for since this one's last beat.
    pub throttled: Vec<String>,
    /// The same for follow-ups.
    pub throttled_follow_ups: Vec<String>,
    /// Whether another live worker holds open rows or follow-ups: this one must
    /// not end its run before they are done (their worker may die).
    pub others_hold_work: bool,
}

impl Peers {
    /// A journal with one sender.
    pub fn alone() -> Peers {
        Peers {
            sending: 1,
            throttled: Vec::new(),
            throttled_follow_ups: Vec::new(),
            others_hold_work: false,
        }
    }
}

/// One `send` process on a shared journal, for `status`.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerRecord {
    /// Its id: host, pid and a nonce.
    pub id: String,
    /// The machine it runs on.
    pub host: String,
    /// Its process id there.
    pub pid: i64,
    /// When it started (Unix ms).
    pub started_at: i64,
    /// Its last heartbeat (Unix ms).
    pub seen_at: i64,
    /// When it ended cleanly (Unix ms); `None` while it runs or after it died.
    pub ended_at: Option<i64>,
    /// Whether its heartbeat is recent enough for its leases to hold.
    pub live: bool,
    /// Rows it holds under lease now.
    pub leased_rows: u64,
    /// Follow-ups it holds under lease now.
    pub leased_follow_ups: u64,
    /// Each brand's send rate it allowed itself at its last beat.
    pub rates: Vec<(String, f64)>,
}

/// A journal's storage: what the runner, `status` and `report` need of it.
/// [`Journal`] is the one way to reach it.
pub(crate) trait Store: Send {
    /// What the journal is bound to; `None` for a new (empty) journal.
    fn binding(&mut self) -> Result<Option<Binding>, CampaignError>;
    /// Creates the tables, the binding and every row in one transaction: `fill`
    /// inserts the rows and says whether to keep them. `Ok(None)`: another worker
    /// created the journal meanwhile (nothing of this one was kept).
    fn create(
        &mut self,
        binding: &Binding,
        fill: &mut dyn FnMut(&mut dyn RowSink) -> bool,
    ) -> Result<Option<u64>, CampaignError>;
    fn counts(&mut self) -> Result<Counts, CampaignError>;
    fn brands(&mut self) -> Result<Vec<String>, CampaignError>;
    fn brand_counts(&mut self) -> Result<Vec<BrandCounts>, CampaignError>;
    fn claim(
        &mut self,
        wants: &[(String, u64)],
        limit: usize,
    ) -> Result<Vec<Claimed>, CampaignError>;
    fn apply(
        &mut self,
        updates: &[Update],
        run: Option<(i64, &RunProgress)>,
    ) -> Result<(), CampaignError>;
    fn start_run(&mut self, rate: f64) -> Result<i64, CampaignError>;
    fn end_run(&mut self, id: i64, outcome: &str) -> Result<(), CampaignError>;
    fn runs(&mut self) -> Result<Vec<RunRecord>, CampaignError>;
    fn for_each_row(
        &mut self,
        each: &mut dyn FnMut(RowRecord) -> Result<(), CampaignError>,
    ) -> Result<(), CampaignError>;
    fn reset_follow_ups(&mut self) -> Result<(), CampaignError>;
    fn claim_follow_ups(
        &mut self,
        brands: &[String],
        limit: usize,
    ) -> Result<Vec<ClaimedFollowUp>, CampaignError>;
    /// Whether a `send` (other than this one) works on the journal now.
    fn running(&mut self) -> Result<bool, CampaignError>;
    /// Records this worker's beat; what the others say.
    fn heartbeat(&mut self, beat: &Beat) -> Result<Peers, CampaignError>;
    /// The workers that sent from the journal (none for SQLite).
    fn workers(&mut self) -> Result<Vec<WorkerRecord>, CampaignError>;
    /// Set while the store cannot reach its database and waits to reconnect.
    fn paused(&self) -> Option<Arc<AtomicBool>>;
    /// How long this worker's claims hold without a heartbeat (shared journals).
    fn set_lease(&mut self, _lease: std::time::Duration) {}
}

/// An open journal.
pub struct Journal {
    store: Box<dyn Store>,
    location: Location,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("location", &self.location.display())
            .finish()
    }
}

impl Journal {
    /// Opens (creating if needed) the journal for sending: an SQLite file, held
    /// by its lock, or a PostgreSQL database shared with other workers.
    pub fn open_for_send(spec: &Path) -> Result<Journal, CampaignError> {
        let location = Location::check(spec)?;
        let store: Box<dyn Store> = match &location {
            Location::File(path) => Box::new(sqlite::Sqlite::open_for_send(path)?),
            Location::Postgres(url) => Box::new(postgres::Postgres::open_for_send(url, LEASE)?),
        };
        Ok(Journal { store, location })
    }

    /// Opens an existing journal to read it (`status`, `report`).
    pub fn open_read_only(spec: &Path) -> Result<Journal, CampaignError> {
        let location = Location::check(spec)?;
        let store: Box<dyn Store> = match &location {
            Location::File(path) => Box::new(sqlite::Sqlite::open_read_only(path)?),
            Location::Postgres(url) => Box::new(postgres::Postgres::open_read_only(url)?),
        };
        Ok(Journal { store, location })
    }

    /// Where the journal lives.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// What the journal is bound to; `None` for a new (empty) journal.
    pub fn binding(&mut self) -> Result<Option<Binding>, CampaignError> {
        self.store.binding()
    }

    /// Creates the tables, the binding and every row in one transaction:
    /// `fill` inserts the rows; if it fails nothing is kept. `Ok(None)`: another
    /// worker created the journal meanwhile; read its binding.
    pub fn create<E>(
        &mut self,
        binding: &Binding,
        fill: impl FnOnce(&mut dyn RowSink) -> Result<(), E>,
    ) -> Result<Option<Result<u64, E>>, CampaignError> {
        let mut fill = Some(fill);
        let mut failure = None;
        let created = self.store.create(binding, &mut |sink| match fill
            .take()
            .map(|fill| fill(sink))
        {
            Some(Ok(())) => true,
            Some(Err(e)) => {
                failure = Some(e);
                false
            }
            None => false,
        })?;
        Ok(match (created, failure) {
            (_, Some(e)) => Some(Err(e)),
            (Some(rows), None) => Some(Ok(rows)),
            (None, None) => None,
        })
    }

    /// Rows by state.
    pub fn counts(&mut self) -> Result<Counts, CampaignError> {
        self.store.counts()
    }

    /// Every brand of the campaign, in order ('' alone for an operation without a brand field).
    pub fn brands(&mut self) -> Result<Vec<String>, CampaignError> {
        self.store.brands()
    }

    /// Rows by brand and outcome, brands in order.
    pub fn brand_counts(&mut self) -> Result<Vec<BrandCounts>, CampaignError> {
        self.store.brand_counts()
    }

    /// Takes up to `limit` open rows of each brand after that brand's row, in row
    /// order. They stay pending (read ahead) until [`Update::Sent`]; on a shared
    /// journal they are leased to this worker (and rows leased to another live
    /// worker are skipped, whatever their number).
    pub fn claim(
        &mut self,
        wants: &[(String, u64)],
        limit: usize,
    ) -> Result<Vec<Claimed>, CampaignError> {
        self.store.claim(wants, limit)
    }

    /// Applies updates (and the run's counters) in one transaction.
    pub fn apply(
        &mut self,
        updates: &[Update],
        run: Option<(i64, &RunProgress)>,
    ) -> Result<(), CampaignError> {
        self.store.apply(updates, run)
    }

    /// Records the start of a run; returns its id.
    pub fn start_run(&mut self, rate: f64) -> Result<i64, CampaignError> {
        self.store.start_run(rate)
    }

    /// Records the end of a run (and gives back its leases).
    pub fn end_run(&mut self, id: i64, outcome: &str) -> Result<(), CampaignError> {
        self.store.end_run(id, outcome)
    }

    /// Every run, oldest first.
    pub fn runs(&mut self) -> Result<Vec<RunRecord>, CampaignError> {
        self.store.runs()
    }

    /// Calls `each` for every row in row order.
    pub fn for_each_row(
        &mut self,
        mut each: impl FnMut(RowRecord) -> Result<(), CampaignError>,
    ) -> Result<(), CampaignError> {
        self.store.for_each_row(&mut each)
    }

    /// Puts follow-ups a killed run left in flight back to pending (on a shared
    /// journal: those whose lease expired).
    pub fn reset_follow_ups(&mut self) -> Result<(), CampaignError> {
        self.store.reset_follow_ups()
    }

    /// Takes up to `limit` pending follow-ups of each of `brands` in row order,
    /// marking them in flight.
    pub fn claim_follow_ups(
        &mut self,
        brands: &[String],
        limit: usize,
    ) -> Result<Vec<ClaimedFollowUp>, CampaignError> {
        self.store.claim_follow_ups(brands, limit)
    }

    /// Whether a `send` works on the journal now (SQLite: holds its lock; on a
    /// shared journal: a worker with a recent heartbeat).
    pub fn running(&mut self) -> Result<bool, CampaignError> {
        self.store.running()
    }

    /// Records this worker's beat and reads the others' (see [`Peers`]).
    pub fn heartbeat(&mut self, beat: &Beat) -> Result<Peers, CampaignError> {
        self.store.heartbeat(beat)
    }

    /// The workers that sent from a shared journal, newest first (none for SQLite).
    pub fn workers(&mut self) -> Result<Vec<WorkerRecord>, CampaignError> {
        self.store.workers()
    }

    /// Set while the journal's database cannot be reached (sending pauses).
    pub fn paused(&self) -> Option<Arc<AtomicBool>> {
        self.store.paused()
    }

    /// How long this worker's claims hold without its heartbeat, on a shared
    /// journal (default [`LEASE`]): a dead worker's rows wait this long.
    pub fn set_lease(&mut self, lease: std::time::Duration) {
        self.store.set_lease(lease);
    }

    /// Whether this journal may be shared by several workers.
    pub fn is_shared(&self) -> bool {
        matches!(self.location, Location::Postgres(_))
    }
}
