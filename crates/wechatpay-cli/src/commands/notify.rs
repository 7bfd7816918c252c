//! `wechatpay notify serve | report`: a thin layer over the `wechatpay-notify` crate —
//! settings, the URL and one JSON line per event on standard output, refusals and
//! pauses on standard error, SIGINT/SIGTERM, and the exit code.
//!
//! What `serve` prints, and when: the URL first; then a line per event once its
//! confirm is settled (`confirmed`, `failed`), at once for `not_needed`, and with
//! `--no-confirm` at once as `pending`. The journal remembers what was printed, so a
//! restart prints nothing already printed — except an event printed as `pending` by a
//! `--no-confirm` run, which gets one more line when a later run settles it — and does
//! print events settled but not yet printed when the last run stopped.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use wechatpay_notify::server::Server;
use wechatpay_notify::{
    ConfirmOptions, Confirmer, ConfirmerState, Journal, JournalError, Outcome, Receiver,
    ReportError, ReportFormat, NOT_CONFIGURED,
};
use wechatpay_transport::{AuthScheme, NotificationHandler, RetryPolicy};

use crate::args::{NotifyReportArgs, NotifyServeArgs, ReportFormatArg};
use crate::commands::call::{apiv3_key, client};
use crate::config::Settings;
use crate::exit::{CliError, ExitClass};

fn journal_error(e: JournalError) -> CliError {
    CliError::new(ExitClass::Journal, e.to_string())
}

/// A line for standard error, best-effort.
fn note(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// `notify serve`: runs until SIGINT/SIGTERM (exit 0), or until the journal fails (12)
/// or standard output is closed (9).
///
/// Who it confirms as comes from the settings: `--brand-id` makes it a brand's notify URL
/// (PRODUCT_COUPON.SEND confirmed as that brand), `--mchid` a service provider's
/// (PRODUCT_COUPON_SP.SEND confirmed as that provider, for the brand each event names);
/// both may be given. An event whose confirmer is not configured is journaled and
/// printed `pending` with error_code NOT_CONFIGURED, for a run that has it.
pub fn serve(args: &NotifyServeArgs) -> Result<(), CliError> {
    let settings = Settings::resolve(&args.conn, args.apiv3_key.as_deref())?;
    let brand_id = settings.brand_id.clone();
    let provider = settings.mchid.clone();
    if brand_id.is_none() && provider.is_none() {
        return Err(CliError::config(
            "notify serve needs whose notify URL it is: --brand-id (WECHATPAY_BRAND_ID) for a brand's, --mchid (WECHATPAY_MCHID) for a service provider's, or both",
        ));
    }
    let key = settings.apiv3_key.as_ref().ok_or_else(|| {
        CliError::config(
            "missing APIv3 key (it decrypts the notifications): set --apiv3-key, WECHATPAY_APIV3_KEY or `apiv3_key` in the profile",
        )
    })?;
    let api_v3_key = apiv3_key(key)?;
    let appid = args.appid.clone().filter(|a| !a.is_empty());
    // The confirms' clients, one per identity: only when confirming (--no-confirm needs
    // no private key). The confirmer resends by itself (same number, paced): no
    // transport retries.
    let mut clients = Vec::new();
    if !args.no_confirm {
        if brand_id.is_some() {
            if appid.is_none() {
                return Err(CliError::config(
                    "missing AppID (a brand's confirm names it; its notification does not carry it): set --appid or WECHATPAY_APPID, or run with --no-confirm",
                ));
            }
            clients.push(client(
                &settings,
                AuthScheme::Brand,
                args.timeout,
                RetryPolicy::none(),
            )?);
        }
        if provider.is_some() {
            clients.push(client(
                &settings,
                AuthScheme::Partner,
                args.timeout,
                RetryPolicy::none(),
            )?);
        }
    }
    // A provider may verify with platform certificates (P2), which its client downloads:
    // its handler follows that client's keys; otherwise the configured keys.
    let provider_client = clients
        .iter()
        .find(|c| c.config().identity().scheme() == AuthScheme::Partner)
        .cloned();
    let handler = match &provider_client {
        Some(client) => client.notification_handler(api_v3_key),
        None => NotificationHandler::new(settings.key_store()?, api_v3_key),
    };
    // Before listening: a journal that cannot be written means nothing is acknowledged.
    let journal = Journal::open(&args.journal).map_err(journal_error)?;
    let counts = journal.counts().map_err(journal_error)?;
    let mut builder = Receiver::builder(handler, journal);
    if let Some(brand_id) = brand_id {
        builder = builder.brand(brand_id);
    }
    if let Some(provider) = provider {
        builder = builder.provider(provider);
    }
    if let Some(appid) = appid {
        builder = builder.appid(appid);
    }
    if let Some(client) = provider_client.clone() {
        // A notification signed with a platform certificate the client has not downloaded
        // yet (a rotation) fetches them again, at most once a minute.
        builder = builder.refresh_keys_with(Arc::new(move || {
            let client = client.clone();
            Box::pin(async move {
                if let Err(e) = client.update_certificates().await {
                    note(&format!(
                        "notify: warning: platform certificates not refreshed ({})",
                        crate::exit::error_chain(&e)
                    ));
                }
            })
        }));
    }
    let receiver = builder.build();
    let confirmer = if clients.is_empty() {
        None
    } else {
        let options = ConfirmOptions {
            rate: args.rate,
            ..ConfirmOptions::default()
        };
        Some(
            Confirmer::new(&receiver, clients, options)
                .map_err(|e| CliError::config(crate::exit::error_chain(&e)))?,
        )
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::internal(format!("cannot start the runtime: {e}")))?;
    if let Some(client) = provider_client {
        // Before listening, so that a notification signed with a platform certificate
        // verifies from the first one; the client refreshes them as it confirms.
        match runtime.block_on(client.update_certificates()) {
            Ok(serials) if serials.is_empty() => {}
            Ok(serials) => note(&format!(
                "notify: platform certificates downloaded: {}",
                serials.join(", ")
            )),
            Err(e) => note(&format!(
                "notify: warning: the service provider's platform certificates were not downloaded ({}); verifying with the configured keys",
                crate::exit::error_chain(&e)
            )),
        }
    }
    runtime.block_on(run(args, receiver, confirmer, counts))
}

/// What the confirmer confirms, in words: `PRODUCT_COUPON.SEND as brand B and …`.
fn confirming_what(receiver: &Receiver) -> String {
    let mut what = Vec::new();
    if let Some(brand) = receiver.brand_id() {
        what.push(format!("PRODUCT_COUPON.SEND as brand {brand}"));
    }
    if let Some(provider) = receiver.provider() {
        what.push(format!(
            "PRODUCT_COUPON_SP.SEND as service provider {provider} (for the brand each names)"
        ));
    }
    what.join(" and ")
}

async fn run(
    args: &NotifyServeArgs,
    receiver: Receiver,
    confirmer: Option<Confirmer>,
    counts: wechatpay_notify::Counts,
) -> Result<(), CliError> {
    let server = Server::bind(&args.listen, &args.path, receiver.service())
        .await
        .map_err(|e| {
            CliError::new(
                ExitClass::Listen,
                format!("cannot listen on {}: {e}", args.listen),
            )
        })?
        .observe(|peer, outcome| match outcome {
            Outcome::Refused { reason } => {
                note(&format!("notify: refused a delivery from {peer}: {reason}"))
            }
            Outcome::NotRecorded { reason } => note(&format!(
                "notify: a delivery from {peer} was answered 500: {reason}"
            )),
            Outcome::TooLarge { limit } => note(&format!(
                "notify: refused a delivery from {peer}: body over {limit} bytes"
            )),
            _ => {}
        });
    let url = server.url();
    println_flush(&url).map_err(output_error)?;
    note(&format!(
        "notify: listening on {url}; journal {} ({} events, {} confirms pending)",
        args.journal.display(),
        counts.total,
        counts.pending
    ));
    match &confirmer {
        Some(c) => note(&format!(
            "notify: confirming each {} at up to {}/s ({})",
            confirming_what(&receiver),
            c.rate(),
            if args.rate.is_some() {
                "--rate"
            } else {
                "the documented limit of the confirm operations"
            }
        )),
        None => note("notify: --no-confirm: PRODUCT_COUPON.SEND and PRODUCT_COUPON_SP.SEND events are journaled as pending; run without it to confirm them"),
    }

    let (stop, stopped) = watch::channel(false);
    let until = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let confirming = confirmer.map(|c| {
        tokio::spawn(watch_pauses(c.state()));
        tokio::spawn(c.run(until(stopped.clone())))
    });
    let include_pending = args.no_confirm;
    let announcing = tokio::spawn(announce(
        receiver.clone(),
        include_pending,
        until(stopped.clone()),
    ));
    let serving = tokio::spawn(server.serve(until(stopped.clone())));

    // Stop on a signal, or when the confirmer or the printer fails.
    enum End {
        Signal,
        Confirmer(Result<Result<(), JournalError>, tokio::task::JoinError>),
        Printer(Result<Result<(), CliError>, tokio::task::JoinError>),
    }
    let (mut confirming, mut announcing) = (confirming, Some(announcing));
    let end = {
        let confirmer_end = async {
            match confirming.as_mut() {
                Some(task) => task.await,
                None => std::future::pending().await,
            }
        };
        let printer_end = async {
            match announcing.as_mut() {
                Some(task) => task.await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = crate::signals::interrupted() => End::Signal,
            result = confirmer_end => End::Confirmer(result),
            result = printer_end => End::Printer(result),
        }
    };
    let mut failure = match end {
        End::Signal => {
            note("notify: stopping: finishing the requests and confirms in flight…");
            None
        }
        End::Confirmer(result) => {
            confirming = None;
            Some(match result {
                Ok(Err(e)) => journal_error(e),
                Ok(Ok(())) => CliError::internal("the confirmer stopped"),
                Err(e) => CliError::internal(format!("the confirmer failed: {e}")),
            })
        }
        End::Printer(result) => {
            announcing = None;
            Some(match result {
                Ok(Err(e)) => e,
                Ok(Ok(())) => CliError::internal("the event printer stopped"),
                Err(e) => CliError::internal(format!("the event printer failed: {e}")),
            })
        }
    };
    let _ = stop.send(true);
    let _ = serving.await;
    if let Some(task) = confirming {
        if let Ok(Err(e)) = task.await {
            failure.get_or_insert(journal_error(e));
        }
    }
    if let Some(task) = announcing {
        if let Ok(Err(e)) = task.await {
            failure.get_or_insert(e);
        }
    }
    match failure {
        Some(e) => Err(e),
        None => {
            let counts = receiver
                .with_journal(|j| j.counts())
                .await
                .map_err(journal_error)?;
            note(&format!(
                "notify: stopped; journal {}: {} events ({} confirmed, {} failed, {} pending, {} not needed)",
                args.journal.display(),
                counts.total,
                counts.confirmed,
                counts.failed,
                counts.pending,
                counts.not_needed
            ));
            Ok(())
        }
    }
}

/// Prints one JSON line per event whose confirm is settled (or, with
/// `include_pending`, first journaled) and not yet printed, then remembers it in the
/// journal; until `stop`, after one last pass.
async fn announce(
    receiver: Receiver,
    include_pending: bool,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), CliError> {
    tokio::pin!(stop);
    let mut changes = receiver.changes();
    let mut last = false;
    loop {
        changes.borrow_and_update();
        let batch = receiver
            .with_journal(move |j| j.unannounced(include_pending))
            .await
            .map_err(journal_error)?;
        for event in batch {
            if event.error_code.as_deref() == Some(NOT_CONFIGURED) {
                note(&format!(
                    "notify: event {} stays pending: {}",
                    event.event_id,
                    event.error_message.as_deref().unwrap_or("")
                ));
            }
            println_flush(&event.summary_line()).map_err(output_error)?;
            let (id, status) = (event.event_id.clone(), event.confirm);
            receiver
                .with_journal(move |j| j.mark_announced(&id, status))
                .await
                .map_err(journal_error)?;
        }
        if last {
            return Ok(());
        }
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { last = true },
            () = &mut stop => last = true,
        }
    }
}

/// Reports each pause of the confirmer (a `Stop` answer: credentials, permission).
async fn watch_pauses(mut state: watch::Receiver<ConfirmerState>) {
    while state.changed().await.is_ok() {
        let current = state.borrow_and_update().clone();
        match current {
            ConfirmerState::Paused {
                code,
                message,
                until,
            } => {
                let secs = until
                    .duration_since(std::time::SystemTime::now())
                    .unwrap_or(Duration::ZERO)
                    .as_secs();
                note(&format!(
                    "notify: confirms paused for {secs} s: {code}: {message}\n  no confirm can succeed while this lasts (check the brand id or mchid, serial, key and permissions); events stay pending and are confirmed when it clears"
                ));
            }
            ConfirmerState::Running => note("notify: confirms resumed"),
            ConfirmerState::Stopped => return,
        }
    }
}

fn println_flush(line: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(line.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
}

fn output_error(e: std::io::Error) -> CliError {
    CliError::new(
        ExitClass::Output,
        format!("cannot write to standard output: {e}; the events not printed are printed by the next run"),
    )
}

/// `notify report`: written straight to `out`.
pub fn report(args: &NotifyReportArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let format = match args.format {
        ReportFormatArg::Csv => ReportFormat::Csv,
        ReportFormatArg::Json => ReportFormat::Json,
    };
    wechatpay_notify::report(&args.journal, format, out).map_err(|e| match e {
        ReportError::Journal(e) => journal_error(e),
        e @ ReportError::Write(_) => CliError::new(ExitClass::Output, crate::exit::error_chain(&e)),
    })
}
