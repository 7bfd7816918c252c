//! The errors of opening, running and reading a campaign.

use crate::input::RowProblem;

/// How many invalid rows an error message lists (all are counted).
pub const LISTED_PROBLEMS: usize = 20;

/// Why a campaign cannot start or go on. Nothing is sent when any of these is
/// returned before the run starts.
#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    /// An input file that cannot be read or parsed (CSV, template).
    #[error("{0}")]
    Input(String),
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
    /// The journal cannot be read or written.
    #[error("{0}")]
    Journal(String),
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
    pub(crate) fn journal(path: &std::path::Path, e: impl std::fmt::Display) -> Self {
        CampaignError::Journal(format!("journal {}: {e}", path.display()))
    }
}
