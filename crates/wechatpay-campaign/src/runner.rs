//! One `send` run: rows taken from the journal in order, paced, sent through
//! the transport client, their outcomes written back.
//!
//! The journal is written by one thread (SQLite is blocking) that batches
//! whatever has queued up into one transaction, so the async loop never waits
//! on the disk except to take the next rows. Rows are taken 256 at a time and
//! marked in flight; on a clean stop, rows taken but not sent go back to
//! pending. Requests in flight are always waited for.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot};
use wechatpay_runtime::json::Prepared;
use wechatpay_runtime::EndpointInfo;
use wechatpay_transport::{CallOptions, Client};

use crate::control::{Control, Event};
use crate::endpoint::prepare;
use crate::error::CampaignError;
use crate::input::merge;
use crate::journal::{now_ms, Claimed, Journal, RunProgress, Update};
use crate::outcome::{classify, Outcome};
use crate::rate::Pacer;

/// Rows taken from the journal at a time.
const CLAIM_BATCH: usize = 256;
/// How often the run's counters are written to the journal.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// How a run sends.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOptions {
    /// Requests per second; default: the operation's documented limit, else
    /// [`RunOptions::UNDOCUMENTED_RATE`].
    pub rate: Option<f64>,
    /// The most requests in flight; default: just enough to hold the rate.
    pub concurrency: Option<usize>,
    /// Attempts per row in one run before it is left pending for the next run
    /// (a row is never marked failed for an unknown outcome).
    pub max_attempts: u32,
    /// The wait before the first resend after an unknown outcome; it doubles per attempt.
    pub retry_initial: Duration,
    /// The longest wait between resends of a row.
    pub retry_max: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            rate: None,
            concurrency: None,
            max_attempts: 8,
            retry_initial: Duration::from_millis(250),
            retry_max: Duration::from_secs(30),
        }
    }
}

impl RunOptions {
    /// The rate used for an operation whose page documents no limit.
    pub const UNDOCUMENTED_RATE: f64 = 100.0;

    /// The rate this run aims at for `info`.
    pub fn rate_for(&self, info: &EndpointInfo) -> f64 {
        self.rate
            .or(info.rate_per_second.map(f64::from))
            .unwrap_or(Self::UNDOCUMENTED_RATE)
    }

    fn backoff(&self, tries: u32, throttled: bool) -> Duration {
        let (initial, max) = if throttled {
            // The pacer already slowed down; the row itself need not wait long.
            (
                self.retry_initial / 2,
                self.retry_max.min(Duration::from_secs(5)),
            )
        } else {
            (self.retry_initial, self.retry_max)
        };
        let exp = tries.saturating_sub(1).min(20);
        let base = initial.saturating_mul(1 << exp).min(max);
        base / 2 + base.mul_f64(rand::random::<f64>() / 2.0)
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEnd {
    /// Every row was taken; rows still open (if any) ran out of attempts this run.
    Completed,
    /// Stopped on request (Ctrl-C); the rows not sent are pending.
    Interrupted,
    /// Stopped by an answer no row can fix (credentials, permission, an
    /// undocumented error, a local failure); the row is pending.
    Stopped {
        row: u64,
        code: String,
        message: String,
    },
}

impl RunEnd {
    /// The word recorded in the journal's `runs` table.
    pub fn as_str(&self) -> &'static str {
        match self {
            RunEnd::Completed => "completed",
            RunEnd::Interrupted => "interrupted",
            RunEnd::Stopped { .. } => "stopped",
        }
    }
}

/// One row on its way: its request (built once) and its tries this run.
struct Entry {
    claimed: Claimed,
    prepared: Prepared,
    tries: u32,
}

struct Waiting {
    at: Instant,
    seq: u64,
    entry: Entry,
}

impl PartialEq for Waiting {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Waiting {}
impl PartialOrd for Waiting {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Waiting {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

struct Done {
    entry: Entry,
    sent_at: Instant,
    latency: Duration,
    outcome: Outcome,
}

/// What the run needs to build each row's request.
pub(crate) struct RowBuilder<'a> {
    pub info: &'static EndpointInfo,
    pub template: &'a Map<String, Value>,
    pub number_field: &'static str,
}

impl RowBuilder<'_> {
    fn build(&self, claimed: &Claimed) -> Result<Prepared, String> {
        let body = merge(
            self.info,
            self.template,
            &claimed.cells,
            Some((self.number_field, &claimed.request_no)),
        )
        .and_then(|body| prepare(self.info, &body))
        .map_err(|problems| {
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        Ok(body)
    }
}

/// The end of a run, with the journal back.
pub(crate) struct Finished {
    pub journal: Journal,
    pub end: RunEnd,
    pub progress: RunProgress,
}

/// Runs until every row is resolved, a stop is requested, or an answer stops the campaign.
pub(crate) async fn run(
    journal: Journal,
    builder: RowBuilder<'_>,
    client: &Client,
    options: &RunOptions,
    control: &Control,
) -> Result<Finished, CampaignError> {
    let mut journal = journal;
    let rate = options.rate_for(builder.info);
    let counts = journal.counts()?;
    control.start(&counts, rate);
    let run_id = journal.start_run(rate)?;
    let writer = Writer::spawn(journal, run_id);
    let mut pacer = Pacer::new(rate, options.concurrency, Instant::now());
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done>();
    let mut stop_rx = control.subscribe();
    let mut fresh: VecDeque<Claimed> = VecDeque::new();
    let mut waiting: BinaryHeap<Reverse<Waiting>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut cursor = 0u64;
    let mut exhausted = false;
    let mut in_flight = 0usize;
    let mut end: Option<RunEnd> = None;
    let mut progress = RunProgress::default();
    let mut last_progress = Instant::now();
    let mut claim_error: Option<CampaignError> = None;

    let mut on_done = |done: Done,
                       pacer: &mut Pacer,
                       waiting: &mut BinaryHeap<Reverse<Waiting>>,
                       end: &mut Option<RunEnd>,
                       progress: &mut RunProgress| {
        let now = Instant::now();
        pacer.observe_latency(done.latency);
        let Done {
            mut entry, outcome, ..
        } = done;
        let row = entry.claimed.row;
        match outcome {
            Outcome::Succeeded { result, note } => {
                progress.completed += 1;
                control.count(Event::Succeeded);
                writer.update(Update::Succeeded { row, result, note });
            }
            Outcome::Failed { code, message } => {
                progress.completed += 1;
                control.count(Event::Failed);
                writer.update(Update::Failed { row, code, message });
            }
            Outcome::Retry {
                code,
                message,
                throttled,
            } => {
                if throttled {
                    progress.throttled += 1;
                    control.count(Event::Throttled);
                    pacer.throttled(done.sent_at, now);
                    control.set_rate(pacer.current());
                }
                entry.tries += 1;
                if entry.tries >= options.max_attempts {
                    control.count(Event::Unresolved);
                    writer.update(Update::Unresolved { row, code, message });
                } else {
                    control.count(Event::Retry);
                    writer.update(Update::Retrying { row, code, message });
                    seq += 1;
                    waiting.push(Reverse(Waiting {
                        at: now + options.backoff(entry.tries, throttled),
                        seq,
                        entry,
                    }));
                }
            }
            Outcome::Stop { code, message } => {
                writer.update(Update::Unresolved {
                    row,
                    code: code.clone(),
                    message: message.clone(),
                });
                if end.is_none() {
                    *end = Some(RunEnd::Stopped { row, code, message });
                }
            }
        }
    };

    loop {
        while let Ok(done) = done_rx.try_recv() {
            in_flight -= 1;
            on_done(done, &mut pacer, &mut waiting, &mut end, &mut progress);
        }
        control.set_in_flight(in_flight);
        control.set_rate(pacer.current());
        if last_progress.elapsed() >= PROGRESS_EVERY {
            last_progress = Instant::now();
            writer.progress(progress);
        }
        if end.is_none() && control.is_stopping() {
            end = Some(RunEnd::Interrupted);
        }
        if end.is_none() && writer.failed() {
            // The error itself comes back from the final flush.
            end = Some(RunEnd::Interrupted);
        }
        if end.is_some() {
            if in_flight == 0 {
                break;
            }
            if let Some(done) = done_rx.recv().await {
                in_flight -= 1;
                on_done(done, &mut pacer, &mut waiting, &mut end, &mut progress);
            }
            continue;
        }
        if fresh.len() < CLAIM_BATCH / 4 && !exhausted {
            match writer.claim(cursor, CLAIM_BATCH).await {
                Ok(batch) => {
                    exhausted = batch.len() < CLAIM_BATCH;
                    cursor = batch.last().map_or(cursor, |c| c.row);
                    fresh.extend(batch);
                }
                Err(e) => {
                    // Stop taking rows, wait for those in flight, then report it.
                    claim_error = Some(e);
                    end = Some(RunEnd::Interrupted);
                    continue;
                }
            }
        }
        let now = Instant::now();
        let next_retry = waiting.peek().map(|w| w.0.at);
        let retry_ready = next_retry.is_some_and(|at| at <= now);
        if !retry_ready && fresh.is_empty() {
            if in_flight == 0 && waiting.is_empty() && exhausted {
                end = Some(RunEnd::Completed);
                break;
            }
            let wake = next_retry.unwrap_or(now + Duration::from_secs(3600));
            tokio::select! {
                done = done_rx.recv() => if let Some(done) = done {
                    in_flight -= 1;
                    on_done(done, &mut pacer, &mut waiting, &mut end, &mut progress);
                },
                () = tokio::time::sleep_until(wake.into()) => {}
                _ = stop_rx.changed() => {}
            }
            continue;
        }
        if in_flight >= pacer.concurrency() {
            tokio::select! {
                done = done_rx.recv() => if let Some(done) = done {
                    in_flight -= 1;
                    on_done(done, &mut pacer, &mut waiting, &mut end, &mut progress);
                },
                _ = stop_rx.changed() => {}
            }
            continue;
        }
        let ready = pacer.ready_at(now);
        if ready > now {
            tokio::select! {
                biased;
                _ = stop_rx.changed() => {}
                done = done_rx.recv() => if let Some(done) = done {
                    in_flight -= 1;
                    on_done(done, &mut pacer, &mut waiting, &mut end, &mut progress);
                },
                () = tokio::time::sleep_until(ready.into()) => {}
            }
            continue;
        }
        let entry = if retry_ready {
            match waiting.pop() {
                Some(Reverse(w)) => w.entry,
                None => continue,
            }
        } else {
            let Some(claimed) = fresh.pop_front() else {
                continue;
            };
            match builder.build(&claimed) {
                Ok(prepared) => Entry {
                    claimed,
                    prepared,
                    tries: 0,
                },
                Err(problems) => {
                    // Checked when the journal was created; only a schema
                    // change between runs can get here.
                    progress.completed += 1;
                    control.count(Event::Failed);
                    writer.update(Update::Failed {
                        row: claimed.row,
                        code: "INVALID_ROW".into(),
                        message: problems,
                    });
                    continue;
                }
            }
        };
        pacer.take(now);
        in_flight += 1;
        progress.requests += 1;
        progress.first_send_at.get_or_insert_with(now_ms);
        control.count(Event::Sent);
        let client = client.clone();
        let info = builder.info;
        let tx = done_tx.clone();
        tokio::spawn(async move {
            let sent_at = Instant::now();
            let result = client
                .execute_raw_with(
                    info,
                    &entry.prepared.url(),
                    entry.prepared.body.clone(),
                    CallOptions::for_endpoint(info),
                )
                .await;
            let latency = sent_at.elapsed();
            let outcome = classify(info, result);
            let _ = tx.send(Done {
                entry,
                sent_at,
                latency,
                outcome,
            });
        });
    }
    control.set_in_flight(0);
    for claimed in fresh {
        writer.update(Update::Released { row: claimed.row });
    }
    for Reverse(w) in waiting {
        writer.update(Update::Released {
            row: w.entry.claimed.row,
        });
    }
    writer.progress(progress);
    let (mut journal, result) = writer.finish();
    result?;
    if let Some(e) = claim_error {
        return Err(e);
    }
    let end = end.unwrap_or(RunEnd::Interrupted);
    journal.end_run(run_id, end.as_str())?;
    Ok(Finished {
        journal,
        end,
        progress,
    })
}

enum Cmd {
    Claim {
        after: u64,
        limit: usize,
        reply: oneshot::Sender<Result<Vec<Claimed>, CampaignError>>,
    },
    Update(Update),
    Progress(RunProgress),
}

/// The journal's one writer: a thread that applies queued updates in batches.
struct Writer {
    tx: Option<std::sync::mpsc::Sender<Cmd>>,
    thread: Option<std::thread::JoinHandle<(Journal, Result<(), CampaignError>)>>,
    failed: Arc<AtomicBool>,
}

impl Writer {
    fn spawn(journal: Journal, run_id: i64) -> Writer {
        let (tx, rx) = std::sync::mpsc::channel::<Cmd>();
        let failed = Arc::new(AtomicBool::new(false));
        let flag = failed.clone();
        let thread = std::thread::Builder::new()
            .name("campaign-journal".into())
            .spawn(move || writer_loop(journal, run_id, &rx, &flag))
            .expect("cannot start the journal thread");
        Writer {
            tx: Some(tx),
            thread: Some(thread),
            failed,
        }
    }

    fn send(&self, cmd: Cmd) {
        if let Some(tx) = &self.tx {
            if tx.send(cmd).is_err() {
                self.failed.store(true, Ordering::Relaxed);
            }
        }
    }

    fn update(&self, update: Update) {
        self.send(Cmd::Update(update));
    }

    fn progress(&self, progress: RunProgress) {
        self.send(Cmd::Progress(progress));
    }

    fn failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }

    async fn claim(&self, after: u64, limit: usize) -> Result<Vec<Claimed>, CampaignError> {
        let (reply, answer) = oneshot::channel();
        self.send(Cmd::Claim {
            after,
            limit,
            reply,
        });
        answer
            .await
            .unwrap_or_else(|_| Err(CampaignError::Journal("the journal writer stopped".into())))
    }

    /// Applies everything queued and gives the journal back, with the first write error.
    fn finish(mut self) -> (Journal, Result<(), CampaignError>) {
        drop(self.tx.take());
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(done)) => done,
            _ => panic!("the journal writer thread panicked"),
        }
    }
}

fn writer_loop(
    mut journal: Journal,
    run_id: i64,
    rx: &std::sync::mpsc::Receiver<Cmd>,
    failed: &AtomicBool,
) -> (Journal, Result<(), CampaignError>) {
    let mut first_error: Option<CampaignError> = None;
    while let Ok(cmd) = rx.recv() {
        let mut updates = Vec::new();
        let mut progress = None;
        let mut claims = Vec::new();
        let mut next = Some(cmd);
        while let Some(cmd) = next.take() {
            match cmd {
                Cmd::Update(u) => updates.push(u),
                Cmd::Progress(p) => progress = Some(p),
                Cmd::Claim {
                    after,
                    limit,
                    reply,
                } => claims.push((after, limit, reply)),
            }
            if updates.len() < 4096 {
                next = rx.try_recv().ok();
            }
        }
        if first_error.is_none() && (!updates.is_empty() || progress.is_some()) {
            let run = progress.as_ref().map(|p| (run_id, p));
            if let Err(e) = journal.apply(&updates, run) {
                failed.store(true, Ordering::Relaxed);
                first_error = Some(e);
            }
        }
        for (after, limit, reply) in claims {
            let answer = match &first_error {
                Some(e) => Err(CampaignError::Journal(e.to_string())),
                None => journal.claim(after, limit),
            };
            let _ = reply.send(answer);
        }
    }
    (journal, first_error.map_or(Ok(()), Err))
}
