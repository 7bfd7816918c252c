//! What the journal holds and hands out, whichever store keeps it.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};
use wechatpay_runtime::FollowUp;

/// Where a row stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Not sent yet, or sent with an outcome still unknown (sent again with its number).
    Pending,
    /// Sent, its answer not recorded yet (or an unknown outcome about to be
    /// resent). Rows a run reads ahead stay pending until their request goes
    /// out. A row left in flight by a killed run is sent again with its number.
    InFlight,
    /// Sent; its result awaits its follow-up (a coupon awaiting its confirm).
    Confirming,
    /// Sent, and followed up where its result needed it.
    Succeeded,
    /// Refused for good (a documented permanent error), or its follow-up failed for good.
    Failed,
}

impl State {
    /// The word stored in the journal.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::InFlight => "in_flight",
            State::Confirming => "confirming",
            State::Succeeded => "succeeded",
            State::Failed => "failed",
        }
    }

    pub(crate) fn parse(text: &str) -> State {
        match text {
            "in_flight" => State::InFlight,
            "confirming" => State::Confirming,
            "succeeded" => State::Succeeded,
            "failed" => State::Failed,
            _ => State::Pending,
        }
    }

    /// The report's status: in flight and confirming count as pending (not done).
    pub fn report_status(self) -> &'static str {
        match self {
            State::Pending | State::InFlight | State::Confirming => "pending",
            State::Succeeded => "succeeded",
            State::Failed => "failed",
        }
    }
}

/// Where the request numbers come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberSource {
    /// Derived from the campaign key and the row number.
    Derived,
    /// A column of the CSV.
    Column,
}

/// What a journal is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The id of the operation the campaign sends (`send-user-product-coupon`).
    pub operation_id: String,
    /// The request-number field of the operation.
    pub request_number_field: String,
    /// Where the request numbers come from: derived or a CSV column.
    pub numbers: NumberSource,
    /// The input CSV's path as given.
    pub input_path: String,
    /// SHA-256 of the input's bytes, hex.
    pub input_sha256: String,
    /// Where the template came from (`template.json`, `--body`).
    pub template_source: String,
    /// SHA-256 of the template's bytes, hex.
    pub template_sha256: String,
    /// The template, as JSON text.
    pub template: String,
    /// The CSV header.
    pub columns: Vec<String>,
    /// Hex of the campaign key the numbers are derived from.
    pub campaign_key: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// Rows by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Every row.
    pub total: u64,
    /// Rows not sent yet, or sent with an outcome still unknown.
    pub pending: u64,
    /// Rows whose request is out and whose answer is not recorded yet.
    pub in_flight: u64,
    /// Sent, awaiting the follow-up (confirm) of their result.
    pub confirming: u64,
    /// Rows sent, and followed up where their result needed it.
    pub succeeded: u64,
    /// Rows that failed for good.
    pub failed: u64,
    /// Of `failed`: rows whose send succeeded but whose follow-up failed for good.
    pub failed_in_follow_up: u64,
    /// The follow-up step's own counts.
    pub follow_ups: FollowUpCounts,
}

impl Counts {
    /// Adds `n` rows in `state` (the word stored in the journal).
    pub(crate) fn add(&mut self, state: &str, n: u64) {
        self.total += n;
        match State::parse(state) {
            State::Pending => self.pending += n,
            State::InFlight => self.in_flight += n,
            State::Confirming => self.confirming += n,
            State::Succeeded => self.succeeded += n,
            State::Failed => self.failed += n,
        }
    }

    /// Rows not known to be done (pending, in flight or awaiting their follow-up).
    pub fn open(&self) -> u64 {
        self.pending + self.in_flight + self.confirming
    }

    /// Rows not sent yet, or sent with an outcome still unknown.
    pub fn unsent(&self) -> u64 {
        self.pending + self.in_flight
    }

    /// Rows whose send took effect (whatever their follow-up did).
    pub fn sent(&self) -> u64 {
        self.confirming + self.succeeded + self.failed_in_follow_up
    }
}

/// A row taken for sending.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    /// The 1-based data row (the first row after the header is row 1).
    pub row: u64,
    /// The row's cells by column name, as written.
    pub cells: Map<String, Value>,
    /// Its request number, written before the first attempt.
    pub request_no: String,
    /// Attempts before this run.
    pub attempts: u64,
    /// The brand it acts for ('' for an operation without a brand field).
    pub brand: String,
    /// Whether a request may have gone out for it already (an attempt was recorded,
    /// or a run died with it in flight): it can then never be failed unsent.
    pub maybe_sent: bool,
}

/// A change to one row after an attempt (or none).
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    /// The send took effect; with follow-ups the row awaits them (`confirming`).
    Succeeded {
        /// The 1-based data row (the first row after the header is row 1).
        row: u64,
        /// The key fields of the answer (see [`crate::result`]).
        result: Value,
        /// Why it counts as done without a decoded answer, when that is the case.
        note: Option<String>,
        /// The follow-ups its results need, recorded in the same transaction.
        follow_ups: Vec<NewFollowUp>,
    },
    /// A permanent refusal: the row fails with this code.
    Failed {
        /// The 1-based data row (the first row after the header is row 1).
        row: u64,
        /// The error code: WeChat Pay's `code`, or the SDK's own (`HTTP_500`, `INVALID_ROW`, `LOCAL`) when there is none.
        code: String,
        /// What the error says.
        message: String,
    },
    /// Attempted, outcome unknown; stays in flight and is sent again.
    Retrying {
        /// The 1-based data row (the first row after the header is row 1).
        row: u64,
        /// The error code: WeChat Pay's `code`, or the SDK's own (`HTTP_500`, `INVALID_ROW`, `LOCAL`) when there is none.
        code: String,
        /// What the error says.
        message: String,
    },
    /// Attempted, outcome unknown; back to pending for a later run.
    Unresolved {
        /// The 1-based data row (the first row after the header is row 1).
        row: u64,
        /// The error code: WeChat Pay's `code`, or the SDK's own (`HTTP_500`, `INVALID_ROW`, `LOCAL`) when there is none.
        code: String,
        /// What the error says.
        message: String,
    },
    /// Taken but not sent: back to pending.
    Released {
        /// The 1-based data row (the first row after the header is row 1).
        row: u64,
    },
    /// Failed without a request: its brand refused the caller for good (see
    /// `runner::gate`) and no request of it ever went out.
    NotSent {
        /// The 1-based data row (the first row after the header is row 1).
        row: u64,
        /// The brand's refusal code (`NO_AUTH`).
        code: String,
        /// What the refusal says, and which row drew it.
        message: String,
    },
    /// Its request is going out now: a pending row becomes in flight (a row
    /// read ahead stays pending until then, so `status` counts requests).
    Sent {
        /// The 1-based data row (the first row after the header is row 1).
        row: u64,
    },
    /// An attempt at one of the row's follow-ups; when it is done, the fields it
    /// changes (the declaration's `while` and `done` fields) are copied into the
    /// row's result, so the report shows the state after the last step.
    FollowUp {
        /// The 1-based data row (the first row after the header is row 1).
        row: u64,
        /// Which result of the reply the follow-up is for (its index; 0 for a single result).
        item: u32,
        /// What the attempt did.
        update: FollowUpUpdate,
        /// The follow-up as the schema declares it, whose `while` and `done` fields are copied into the row's result once done.
        declared: Option<&'static FollowUp>,
    },
}

/// One row of the journal, for reports.
#[derive(Debug, Clone, PartialEq)]
pub struct RowRecord {
    /// The 1-based data row (the first row after the header is row 1).
    pub row: u64,
    /// The CSV line where the row starts (the header is line 1).
    pub line: u64,
    /// The row's cells by column name, as written.
    pub cells: Map<String, Value>,
    /// Its request number, written before the first attempt.
    pub request_no: String,
    /// Where the row stands.
    pub state: State,
    /// Attempts made so far.
    pub attempts: u64,
    /// The result's key fields (see [`crate::result`]).
    pub result: Option<Value>,
    /// The step an error came from: `send` or `follow_up`.
    pub error_step: Option<String>,
    /// The last error's code (for a failed row, why it failed).
    pub error_code: Option<String>,
    /// The last error's message.
    pub error_message: Option<String>,
    /// The request numbers of the row's follow-ups (`;` between several).
    pub follow_up_numbers: Option<String>,
    /// The brand it acts for ('' for an operation without a brand field).
    pub brand: String,
}

/// One `send` run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// The run's number in the journal, from 1.
    pub id: i64,
    /// The process id of the run.
    pub pid: i64,
    /// When the run started (Unix ms).
    pub started_at: i64,
    /// When its first request went out (Unix ms).
    pub first_send_at: Option<i64>,
    /// When it last completed a row (Unix ms).
    pub last_progress_at: Option<i64>,
    /// When it ended (Unix ms); `None` while it runs or after a crash.
    pub ended_at: Option<i64>,
    /// The rate it started at (requests per second).
    pub rate: f64,
    /// Requests of every step (resends and status queries included).
    pub requests: u64,
    /// Answers that were throttles (429 / `FREQUENCY_LIMITED`).
    pub throttled: u64,
    /// Rows that reached their end (succeeded or failed).
    pub completed: u64,
    /// Rows whose send took effect.
    pub sent: u64,
    /// When the last of those sends was answered (Unix ms).
    pub last_send_at: Option<i64>,
    /// Follow-ups that took effect in the run.
    pub follow_ups: u64,
    /// How it ended (`completed`, `interrupted` or `stopped`); `None` while it runs or after a crash.
    pub outcome: Option<String>,
}

impl RunRecord {
    /// Rows completed per second between the first send and the last progress.
    pub fn achieved_rate(&self) -> Option<f64> {
        let start = self.first_send_at?;
        let end = self.ended_at.or(self.last_progress_at)?;
        let secs = (end - start) as f64 / 1000.0;
        (secs > 0.0).then(|| self.completed as f64 / secs)
    }

    /// Sends that took effect per second, between the first send and the last one.
    pub fn send_rate(&self) -> Option<f64> {
        let start = self.first_send_at?;
        let secs = (self.last_send_at? - start) as f64 / 1000.0;
        (secs > 0.0).then(|| self.sent as f64 / secs)
    }
}

/// Counters of a run, written as it goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunProgress {
    /// When its first request went out (Unix ms).
    pub first_send_at: Option<i64>,
    /// Requests of every step (resends and status queries included).
    pub requests: u64,
    /// Answers that were throttles (429 / `FREQUENCY_LIMITED`).
    pub throttled: u64,
    /// Rows that reached their end (succeeded or failed).
    pub completed: u64,
    /// Rows whose send took effect.
    pub sent: u64,
    /// When the last of those sends was answered (Unix ms).
    pub last_send_at: Option<i64>,
    /// Follow-ups that took effect.
    pub follow_ups: u64,
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
/// A follow-up to record with its row's send outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFollowUp {
    /// Which result of the reply the follow-up is for (its index; 0 for a single result).
    pub item: u32,
    /// The follow-up operation's id (`confirm-send-user-product-coupon`).
    pub operation_id: String,
    /// The follow-up's request number, derived from the caller and the result.
    pub request_no: String,
    /// The request, path parameters and number included.
    pub body: Map<String, Value>,
    /// The brand it acts for: its operation's brand field ('' without one).
    pub brand: String,
}

/// A follow-up taken for sending.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedFollowUp {
    /// The 1-based data row (the first row after the header is row 1).
    pub row: u64,
    /// Which result of the reply the follow-up is for (its index; 0 for a single result).
    pub item: u32,
    /// The follow-up operation's id (`confirm-send-user-product-coupon`).
    pub operation_id: String,
    /// The follow-up's request number, derived from the caller and the result.
    pub request_no: String,
    /// The request, path parameters and number included.
    pub body: Map<String, Value>,
    /// Attempts before this run.
    pub attempts: u64,
    /// Follow-ups of the same row not done yet (this one included).
    pub open_in_row: u32,
    /// The brand it acts for ('' for an operation without a brand field).
    pub brand: String,
}

/// A change to one follow-up after an attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum FollowUpUpdate {
    /// It took effect; `result` holds the answer's key fields.
    Done {
        /// The key fields of the answer (see [`crate::result`]).
        result: Value,
        /// Why it counts as done without a decoded answer, when that is the case.
        note: Option<String>,
    },
    /// It can never succeed: the row fails with this code.
    Failed {
        /// The error code: WeChat Pay's `code`, or the SDK's own (`HTTP_500`, `INVALID_ROW`, `LOCAL`) when there is none.
        code: String,
        /// What the error says.
        message: String,
    },
    /// Outcome unknown or not possible yet; stays taken and is sent again this run.
    Retrying {
        /// The error code: WeChat Pay's `code`, or the SDK's own (`HTTP_500`, `INVALID_ROW`, `LOCAL`) when there is none.
        code: String,
        /// What the error says.
        message: String,
    },
    /// Outcome unknown or not possible yet, and this run's allowance spent: it stays
    /// taken (so this run does not claim it again) until the run releases it at its
    /// end, or the next run's start puts it back to pending after a crash.
    Unresolved {
        /// The error code: WeChat Pay's `code`, or the SDK's own (`HTTP_500`, `INVALID_ROW`, `LOCAL`) when there is none.
        code: String,
        /// What the error says.
        message: String,
    },
    /// Taken but not sent: back to pending.
    Released,
}

/// Follow-ups by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FollowUpCounts {
    /// Every follow-up recorded.
    pub total: u64,
    /// Follow-ups that took effect.
    pub done: u64,
    /// Follow-ups that can never succeed.
    pub failed: u64,
    /// Pending or in flight.
    pub open: u64,
}

impl FollowUpCounts {
    /// Adds `n` follow-ups in `state` (the word stored in the journal).
    pub(crate) fn add(&mut self, state: &str, n: u64) {
        self.total += n;
        match state {
            "done" => self.done += n,
            "failed" => self.failed += n,
            _ => self.open += n,
        }
    }
}
