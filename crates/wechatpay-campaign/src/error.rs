//! The errors of opening, running and reading a campaign.
//!
//! A failure of another library (SQLite, a file that cannot be read or
//! written, a CSV or JSON parser) is the `source()` of the variant that names
//! the file it was about; `Display` never repeats it, so a report of the
//! error chain prints each cause once.

use std::path::PathBuf;
use std::sync::Arc;

use crate::input::{InputError, RowProblem};
use crate::number::ShapeError;

/// How many invalid rows an error message lists (all are counted).
pub const LISTED_PROBLEMS: usize = 20;

/// Why a campaign cannot start or go on. Nothing is sent when any of these is
/// returned before the run starts.
#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    /// An input (CSV, template, journal path) that cannot be used as given;
    /// the message names the file and says why.
    #[error("{0}")]
    Input(String),
    /// An input file (CSV, template) that cannot be read or parsed.
    #[error(transparent)]
    InputFile(#[from] InputError),
    /// Rows (or the header) that break the operation's rules; nothing was sent.
    #[error("{}", invalid_rows_message(.problems, *.total))]
    InvalidRows {
        /// The first problems found (at most a few hundred).
        problems: Vec<RowProblem>,
        /// How many problems in all.
        total: usize,
    },
    /// The journal belongs to another operation, input or template.
    #[error("{0}")]
    Binding(String),
    /// Another process is sending from this journal.
    #[error("{0}")]
    Busy(String),
    /// The journal's content is not what this version reads (a corrupt row, a
    /// newer format); the message names the journal.
    #[error("{0}")]
    Journal(String),
    /// The journal's database cannot be opened, read or written.
    #[error("cannot use the journal {}", .path.display())]
    JournalDb {
        /// The journal file.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The journal's PostgreSQL database cannot be reached, read or written.
    #[error("cannot use the journal {journal}")]
    JournalPg {
        /// The connection string, without its password.
        journal: String,
        /// PostgreSQL's (or the connection's) error.
        #[source]
        source: postgres::Error,
    },
    /// The journal's lock file cannot be opened or locked.
    #[error("cannot lock {}", .lock.display())]
    JournalLock {
        /// The lock file (`JOURNAL.lock`).
        lock: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The journal writer failed earlier in this run; every later request to
    /// it is refused with that failure as the source.
    #[error("the journal writer stopped")]
    JournalWriter(#[source] Arc<CampaignError>),
    /// The journal writer went away before answering a request (its own
    /// failure is the error the run ends with).
    #[error("the journal writer stopped before answering")]
    JournalWriterGone,
    /// A thread or task of the run could not be started or failed.
    #[error("{what}")]
    Task {
        /// What failed (`cannot start the journal thread`).
        what: &'static str,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The report cannot be written (standard output closed, disk full).
    #[error("cannot write the report")]
    Report(#[source] std::io::Error),
    /// Request numbers cannot be derived for the operation's number field.
    #[error(transparent)]
    RequestNumber(#[from] ShapeError),
    /// The campaign cannot run as asked (no request number, bad rate, …).
    #[error("{0}")]
    Usage(String),
}

fn invalid_rows_message(problems: &[RowProblem], total: usize) -> String {
    let mut out = format!("{total} problem(s) in the input; nothing was sent:");
    for p in problems.iter().take(LISTED_PROBLEMS) {
        out.push_str(&format!("\n  {p}"));
    }
    if total > LISTED_PROBLEMS {
        out.push_str(&format!("\n  … and {} more", total - LISTED_PROBLEMS));
    }
    out
}

impl CampaignError {
    /// The journal at `path` failed in SQLite.
    pub(crate) fn journal(path: &std::path::Path, source: rusqlite::Error) -> Self {
        CampaignError::JournalDb {
            path: path.to_owned(),
            source,
        }
    }

    /// The PostgreSQL journal `journal` (its URL without password) failed.
    pub(crate) fn pg(journal: &str, source: postgres::Error) -> Self {
        CampaignError::JournalPg {
            journal: journal.to_owned(),
            source,
        }
    }

    /// The journal at `path` holds what this version cannot read.
    pub(crate) fn corrupt(path: &std::path::Path, what: impl std::fmt::Display) -> Self {
        CampaignError::Journal(format!("journal {}: {what}", path.display()))
    }

    /// A thread or task failed: `what` says which.
    pub fn task(
        what: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        CampaignError::Task {
            what,
            source: source.into(),
        }
    }
}
