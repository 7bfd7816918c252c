//! Opening a campaign: a new journal is filled from the input (every row
//! checked, every request number written) before anything is sent; an
//! existing one must be bound to the same operation, input and template.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use wechatpay_runtime::{EndpointInfo, Ty};
use wechatpay_transport::Client;

use crate::control::Control;
use crate::error::CampaignError;
use crate::input::{check_header, file_sha256, hex, merge, CsvInput, RowProblem, Template};
use crate::journal::brands::brand_of;
use crate::journal::{
    now_ms, Binding, BrandCounts, Counts, Journal, Location, NumberSource, RunProgress,
};
use crate::number::{campaign_key, NumberShape};
use crate::runner::{self, RowBuilder, RunEnd, RunOptions};

/// Problems kept for the error message (all are counted).
const KEPT_PROBLEMS: usize = 200;

/// What a campaign sends: the operation, the input CSV, the template and the journal.
#[derive(Clone)]
pub struct CampaignSpec {
    /// The operation to send, e.g. `wechatpay_endpoints::find("send-user-product-coupon")`.
    pub operation: &'static EndpointInfo,
    /// The input CSV: its header names request fields.
    pub input: PathBuf,
    /// Where the template came from, for messages (`template.json`, `--body`).
    pub template_source: String,
    /// The template's bytes, exactly as given (they are hashed).
    pub template: Vec<u8>,
    /// The journal: an SQLite file, or a `postgres://` URL shared by many
    /// workers. Created on first open, resumed (or joined) after.
    pub journal: PathBuf,
}

impl std::fmt::Debug for CampaignSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The journal as messages show it: a PostgreSQL URL without its password.
        f.debug_struct("CampaignSpec")
            .field("operation", &self.operation.operation_id)
            .field("input", &self.input)
            .field("template_source", &self.template_source)
            .field("template", &String::from_utf8_lossy(&self.template))
            .field("journal", &Location::parse(&self.journal).display())
            .finish()
    }
}

/// An open campaign, ready to run.
#[derive(Debug)]
pub struct Campaign {
    info: &'static EndpointInfo,
    number_field: &'static str,
    template: Map<String, Value>,
    binding: Binding,
    journal: Journal,
    created: bool,
}

/// The end of one `send` run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    /// How the run ended.
    pub end: RunEnd,
    /// Rows by state after the run (earlier runs included).
    pub counts: Counts,
    /// This run's requests, 429s and completed rows.
    pub progress: RunProgress,
    /// The rate aimed at.
    pub rate: f64,
    /// The rate achieved: this run's sends that took effect per second, from
    /// its first send to its end (lower than `rate` after 429s slowed it, or
    /// when answers are slow); `None` when it sent nothing.
    pub achieved_rate: Option<f64>,
}

impl RunSummary {
    /// Whether every row succeeded.
    pub fn all_succeeded(&self) -> bool {
        self.counts.succeeded == self.counts.total
    }
}

impl Campaign {
    /// Opens the journal at `spec.journal`: a new one is created from the input
    /// (nothing is sent if any row is invalid, and no journal is left behind);
    /// an existing one is checked against the operation, input and template.
    pub fn open(spec: &CampaignSpec) -> Result<Campaign, CampaignError> {
        let info = spec.operation;
        let Some(number) = info.request_number else {
            return Err(CampaignError::Usage(format!(
                "{} has no request number in the schema; a campaign needs one to send every row exactly once",
                info.operation_id
            )));
        };
        let template = Template::parse(spec.template_source.clone(), &spec.template)
            .map_err(CampaignError::InputFile)?;
        let existed = spec.journal.exists();
        let mut journal = Journal::open_for_send(&spec.journal)?;
        let resume = |journal: Journal, binding: Binding, template: Template| {
            check_binding(spec, &binding, &template)?;
            Ok(Campaign {
                info,
                number_field: number.field,
                template: template.fields,
                binding,
                journal,
                created: false,
            })
        };
        if let Some(binding) = journal.binding()? {
            return resume(journal, binding, template);
        }
        match create(spec, &mut journal, &template) {
            // Another worker created the shared journal first: join it.
            Ok(None) => match journal.binding()? {
                Some(binding) => resume(journal, binding, template),
                None => Err(CampaignError::Journal(format!(
                    "journal {}: another worker was creating it, and it is still empty",
                    journal.location().display()
                ))),
            },
            Ok(Some(binding)) => Ok(Campaign {
                info,
                number_field: number.field,
                template: template.fields,
                binding,
                journal,
                created: true,
            }),
            Err(e) => {
                let file = matches!(journal.location(), Location::File(_));
                drop(journal);
                if file && !existed {
                    remove_journal(&spec.journal);
                }
                Err(e)
            }
        }
    }

    /// Whether this open created the journal (rather than resuming one).
    pub fn created(&self) -> bool {
        self.created
    }

    /// What the journal is bound to.
    pub fn binding(&self) -> &Binding {
        &self.binding
    }

    /// The operation.
    pub fn info(&self) -> &'static EndpointInfo {
        self.info
    }

    /// Rows by state now.
    pub fn counts(&mut self) -> Result<Counts, CampaignError> {
        self.journal.counts()
    }

    /// Rows per brand now (one entry, brand '', for an operation without a brand field).
    pub fn brand_counts(&mut self) -> Result<Vec<BrandCounts>, CampaignError> {
        self.journal.brand_counts()
    }

    /// Sends every open row (pending, or in flight when an earlier run died)
    /// with its recorded number, until all are resolved, `control` asks to
    /// stop, or an answer stops the campaign. The journal is consistent
    /// whenever this returns, and also if the process dies at any point.
    pub async fn run(
        self,
        client: &Client,
        options: &RunOptions,
        control: &Control,
    ) -> Result<RunSummary, CampaignError> {
        let rate = options.rate_for(self.info);
        if !(rate.is_finite() && rate > 0.0) {
            return Err(CampaignError::Usage(format!(
                "the rate must be a positive number of requests per second, got {rate}"
            )));
        }
        let builder = RowBuilder {
            info: self.info,
            template: &self.template,
            number_field: self.number_field,
        };
        let finished = runner::run(self.journal, builder, client, options, control).await?;
        let achieved_rate = finished.progress.first_send_at.and_then(|first| {
            let secs = (now_ms() - first) as f64 / 1000.0;
            (secs > 0.0 && finished.progress.sent > 0).then(|| finished.progress.sent as f64 / secs)
        });
        Ok(RunSummary {
            counts: { finished.journal }.counts()?,
            end: finished.end,
            progress: finished.progress,
            rate,
            achieved_rate,
        })
    }
}

fn check_binding(
    spec: &CampaignSpec,
    binding: &Binding,
    template: &Template,
) -> Result<(), CampaignError> {
    let journal = Location::parse(&spec.journal).display();
    let refuse = |what: String| {
        CampaignError::Binding(format!(
            "journal {journal} belongs to another campaign: {what}. Nothing was sent. To resume it, give the operation, input and template it was created with; a new --journal is a new campaign: it sends every row again under new request numbers, so rows already sent from {journal} would be sent a second time"
        ))
    };
    if binding.operation_id != spec.operation.operation_id {
        return Err(refuse(format!(
            "it sends {}, not {}",
            binding.operation_id, spec.operation.operation_id
        )));
    }
    // The same JSON (whitespace, key order aside) is the same campaign. The
    // journal keeps the hash of the bytes it was created with: its rows'
    // request numbers derive from that hash and never change.
    if binding.template_sha256 != template.sha256 {
        let stored = Template::parse(binding.template_source.clone(), binding.template.as_bytes());
        let differences = match &stored {
            Ok(stored) => stored.differences(&template.fields),
            Err(_) => vec!["(the journal's copy does not parse)".to_owned()],
        };
        if !differences.is_empty() {
            return Err(refuse(format!(
                "it was created with template {} (sha256 {}), and {} (sha256 {}): its JSON differs at {}",
                binding.template_source,
                short(&binding.template_sha256),
                template.source,
                short(&template.sha256),
                differences.join(", ")
            )));
        }
    }
    let input_sha256 = file_sha256(&spec.input).map_err(CampaignError::InputFile)?;
    if binding.input_sha256 != input_sha256 {
        return Err(refuse(format!(
            "it was created with input {} (sha256 {}), and {} has sha256 {}",
            binding.input_path,
            short(&binding.input_sha256),
            spec.input.display(),
            short(&input_sha256)
        )));
    }
    Ok(())
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

fn remove_journal(path: &Path) {
    for suffix in ["", "-wal", "-shm", ".lock"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

/// Reads, checks and records every row of a new campaign.
fn create(
    spec: &CampaignSpec,
    journal: &mut Journal,
    template: &Template,
) -> Result<Option<Binding>, CampaignError> {
    let info = spec.operation;
    let number = info.request_number.expect("checked by open");
    let input_sha256 = file_sha256(&spec.input).map_err(CampaignError::InputFile)?;
    let mut input = CsvInput::open(&spec.input).map_err(CampaignError::InputFile)?;
    let problems = check_header(info, &input.header);
    if !problems.is_empty() {
        let total = problems.len();
        return Err(CampaignError::InvalidRows { problems, total });
    }
    let numbers = if input.header.iter().any(|c| c == number.field) {
        NumberSource::Column
    } else if template.fields.contains_key(number.field) {
        return Err(CampaignError::Usage(format!(
            "{} sets {}, which must differ per row: remove it (each row then gets a number derived from the campaign and the row) or give each row its own in a `{}` column",
            template.source, number.field, number.field
        )));
    } else {
        NumberSource::Derived
    };
    let shape = match numbers {
        NumberSource::Derived => {
            let field = info.request.field(number.field);
            let rule = match field.map(|f| &f.ty) {
                Some(Ty::String(rule)) => rule,
                _ => {
                    return Err(CampaignError::Usage(format!(
                        "{}: the request number {} is not a string field",
                        info.operation_id, number.field
                    )))
                }
            };
            Some(NumberShape::for_rule(number.field, rule)?)
        }
        NumberSource::Column => None,
    };
    let key = campaign_key(info.operation_id, &input_sha256, &template.sha256);
    let binding = Binding {
        operation_id: info.operation_id.to_owned(),
        request_number_field: number.field.to_owned(),
        numbers,
        input_path: spec.input.display().to_string(),
        input_sha256: input_sha256.clone(),
        template_source: template.source.clone(),
        template_sha256: template.sha256.clone(),
        template: String::from_utf8_lossy(&spec.template).into_owned(),
        columns: input.header.clone(),
        campaign_key: hex(&key),
        created_at: now_ms(),
    };
    let input_label = spec.input.display().to_string();
    let filled = journal.create(&binding, move |sink| {
        let mut problems: Vec<RowProblem> = Vec::new();
        let mut total = 0usize;
        let mut add = |p: RowProblem| {
            total += 1;
            if problems.len() < KEPT_PROBLEMS {
                problems.push(p);
            }
        };
        let mut rows = 0u64;
        while let Some(row) = input.next_row().map_err(CampaignError::InputFile)? {
            rows += 1;
            let request_no = match &shape {
                Some(shape) => shape.derive(&key, row.row),
                None => row.cells[number.field]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            };
            let problem = |field: String, message: String| RowProblem {
                row: Some(row.row),
                line: row.line,
                field: Some(field),
                message,
            };
            let checked = merge(
                info,
                &template.fields,
                &row.cells,
                Some((number.field, &request_no)),
            )
            .and_then(|body| crate::endpoint::prepare(info, &body).map(|_| body));
            let body = match checked {
                Ok(body) => body,
                Err(found) => {
                    for p in found {
                        add(problem(p.path, p.message));
                    }
                    continue;
                }
            };
            // The number is unique within the fields the schema scopes it to.
            let mut number_key = String::new();
            for field in number.unique_within {
                number_key.push_str(&body.get(*field).map(Value::to_string).unwrap_or_default());
                number_key.push('\u{1f}');
            }
            number_key.push_str(&request_no);
            let brand = match &body {
                Value::Object(fields) => brand_of(info.brand_field, fields),
                _ => String::new(),
            };
            if let Err(other) = sink.insert(
                row.row,
                row.line,
                &row.cells,
                &request_no,
                &number_key,
                &brand,
            )? {
                add(problem(
                    number.field.to_owned(),
                    format!(
                        "{request_no:?} is also the number of row {other}; each row needs its own"
                    ),
                ));
            }
        }
        if total > 0 {
            return Err(CampaignError::InvalidRows { problems, total });
        }
        if rows == 0 {
            return Err(CampaignError::Input(format!(
                "{input_label} has a header but no rows"
            )));
        }
        if input.finish().map_err(CampaignError::InputFile)? != input_sha256 {
            return Err(CampaignError::Input(format!(
                "{input_label} changed while it was being read; try again when nothing writes to it"
            )));
        }
        Ok(())
    })?;
    // On any error the transaction was rolled back: nothing of the input is kept.
    match filled {
        Some(rows) => rows.map(|_| Some(binding)),
        None => Ok(None),
    }
}

/// Starts a run on a fresh [`Control`]; a shorthand for code that needs no progress display.
pub async fn run_to_end(
    spec: &CampaignSpec,
    client: &Client,
    options: &RunOptions,
) -> Result<RunSummary, CampaignError> {
    Campaign::open(spec)?
        .run(client, options, &Control::new())
        .await
}
