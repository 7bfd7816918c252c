//! Reading a journal: `status` (counts and rates) and `report` (one line per
//! input row, as CSV or JSON).
//!
//! Report columns: `row`, the input's columns as written, `request_no`,
//! `status` (`succeeded`, `failed`, `pending`), `attempts`, `error_step` (the
//! operation an error came from: the send or its follow-up), `error_code`,
//! `error_message`, for an operation with a follow-up the follow-up's request
//! number under the name of the field it fills (`confirm_request_no`), then the
//! result's key fields ([`crate::result`]: `coupon_code`, `coupon_state` — the
//! state after the last step, …); a name that clashes with an earlier column gets
//! a `result.` prefix. The JSON report nests them under `result`.
//!
//! For an operation whose schema names a brand field (`brand_id`: a service
//! provider's campaign), the report has a column of that name with each row's
//! brand (its cell, else the template's): after `row`, or in the input's own
//! column when the CSV has one; the JSON report gives it at the top level.
//! `status` counts the rows of each brand.

use std::fmt;
use std::io::Write;
use std::path::Path;

use serde_json::{json, Value};
use wechatpay_runtime::{FollowUp, TypeInfo};

use crate::error::CampaignError;
use crate::journal::{Binding, BrandCounts, Counts, Journal, RowRecord, RunRecord, WorkerRecord};

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// One CSV row per input row, with a header row.
    Csv,
    /// A JSON array, one object per input row.
    Json,
}

/// What `status` shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// What the journal is bound to.
    pub binding: Binding,
    /// Rows by state.
    pub counts: Counts,
    /// Every `send` run, oldest first.
    pub runs: Vec<RunRecord>,
    /// Whether a `send` holds the journal now.
    pub running: bool,
    /// Rows per brand, for an operation with a brand field (empty otherwise).
    pub brands: Vec<BrandCounts>,
    /// The workers of a shared (PostgreSQL) journal, newest first; empty for SQLite.
    pub workers: Vec<WorkerRecord>,
}

/// Workers listed by `status` (the live ones first).
const LISTED_WORKERS: usize = 20;

impl Status {
    fn write_workers(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let live: Vec<&WorkerRecord> = self.workers.iter().filter(|w| w.live).collect();
        writeln!(
            f,
            "workers:    {} live, {} in all",
            live.len(),
            self.workers.len()
        )?;
        let mut listed = live.clone();
        listed.extend(self.workers.iter().filter(|w| !w.live));
        for w in listed.iter().take(LISTED_WORKERS) {
            let state = match (w.live, w.ended_at) {
                (true, _) => format!("live, seen {}", utc(w.seen_at)),
                (false, Some(at)) => format!("ended {}", utc(at)),
                (false, None) => format!("silent since {} (its leases expire)", utc(w.seen_at)),
            };
            write!(
                f,
                "  {} (pid {}): {state}; leases: {} rows, {} follow-ups",
                w.id, w.pid, w.leased_rows, w.leased_follow_ups
            )?;
            if w.live && !w.rates.is_empty() {
                let total: f64 = w.rates.iter().map(|(_, r)| r).sum();
                write!(f, "; {total:.0}/s allowed over {} brands", w.rates.len())?;
            }
            writeln!(f)?;
        }
        // Each brand's rate across the live workers: what its documented limit must cover.
        let mut per_brand: std::collections::BTreeMap<&str, (f64, usize)> = Default::default();
        for w in &live {
            for (brand, rate) in &w.rates {
                let e = per_brand.entry(brand.as_str()).or_default();
                e.0 += rate;
                e.1 += 1;
            }
        }
        if !per_brand.is_empty() {
            let shown: Vec<String> = per_brand
                .iter()
                .take(LISTED_BRANDS)
                .map(|(brand, (rate, n))| {
                    let brand = if brand.is_empty() { "(all)" } else { brand };
                    format!("{brand} {rate:.0}/s by {n}")
                })
                .collect();
            writeln!(f, "brand rates: {}", shown.join(", "))?;
        }
        Ok(())
    }
}

/// Brands listed by `status` (all are counted; `report` has every row's).
const LISTED_BRANDS: usize = 50;

/// Reads a journal's binding, counts and runs.
pub fn status(path: &Path) -> Result<Status, CampaignError> {
    let mut journal = Journal::open_read_only(path)?;
    let binding = journal.binding()?.ok_or_else(|| {
        CampaignError::Journal(format!("{} is empty", journal.location().display()))
    })?;
    let has_brands = wechatpay_endpoints::find(&binding.operation_id)
        .is_some_and(|info| info.brand_field.is_some());
    Ok(Status {
        counts: journal.counts()?,
        runs: journal.runs()?,
        running: journal.running()?,
        workers: journal.workers()?,
        brands: if has_brands {
            journal.brand_counts()?
        } else {
            Vec::new()
        },
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
        writeln!(
            f,
            "pending:    {} ({} requests in flight or to be resent, {} sent and awaiting their follow-up; rows read ahead count as to send)",
            c.open(),
            c.in_flight,
            c.confirming
        )?;
        writeln!(
            f,
            "step 1:     {}: {} sent, {} failed, {} to send",
            b.operation_id,
            c.sent(),
            c.failed - c.failed_in_follow_up,
            c.unsent()
        )?;
        if let Some(follow_up) =
            wechatpay_endpoints::find(&b.operation_id).and_then(|info| info.follow_up.as_ref())
        {
            let s = &c.follow_ups;
            writeln!(
                f,
                "step 2:     {}: {} done, {} failed, {} pending",
                follow_up.operation_id, s.done, s.failed, s.open
            )?;
        }
        if !self.brands.is_empty() {
            writeln!(f, "brands:     {}", self.brands.len())?;
            for b in self.brands.iter().take(LISTED_BRANDS) {
                write!(
                    f,
                    "  {}: {} rows, {} succeeded, {} failed, {} pending",
                    if b.brand.is_empty() {
                        "(none)"
                    } else {
                        &b.brand
                    },
                    b.total,
                    b.succeeded,
                    b.failed,
                    b.open
                )?;
                let codes: Vec<String> = b
                    .failures
                    .iter()
                    .map(|(code, n)| format!("{code} {n}"))
                    .collect();
                if codes.is_empty() {
                    writeln!(f)?;
                } else {
                    writeln!(f, " ({})", codes.join(", "))?;
                }
            }
            if self.brands.len() > LISTED_BRANDS {
                writeln!(
                    f,
                    "  … and {} more brands (campaign report has every row's)",
                    self.brands.len() - LISTED_BRANDS
                )?;
            }
        }
        let state = if self.running && !self.workers.is_empty() {
            "running (live workers below)"
        } else if self.running {
            "running (a send holds the journal)"
        } else if c.open() == 0 {
            "done"
        } else {
            "stopped; run the same `campaign send` again to resume"
        };
        writeln!(f, "state:      {state}")?;
        if !self.workers.is_empty() {
            self.write_workers(f)?;
        }
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
            let sends = run
                .send_rate()
                .map_or("-".to_owned(), |r| format!("{r:.1}/s"));
            writeln!(
                f,
                "rate:       {rate} rows completed, {sends} sent, {:.0}/s allowed; {} requests, {} answered 429, {} rows completed, {} follow-ups done",
                run.rate, run.requests, run.throttled, run.completed, run.follow_ups
            )?;
        }
        write!(f, "runs:       {}", self.runs.len())
    }
}

/// One result column: where the value is in the result, and the column's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultColumn {
    /// Where the value is in the result: the field names from the top.
    pub path: Vec<&'static str>,
    /// The column's name in the report.
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

/// The operation an error came from: the row's send, or its follow-up.
fn error_step(binding: &Binding, follow_up: Option<&FollowUp>, step: Option<&str>) -> String {
    match (step, follow_up) {
        (Some("follow_up"), Some(f)) => f.operation_id.to_owned(),
        (Some("follow_up"), None) => "follow_up".to_owned(),
        (Some(_), _) => binding.operation_id.clone(),
        (None, _) => String::new(),
    }
}

/// Writes the report of the journal at `path` to `out`.
pub fn report(path: &Path, format: ReportFormat, out: &mut dyn Write) -> Result<(), CampaignError> {
    let mut journal = Journal::open_read_only(path)?;
    let binding = journal.binding()?.ok_or_else(|| {
        CampaignError::Journal(format!("{} is empty", journal.location().display()))
    })?;
    let info = wechatpay_endpoints::find(&binding.operation_id);
    let follow_up = info.and_then(|i| i.follow_up.as_ref());
    let brand_field = info.and_then(|i| i.brand_field);
    // The brand gets its own column unless the input has one (which then shows it).
    let brand_column = brand_field.filter(|f| !binding.columns.iter().any(|c| c == f));
    let io = CampaignError::Report;
    match format {
        ReportFormat::Csv => {
            let mut fixed: Vec<String> = vec!["row".into()];
            fixed.extend(brand_column.map(str::to_owned));
            fixed.extend(binding.columns.iter().cloned());
            fixed.extend(
                [
                    "request_no",
                    "status",
                    "attempts",
                    "error_step",
                    "error_code",
                    "error_message",
                ]
                .map(String::from),
            );
            fixed.extend(follow_up.map(|f| f.done_field.to_owned()));
            let columns = info
                .map(|info| result_columns(info.response, &fixed))
                .unwrap_or_default();
            let mut writer = csv::Writer::from_writer(out);
            let header = fixed
                .iter()
                .cloned()
                .chain(columns.iter().map(|c| c.name.clone()));
            writer
                .write_record(header)
                .map_err(|e| CampaignError::Report(e.into()))?;
            journal.for_each_row(|r: RowRecord| {
                let mut record = vec![r.row.to_string()];
                if brand_column.is_some() {
                    record.push(r.brand.clone());
                }
                record.extend(binding.columns.iter().map(|c| {
                    if Some(c.as_str()) == brand_field {
                        r.brand.clone()
                    } else {
                        cell(r.cells.get(c))
                    }
                }));
                record.push(r.request_no.clone());
                record.push(r.state.report_status().to_owned());
                record.push(r.attempts.to_string());
                record.push(error_step(&binding, follow_up, r.error_step.as_deref()));
                record.push(r.error_code.clone().unwrap_or_default());
                record.push(r.error_message.clone().unwrap_or_default());
                if follow_up.is_some() {
                    record.push(r.follow_up_numbers.clone().unwrap_or_default());
                }
                for column in &columns {
                    let value = r
                        .result
                        .as_ref()
                        .and_then(|v| crate::result::get(v, &column.path));
                    record.push(cell(value));
                }
                writer
                    .write_record(&record)
                    .map_err(|e| CampaignError::Report(e.into()))
            })?;
            writer.flush().map_err(io)
        }
        ReportFormat::Json => {
            out.write_all(b"[").map_err(io)?;
            let mut first = true;
            journal.for_each_row(|r: RowRecord| {
                let mut item = json!({
                    "row": r.row,
                    "line": r.line,
                    "input": r.cells,
                    "request_no": r.request_no,
                    "status": r.state.report_status(),
                    "attempts": r.attempts,
                    "error_step": r.error_step.as_ref().map(|_| {
                        error_step(&binding, follow_up, r.error_step.as_deref())
                    }),
                    "error_code": r.error_code,
                    "error_message": r.error_message,
                    "result": r.result,
                });
                if let (Some(f), Some(map)) = (follow_up, item.as_object_mut()) {
                    map.insert(f.done_field.to_owned(), json!(r.follow_up_numbers));
                }
                if let (Some(field), Some(map)) = (brand_field, item.as_object_mut()) {
                    map.insert(field.to_owned(), json!(r.brand));
                }
                out.write_all(if first { b"\n" } else { b",\n" })
                    .map_err(io)?;
                first = false;
                serde_json::to_writer(&mut *out, &item).map_err(|e| CampaignError::Report(e.into()))
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
