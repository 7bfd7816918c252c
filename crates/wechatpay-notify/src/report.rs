//! `report`: one line per event, as CSV or JSON, read straight from the journal
//! (never held in memory whole).
//!
//! Columns: `event_id`, `event_type`, `create_time`, `received_at` (RFC 3339, UTC),
//! `brand_id`, `coupon_code`, `openid`, `stock_id`, `product_coupon_id`, `confirm`
//! (`confirmed`, `failed`, `pending`, `not_needed`), `confirm_request_no`, `attempts`,
//! `error_code`, `error_message`, `coupon_state`, `note`. The JSON report is an array,
//! one object per line, with the decrypted `payload` as well.

use std::io::Write;
use std::path::Path;

use crate::journal::{Journal, JournalError};
use crate::record::{EventRecord, Extra};

/// The report's columns, in order.
pub const COLUMNS: [&str; 16] = [
    "event_id",
    "event_type",
    "create_time",
    "received_at",
    "brand_id",
    "coupon_code",
    "openid",
    "stock_id",
    "product_coupon_id",
    "confirm",
    "confirm_request_no",
    "attempts",
    "error_code",
    "error_message",
    "coupon_state",
    "note",
];

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// One CSV row per event, with a header row.
    Csv,
    /// A JSON array, one object per event, with its decrypted payload.
    Json,
}

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The journal could not be opened or read.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The output could not be written (a closed pipe).
    #[error("cannot write the report")]
    Write(#[source] std::io::Error),
}

/// Unix milliseconds as RFC 3339 UTC.
pub fn utc(ms: i64) -> String {
    wechatpay_runtime::DateTime::from_unix(ms.div_euclid(1000), 0)
        .to_string()
        .replace("+00:00", "Z")
}

fn cells(r: &EventRecord) -> [String; 16] {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        r.event_id.clone(),
        r.event_type.clone(),
        r.create_time.clone(),
        utc(r.received_at),
        r.brand_id.clone(),
        o(&r.coupon_code),
        o(&r.openid),
        o(&r.stock_id),
        o(&r.product_coupon_id),
        r.confirm.as_str().to_owned(),
        o(&r.confirm_request_no),
        r.attempts.to_string(),
        o(&r.error_code),
        o(&r.error_message),
        o(&r.coupon_state),
        o(&r.note),
    ]
}

/// Writes the report of the journal at `path` to `out` (it only reads the journal, so
/// it works while a receiver runs).
///
/// ```no_run
/// let mut out = std::io::stdout().lock();
/// wechatpay_notify::report("notify.db".as_ref(), wechatpay_notify::ReportFormat::Csv, &mut out)?;
/// # Ok::<(), wechatpay_notify::ReportError>(())
/// ```
pub fn report(path: &Path, format: ReportFormat, out: &mut dyn Write) -> Result<(), ReportError> {
    let journal = Journal::open_read_only(path)?;
    let io = ReportError::Write;
    match format {
        ReportFormat::Csv => {
            let mut writer = csv::Writer::from_writer(&mut *out);
            let csv_err = |e: csv::Error| ReportError::Write(e.into());
            writer.write_record(COLUMNS).map_err(csv_err)?;
            journal.for_each(|r| writer.write_record(cells(&r)).map_err(csv_err))?;
            writer.flush().map_err(io)
        }
        ReportFormat::Json => {
            out.write_all(b"[").map_err(io)?;
            let mut first = true;
            journal.for_each(|r| {
                let item = r.line(Some(Extra {
                    received_at: utc(r.received_at),
                    note: r.note.clone(),
                    payload: r.payload_json(),
                }));
                out.write_all(if first { b"\n" } else { b",\n" })
                    .map_err(io)?;
                first = false;
                serde_json::to_writer(&mut *out, &item).map_err(|e| ReportError::Write(e.into()))
            })?;
            out.write_all(if first { b"]\n" } else { b"\n]\n" })
                .map_err(io)?;
            out.flush().map_err(io)
        }
    }
}
