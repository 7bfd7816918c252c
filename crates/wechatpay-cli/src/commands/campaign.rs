//! `wechatpay campaign send | status | report`: a thin layer over the
//! `wechatpay-campaign` crate — settings, progress on standard error, a
//! summary on standard output, Ctrl-C, and the exit code.
//!
//! `send` exits 0 when every row succeeded, 10 when every row was resolved
//! and some failed permanently, 11 when rows are still pending (stopped by
//! Ctrl-C, or outcomes still unknown after this run's attempts): the same
//! command resumes.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use wechatpay_campaign::journal::Location;
use wechatpay_campaign::{
    BrandCounts, Campaign, CampaignError, CampaignSpec, Control, NumberSource, Progress,
    QuotaScope, ReportFormat, RunEnd, RunOptions, RunSummary,
};
use wechatpay_transport::RetryPolicy;

use crate::args::{CampaignReportArgs, CampaignSendArgs, CampaignStatusArgs, ReportFormatArg};
use crate::body::{BodySource, RawBody};
use crate::commands::call::client;
use crate::commands::describe::find_operation;
use crate::config::Settings;
use crate::exit::{error_chain, CliError, ExitClass};

/// How often plain progress lines are written when standard error is not a terminal.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// `--timeout`'s default (args.rs): the resume command leaves it out.
const DEFAULT_TIMEOUT: f64 = 30.0;

/// `--lease`'s default (args.rs): the resume command leaves it out.
const DEFAULT_LEASE: f64 = wechatpay_campaign::journal::LEASE.as_secs_f64();

/// Maps a campaign error to its exit class.
pub fn cli_error(e: CampaignError) -> CliError {
    let class = match &e {
        CampaignError::Input(_)
        | CampaignError::InputFile(_)
        | CampaignError::InvalidRows { .. }
        | CampaignError::Binding(_)
        | CampaignError::Busy(_)
        | CampaignError::RequestNumber(_)
        | CampaignError::Usage(_) => ExitClass::Validation,
        CampaignError::Journal(_)
        | CampaignError::JournalDb { .. }
        | CampaignError::JournalPg { .. }
        | CampaignError::JournalLock { .. }
        | CampaignError::JournalWriter(_)
        | CampaignError::JournalWriterGone
        | CampaignError::Task { .. } => ExitClass::Internal,
        CampaignError::Report(_) => ExitClass::Output,
    };
    CliError::new(class, error_chain(&e))
}

/// `campaign send`: returns the summary line for standard output and the
/// error that sets the exit code, if the campaign did not fully succeed.
pub fn send(args: &CampaignSendArgs) -> (Option<String>, Result<(), CliError>) {
    match send_inner(args) {
        Ok((summary, outcome)) => (Some(summary), outcome),
        Err(e) => (None, Err(e)),
    }
}

fn send_inner(args: &CampaignSendArgs) -> Result<(String, Result<(), CliError>), CliError> {
    let info = find_operation(&args.operation)?;
    let body = RawBody::read(&args.body)?;
    // Byte-level and JSON checks with the same messages as `call`.
    body.json()?;
    let template_source = match &body.source {
        BodySource::File(path) => path.display().to_string(),
        other => other.to_string(),
    };
    let settings = Settings::resolve(&args.conn, args.apiv3_key.as_deref())?;
    // The campaign resends by itself (same number, paced): no transport retries.
    let client = client(&settings, info.auth, args.timeout, RetryPolicy::none())?;
    let spec = CampaignSpec {
        operation: info,
        input: args.input.clone(),
        template_source,
        template: body.bytes.clone(),
        journal: args.journal.clone(),
    };
    let mut campaign = Campaign::open(&spec).map_err(cli_error)?;
    let options = RunOptions {
        rate: args.rate,
        concurrency: args.concurrency.map(|c| c as usize),
        follow_up: !args.no_confirm,
        quota: args.partner_quota,
        lease: std::time::Duration::from_secs_f64(args.lease),
        follow_up_rate: args.confirm_rate,
        ..RunOptions::default()
    };
    let follow_up = info.follow_up.as_ref().filter(|_| !args.no_confirm);
    let counts = campaign.counts().map_err(cli_error)?;
    let rate = options.rate_for(info);
    let binding = campaign.binding();
    if campaign.created() {
        note(&format!(
            "campaign: new journal {}: {} rows checked and numbered ({} {})",
            journal_name(&args.journal),
            counts.total,
            binding.request_number_field,
            match binding.numbers {
                NumberSource::Derived => "derived from the campaign and the row",
                NumberSource::Column => "from the input",
            }
        ));
    } else {
        note(&format!(
            "campaign: resuming {}: {} of {} rows done, {} to send, {} sent and awaiting their follow-up (rows in flight when the last run stopped are sent again with their numbers)",
            journal_name(&args.journal),
            counts.succeeded + counts.failed,
            counts.total,
            counts.unsent(),
            counts.confirming
        ));
    }
    if let Some(f) = follow_up {
        let rate = match args.confirm_rate {
            Some(rate) => format!("at {rate}/s, --confirm-rate"),
            None => "its own documented rate".to_owned(),
        };
        note(&format!(
            "campaign: each result is then followed up with {} ({rate}); a row succeeds once that took effect",
            f.operation_id
        ));
    }
    let work = if follow_up.is_some() {
        counts.open()
    } else {
        counts.unsent()
    };
    if work > 0 {
        let why = match (args.rate, info.rate_per_second) {
            (Some(_), _) => "--rate".to_owned(),
            (None, Some(_)) => format!("the documented limit of {}", info.operation_id),
            (None, None) => format!("{} documents no limit; --rate to change", info.operation_id),
        };
        match info.brand_field {
            Some(field) => {
                let brands = campaign.brand_counts().map_err(cli_error)?;
                let open = brands.iter().filter(|b| b.open > 0).count();
                let scope = match args.partner_quota {
                    QuotaScope::PerBrand => format!("{rate}/s per brand, {open} brand(s) to send"),
                    QuotaScope::PerProvider => {
                        format!("{rate}/s for all {open} brand(s) together")
                    }
                };
                note(&format!(
                    "campaign: sending at {scope} (--partner-quota {}; {why}); each row's brand from its {field}",
                    args.partner_quota
                ));
            }
            None => note(&format!("campaign: sending at {rate}/s ({why})")),
        }
    }
    let summary = if work == 0 {
        RunSummary {
            end: RunEnd::Completed,
            counts,
            progress: Default::default(),
            rate,
            achieved_rate: None,
        }
    } else {
        // Signing is most of a request's CPU, and sends and confirms at their
        // documented rates together outgrow one core on slower machines: the
        // requests spread over the cores there are (at most 4).
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        let mut builder = if workers > 1 {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(workers);
            b
        } else {
            tokio::runtime::Builder::new_current_thread()
        };
        let runtime = builder
            .enable_all()
            .build()
            .map_err(|e| CliError::internal(format!("cannot start the runtime: {e}")))?;
        let control = Control::new();
        let display = Display::start(control.clone());
        let result = runtime.block_on(async {
            tokio::spawn(watch_signals(control.clone()));
            // As a task rather than the block_on future itself: replies then
            // wake it through the scheduler's queue, not a syscall each.
            let run_control = control.clone();
            tokio::spawn(async move { campaign.run(&client, &options, &run_control).await })
                .await
                .map_err(|e| CampaignError::task("the campaign task failed", e))?
        });
        display.finish();
        result.map_err(cli_error)?
    };
    let brands = if info.brand_field.is_some() {
        wechatpay_campaign::status(&args.journal)
            .map_err(cli_error)?
            .brands
    } else {
        Vec::new()
    };
    let line = summary_json(&summary, &brands);
    Ok((line, outcome(args, &summary)))
}

fn summary_json(s: &RunSummary, brands: &[BrandCounts]) -> String {
    let c = &s.counts;
    let mut line = json!({
        "outcome": s.end.as_str(),
        "rows": c.total,
        "succeeded": c.succeeded,
        "failed": c.failed,
        "pending": c.open(),
        "sent": c.sent(),
        "confirming": c.confirming,
        "follow_ups": {
            "done": c.follow_ups.done,
            "failed": c.follow_ups.failed,
            "pending": c.follow_ups.open,
        },
        "requests": s.progress.requests,
        "throttled": s.progress.throttled,
        "completed": s.progress.completed,
        // Achieved, not aimed at (issue 18): 0 when this run sent nothing.
        "rate": s.achieved_rate.map_or(0.0, |r| (r * 10.0).round() / 10.0),
        "rate_configured": s.rate,
    });
    if !brands.is_empty() {
        let per_brand: serde_json::Map<String, serde_json::Value> = brands
            .iter()
            .map(|b| {
                let failures: serde_json::Map<String, serde_json::Value> = b
                    .failures
                    .iter()
                    .map(|(code, n)| (code.clone(), json!(n)))
                    .collect();
                (
                    b.brand.clone(),
                    json!({
                        "rows": b.total,
                        "succeeded": b.succeeded,
                        "failed": b.failed,
                        "pending": b.open,
                        "failures": failures,
                    }),
                )
            })
            .collect();
        line["brands"] = per_brand.into();
    }
    line.to_string()
}

/// The exit code of a run, with a message saying what to do next.
fn outcome(args: &CampaignSendArgs, s: &RunSummary) -> Result<(), CliError> {
    let c = &s.counts;
    let resume = format!("{}{}", resume_command(args), resume_note(args));
    let report = if journal_from_env(args) {
        "wechatpay campaign report".to_owned()
    } else {
        format!(
            "wechatpay campaign report --journal {}",
            quote(&journal_name(&args.journal))
        )
    };
    match &s.end {
        RunEnd::Stopped { row, code, message } => Err(CliError::new(
            if code == "LOCAL" {
                ExitClass::Internal
            } else {
                ExitClass::Api
            },
            format!(
                "campaign stopped at row {row}: {message}\n  no row can succeed while this lasts; row {row} stays pending. {} succeeded, {} failed, {} pending.\n  fix the cause, then resume with:\n    {resume}",
                c.succeeded, c.failed, c.open()
            ),
        )),
        _ if args.no_confirm && c.unsent() == 0 && c.confirming > 0 => {
            note(&format!(
                "campaign sent: {} rows sent, {} awaiting their confirm (--no-confirm: the coupons stay CONFIRMING and cannot be used; run the same command without --no-confirm to confirm them) ({report})",
                c.sent(),
                c.confirming
            ));
            if c.failed == 0 {
                return Ok(());
            }
            // Every row was sent or settled: the failures are final, not outcomes to resume.
            Err(CliError::new(
                ExitClass::RowsFailed,
                format!(
                    "campaign sent: {} failed permanently (documented errors; see {report})",
                    c.failed
                ),
            ))
        }
        _ if c.open() > 0 => {
            let why = if s.end == RunEnd::Interrupted {
                "the campaign stopped on request; requests in flight were waited for and recorded"
                    .to_owned()
            } else {
                let mut why = format!(
                    "{} row(s) still have an unknown outcome after this run's attempts (network, 5xx, unverified replies); they are never marked failed",
                    c.unsent()
                );
                if c.confirming > 0 {
                    why.push_str(&format!(
                        "; {} row(s) were sent and still await their confirm (refused as not ready, e.g. the coupon's notification not delivered yet, or an unknown outcome); resuming confirms them with the same numbers",
                        c.confirming
                    ));
                }
                why
            };
            Err(CliError::new(
                ExitClass::Incomplete,
                format!(
                    "{why}. {} succeeded, {} failed, {} pending. The journal is consistent; resume with the same settings:\n    {resume}",
                    c.succeeded, c.failed, c.open()
                ),
            ))
        }
        _ if c.failed > 0 => Err(CliError::new(
            ExitClass::RowsFailed,
            format!(
                "campaign done: {} succeeded, {} failed permanently (documented errors; see {report})",
                c.succeeded, c.failed
            ),
        )),
        _ => {
            note(&format!(
                "campaign done: all {} rows succeeded ({report})",
                c.total
            ));
            Ok(())
        }
    }
}

/// The command that resumes this campaign, quoted for a POSIX shell: the
/// campaign's own flags and every setting in effect (given as a flag or taken
/// from a `WECHATPAY_*` variable), so that it works as it is in a new shell.
/// Never a secret: the APIv3 key is left out (see `resume_note`); key files
/// are named by their paths.
pub fn resume_command(args: &CampaignSendArgs) -> String {
    let mut parts = vec![
        "wechatpay".to_owned(),
        "campaign".to_owned(),
        "send".to_owned(),
        quote(&args.operation),
        "--input".to_owned(),
        quote(&args.input.display().to_string()),
        "--body".to_owned(),
        quote(&args.body),
    ];
    // A journal given in WECHATPAY_JOURNAL stays there: the flag would override it,
    // and a URL's password is never printed.
    if !journal_from_env(args) {
        parts.extend(["--journal".to_owned(), quote(&journal_name(&args.journal))]);
    }
    let mut flag = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            parts.push(format!("--{name} {}", quote(&value)));
        }
    };
    let path = |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.display().to_string());
    let conn = &args.conn;
    flag("profile", path(&conn.profile));
    flag("base-url", conn.base_url.clone());
    // A proxy URL with credentials is not printed (set HTTPS_PROXY instead).
    flag("proxy", conn.proxy.clone().filter(|p| !p.contains('@')));
    flag("mchid", conn.mchid.clone());
    flag("brand-id", conn.brand_id.clone());
    flag("serial-no", conn.serial_no.clone());
    flag("private-key", path(&conn.private_key));
    flag("public-key-id", conn.public_key_id.clone());
    flag("public-key", path(&conn.public_key));
    for cert in &conn.platform_certs {
        flag("platform-cert", Some(cert.display().to_string()));
    }
    flag("rate", args.rate.map(|r| r.to_string()));
    if args.partner_quota != QuotaScope::default() {
        flag("partner-quota", Some(args.partner_quota.to_string()));
    }
    flag("confirm-rate", args.confirm_rate.map(|r| r.to_string()));
    flag("concurrency", args.concurrency.map(|c| c.to_string()));
    if args.timeout != DEFAULT_TIMEOUT {
        flag("timeout", Some(args.timeout.to_string()));
    }
    if args.lease != DEFAULT_LEASE {
        flag("lease", Some(args.lease.to_string()));
    }
    if args.no_confirm {
        parts.push("--no-confirm".to_owned());
    }
    parts.join(" ")
}

/// What the resume command needs that it cannot print.
fn resume_note(args: &CampaignSendArgs) -> String {
    let mut note = String::new();
    if args.apiv3_key.is_some() {
        note.push_str("\n    (the APIv3 key is not printed: set WECHATPAY_APIV3_KEY, or add --apiv3-key, before running it)");
    }
    if journal_from_env(args) {
        note.push_str("\n    (the journal is the one in WECHATPAY_JOURNAL: keep it set)");
    } else if journal_name(&args.journal).contains("***") {
        note.push_str("\n    (the journal's password is not printed: put it back in place of ***, or give the URL in WECHATPAY_JOURNAL and leave --journal out)");
    }
    note
}

/// Whether `--journal` came from `WECHATPAY_JOURNAL` (the same value).
fn journal_from_env(args: &CampaignSendArgs) -> bool {
    std::env::var_os("WECHATPAY_JOURNAL").is_some_and(|v| std::path::Path::new(&v) == args.journal)
}

/// The journal as messages name it: a file's path, or a PostgreSQL URL without its password.
fn journal_name(journal: &std::path::Path) -> String {
    Location::parse(journal).display()
}

fn quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// Ctrl-C (or SIGTERM) once: stop taking rows. Twice: exit at once, which is
/// as safe as a crash (rows in flight are sent again with their numbers).
async fn watch_signals(control: Control) {
    crate::signals::interrupted().await;
    control.stop();
    crate::signals::interrupted().await;
    note("\ncampaign: second interrupt, exiting now; the journal is consistent and rows in flight are sent again with the same numbers on resume");
    std::process::exit(130);
}

/// Progress on standard error: a bar on a terminal, a line every few seconds otherwise.
struct Display {
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Display {
    fn start(control: Control) -> Display {
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        let terminal = std::io::stderr().is_terminal();
        let thread = std::thread::Builder::new()
            .name("campaign-progress".into())
            .spawn(move || {
                if terminal {
                    bar(&control, &flag);
                } else {
                    plain(&control, &flag);
                }
            })
            .ok();
        Display { done, thread }
    }

    fn finish(mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn describe(p: &Progress) -> String {
    let mut text = format!(
        "{} succeeded, {} failed, {:.0}/s",
        p.succeeded,
        p.failed,
        p.achieved_rate()
    );
    if p.rate < p.target * 0.999 {
        text.push_str(&format!(" (slowed to {:.0}/s after 429)", p.rate));
    }
    if p.throttled > 0 {
        text.push_str(&format!(", {} answered 429", p.throttled));
    }
    if p.retries > 0 {
        text.push_str(&format!(", {} resent", p.retries));
    }
    text
}

/// What to say when sending pauses for the journal's database, or resumes.
fn paused_note(paused: bool) -> &'static str {
    if paused {
        "campaign: the journal's database cannot be reached; sending paused until it is back (requests in flight are awaited, their outcomes kept)"
    } else {
        "campaign: the journal's database is back; sending resumes"
    }
}

fn stopping_note(p: &Progress) -> String {
    format!(
        "campaign: stopping: no new rows; waiting for {} request(s) in flight…",
        p.in_flight
    )
}

fn bar(control: &Control, done: &AtomicBool) {
    let first = control.progress();
    let bar = indicatif::ProgressBar::new(first.total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:30.cyan/blue} {pos}/{len} rows  {msg}  ETA {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut told = false;
    let mut paused = false;
    loop {
        let p = control.progress();
        bar.set_length(p.total);
        bar.set_position(p.done());
        bar.set_message(describe(&p));
        if p.stopping && !told {
            told = true;
            bar.println(stopping_note(&p));
        }
        if p.paused != paused {
            paused = p.paused;
            bar.println(paused_note(paused));
        }
        if done.load(Ordering::Relaxed) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // The bar leaves the cursor on its line: clear it and write the last state as a line.
    bar.finish_and_clear();
    let p = control.progress();
    note(&format!(
        "campaign: {}/{} rows done: {}",
        p.done(),
        p.total,
        describe(&p)
    ));
}

fn plain(control: &Control, done: &AtomicBool) {
    let mut last = std::time::Instant::now();
    let mut told = false;
    let mut paused = false;
    while !done.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
        let p = control.progress();
        if p.stopping && !told {
            told = true;
            note(&stopping_note(&p));
        }
        if p.paused != paused {
            paused = p.paused;
            note(paused_note(paused));
        }
        if last.elapsed() >= PLAIN_EVERY {
            last = std::time::Instant::now();
            let eta = p
                .eta()
                .map_or("?".to_owned(), |d| format!("{}s", d.as_secs()));
            note(&format!(
                "campaign: {}/{} rows done: {}, ETA {eta}",
                p.done(),
                p.total,
                describe(&p)
            ));
        }
    }
}

/// `campaign status`.
pub fn status(args: &CampaignStatusArgs) -> Result<String, CliError> {
    let status = wechatpay_campaign::status(&args.journal).map_err(cli_error)?;
    Ok(status.to_string())
}

/// `campaign report`: written straight to `out` (a journal of millions of rows is never held in memory).
pub fn report(args: &CampaignReportArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let format = match args.format {
        ReportFormatArg::Csv => ReportFormat::Csv,
        ReportFormatArg::Json => ReportFormat::Json,
    };
    wechatpay_campaign::report(&args.journal, format, out).map_err(cli_error)
}

/// A line for standard error, best-effort.
fn note(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resume_command_is_quoted_for_the_shell() {
        let args = CampaignSendArgs {
            operation: "send-user-product-coupon".into(),
            input: "my users.csv".into(),
            body: "@template.json".into(),
            journal: "it's.db".into(),
            rate: Some(250.0),
            partner_quota: QuotaScope::PerProvider,
            concurrency: None,
            timeout: 30.0,
            no_confirm: true,
            confirm_rate: None,
            lease: 30.0,
            apiv3_key: None,
            conn: Default::default(),
        };
        assert_eq!(
            resume_command(&args),
            r"wechatpay campaign send send-user-product-coupon --input 'my users.csv' --body @template.json --journal 'it'\''s.db' --rate 250 --partner-quota per-provider --no-confirm"
        );
    }

    #[test]
    fn the_resume_command_carries_every_setting_but_no_secret() {
        let args = CampaignSendArgs {
            operation: "send-user-product-coupon".into(),
            input: "u.csv".into(),
            body: "@t.json".into(),
            journal: "j.db".into(),
            rate: None,
            partner_quota: QuotaScope::PerBrand,
            concurrency: Some(3),
            timeout: 2.5,
            no_confirm: false,
            confirm_rate: None,
            lease: 30.0,
            apiv3_key: Some("SECRET".into()),
            conn: crate::args::ConnArgs {
                profile: Some("keys/profile.toml".into()),
                base_url: Some("http://127.0.0.1:9/".into()),
                proxy: None,
                mchid: Some("1900000001".into()),
                brand_id: Some("120344".into()),
                serial_no: Some("5157F0".into()),
                private_key: Some("my key.pem".into()),
                public_key_id: Some("PUB_KEY_ID_0114".into()),
                public_key: Some("wxp_pub.pem".into()),
                platform_certs: vec!["a.pem".into(), "b.pem".into()],
            },
        };
        assert_eq!(
            resume_command(&args),
            "wechatpay campaign send send-user-product-coupon --input u.csv --body @t.json --journal j.db \
             --profile keys/profile.toml --base-url http://127.0.0.1:9/ --mchid 1900000001 \
             --brand-id 120344 --serial-no 5157F0 --private-key 'my key.pem' \
             --public-key-id PUB_KEY_ID_0114 --public-key wxp_pub.pem --platform-cert a.pem \
             --platform-cert b.pem --concurrency 3 --timeout 2.5"
        );
        assert!(resume_note(&args).contains("WECHATPAY_APIV3_KEY"));
    }
}
