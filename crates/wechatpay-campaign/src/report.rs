//! Reading a journal: `status` (counts and rates) and `report` (one line per
//! input row, as CSV or JSON).
//!
//! Report columns: `row`, the input's columns as written, `request_no`,
//! `status` (`succeeded`, `failed`, `pending`), `attempts`, `error_code`,
//! `error_message`, then the result's key fields ([`crate::result`]:
//! `coupon_code`, `coupon_state`, …); a name that clashes with an earlier
//! column gets a `result.` prefix. The JSON report nests them under `result`.

use std::fmt;
use std::io::Write;
use std::path::Path;

use serde_json::{json, Value};
use wechatpay_runtime::TypeInfo;

use crate::error::CampaignError;
use crate::journal::{Binding, Counts, Journal, RowRecord, RunRecord};

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Csv,
    Json,
}

/// What `status` shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub binding: Binding,
    pub counts: Counts,
    pub runs: Vec<RunRecord>,
    /// Whether a `send` holds the journal now.
    pub running: bool,
}

/// Reads a journal's binding, counts and runs.
pub fn status(path: &Path) -> Result<Status, CampaignError> {
    let journal = Journal::open_read_only(path)?;
    let binding = journal
        .binding()?
        .ok_or_else(|| CampaignError::Journal(format!("{} is empty", path.display())))?;
    Ok(Status {
        counts: journal.counts()?,
        runs: journal.runs()?,
        running: Journal::is_locked(path),
        binding,
    })
}

fn utc(ms: i64) -> String {
    let dt = wechatpay_runtime::DateTime::from_unix(ms.div_euclid(1000), 0);
    dt.to_string().replace("+00:00", "Z")
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.binding;
        let c = &self.counts;
        writeln!(
            f,
            "operation:  {} (request number: {}, {})",
            b.operation_id,
            b.request_number_field,
            match b.numbers {
                crate::journal::NumberSource::Derived => "derived per row",
                crate::journal::NumberSource::Column => "from the input",
            }
        )?;
        writeln!(
            f,
            "input:      {} (sha256 {})",
            b.input_path, b.input_sha256
        )?;
        writeln!(
            f,
            "template:   {} (sha256 {})",
            b.template_source, b.template_sha256
        )?;
        writeln!(f, "created:    {}", utc(b.created_at))?;
        writeln!(f, "rows:       {}", c.total)?;
        writeln!(f, "succeeded:  {}", c.succeeded)?;
        writeln!(f, "failed:     {}", c.failed)?;
        writeln!(f, "pending:    {} ({} in flight)", c.open(), c.in_flight)?;
        let state = if self.running {
            "running (a send holds the journal)"
        } else if c.open() == 0 {
            "done"
        } else {
            "stopped; run the same `campaign send` again to resume"
        };
        writeln!(f, "state:      {state}")?;
        if let Some(run) = self.runs.last() {
            let rate = run
                .achieved_rate()
                .map_or("-".to_owned(), |r| format!("{r:.1}/s"));
            let ended = match (&run.outcome, run.ended_at) {
                (Some(outcome), Some(at)) => format!("{outcome} at {}", utc(at)),
                _ if self.running => "running".to_owned(),
                _ => "ended without a clean stop (killed?)".to_owned(),
            };
            writeln!(
                f,
                "last run:   #{} started {}, {ended}",
                run.id,
                utc(run.started_at)
            )?;
            writeln!(
                f,
                "rate:       {rate} achieved, {:.0}/s allowed; {} requests, {} answered 429, {} rows completed",
                run.rate, run.requests, run.throttled, run.completed
            )?;
        }
        write!(f, "runs:       {}", self.runs.len())
    }
}

/// One result column: where the value is in the result, and the column's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultColumn {
    pub path: Vec<&'static str>,
    pub name: String,
}

/// The result columns of a response type; `taken` are the names already used.
pub fn result_columns(response: &TypeInfo, taken: &[String]) -> Vec<ResultColumn> {
    let paths = crate::result::key_paths(response);
    let mut names: Vec<String> = taken.to_vec();
    let mut out = Vec::new();
    for path in paths {
        let leaf = path.last().copied().unwrap_or_default().to_owned();
        let name = if names.contains(&leaf) {
            format!("result.{}", path.join("."))
        } else {
            leaf
        };
        names.push(name.clone());
        out.push(ResultColumn { path, name });
    }
    out
}

fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Writes the report of the journal at `path` to `out`.
pub fn report(path: &Path, format: ReportFormat, out: &mut dyn Write) -> Result<(), CampaignError> {
    let journal = Journal::open_read_only(path)?;
    let binding = journal
        .binding()?
        .ok_or_else(|| CampaignError::Journal(format!("{} is empty", path.display())))?;
    let io = |e: std::io::Error| CampaignError::Input(format!("cannot write the report: {e}"));
    match format {
        ReportFormat::Csv => {
            let mut fixed: Vec<String> = vec!["row".into()];
            fixed.extend(binding.columns.iter().cloned());
            fixed.extend(
                [
                    "request_no",
                    "status",
                    "attempts",
                    "error_code",
                    "error_message",
                ]
                .map(String::from),
            );
            let columns = wechatpay_endpoints::find(&binding.operation_id)
                .map(|info| result_columns(info.response, &fixed))
                .unwrap_or_default();
            let mut writer = csv::Writer::from_writer(out);
            let header = fixed
                .iter()
                .cloned()
                .chain(columns.iter().map(|c| c.name.clone()));
            writer
                .write_record(header)
                .map_err(|e| CampaignError::Input(format!("cannot write the report: {e}")))?;
            journal.for_each_row(|r: RowRecord| {
                let mut record = vec![r.row.to_string()];
                record.extend(binding.columns.iter().map(|c| cell(r.cells.get(c))));
                record.push(r.request_no.clone());
                record.push(r.state.report_status().to_owned());
                record.push(r.attempts.to_string());
                record.push(r.error_code.clone().unwrap_or_default());
                record.push(r.error_message.clone().unwrap_or_default());
                for column in &columns {
                    let value = r
                        .result
                        .as_ref()
                        .and_then(|v| crate::result::get(v, &column.path));
                    record.push(cell(value));
                }
                writer
                    .write_record(&record)
                    .map_err(|e| CampaignError::Input(format!("cannot write the report: {e}")))
            })?;
            writer.flush().map_err(io)
        }
        ReportFormat::Json => {
            out.write_all(b"[").map_err(io)?;
            let mut first = true;
            journal.for_each_row(|r: RowRecord| {
                let item = json!({
                    "row": r.row,
                    "line": r.line,
                    "input": r.cells,
                    "request_no": r.request_no,
                    "status": r.state.report_status(),
                    "attempts": r.attempts,
                    "error_code": r.error_code,
                    "error_message": r.error_message,
                    "result": r.result,
                });
                out.write_all(if first { b"\n" } else { b",\n" })
                    .map_err(io)?;
                first = false;
                serde_json::to_writer(&mut *out, &item)
                    .map_err(|e| CampaignError::Input(format!("cannot write the report: {e}")))
            })?;
            out.write_all(b"\n]\n").map_err(io)?;
            out.flush().map_err(io)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_columns_are_the_key_fields_of_the_response() {
        let user = wechatpay_endpoints::find("send-user-product-coupon").unwrap();
        let taken = vec!["row".to_owned(), "openid".to_owned(), "attach".to_owned()];
        let names: Vec<String> = result_columns(user.response, &taken)
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(
            names[..3],
            ["coupon_code", "coupon_state", "valid_begin_time"]
        );
        assert!(names.contains(&"result.attach".to_owned()), "{names:?}");
        assert!(
            !names.iter().any(|n| n.starts_with("product_coupon")),
            "{names:?}"
        );

        let merchant = wechatpay_endpoints::find("send-product-coupon").unwrap();
        let columns = result_columns(merchant.response, &["stock_id".to_owned()]);
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "result.send_coupon_result.stock_id",
                "out_request_no",
                "coupon_code"
            ]
        );
        assert_eq!(columns[2].path, ["send_coupon_result", "coupon_code"]);
    }
}
