//! One `send` run: rows taken from the journal in order, paced, sent through
//! the transport client, their outcomes written back.
//!
//! The journal is written by one thread (SQLite is blocking) that commits
//! outcomes in groups (every 50 ms), and the next rows are asked for before
//! they are needed, so the async loop never waits on the disk. Rows are taken
//! 256 at a time and marked in flight; on a clean stop, rows taken but not
//! sent go back to pending. Requests in flight are always waited for.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot};
use wechatpay_runtime::json::Prepared;
use wechatpay_runtime::EndpointInfo;
use wechatpay_transport::{CallOptions, Client, RetryPolicy};

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
/// Outcomes are committed in groups at most this far apart. A crash loses at
/// most this much of them, and those rows are resent with their numbers.
const COMMIT_EVERY: Duration = Duration::from_millis(50);
/// 429 answers for one row in one run before it is left pending for the next.
const MAX_THROTTLED: u32 = 50;
/// The most updates in one transaction.
const MAX_BATCH: usize = 4096;

/// How a run sends.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOptions {
    /// Requests per second; default: the operation's documented limit, else
    /// [`RunOptions::UNDOCUMENTED_RATE`].
    pub rate: Option<f64>,
    /// The most requests in flight; default: just enough to hold the rate.
    pub concurrency: Option<usize>,
    /// Attempts with an unknown outcome per row in one run before it is left
    /// pending for the next run (a row is never marked failed for an unknown
    /// outcome). 429 answers have their own allowance of 50.
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
        // The transport's schedule and jitter, with the campaign's bounds.
        RetryPolicy {
            initial_backoff: initial,
            max_backoff: max,
            ..RetryPolicy::default()
        }
        .backoff(tries)
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
    /// Attempts this run whose outcome was unknown.
    tries: u32,
    /// Attempts this run answered 429.
    throttled: u32,
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

/// The state of one run.
struct Run<'a> {
    builder: RowBuilder<'a>,
    client: &'a Client,
    options: &'a RunOptions,
    control: &'a Control,
    writer: Writer,
    pacer: Pacer,
    done_tx: mpsc::UnboundedSender<Done>,
    /// Rows taken from the journal, not sent yet.
    fresh: VecDeque<Claimed>,
    /// Rows waiting to be resent, by when.
    waiting: BinaryHeap<Reverse<Waiting>>,
    seq: u64,
    /// The last row taken from the journal.
    cursor: u64,
    /// Whether the journal has no open row after `cursor`.
    exhausted: bool,
    /// The next rows, asked for before they are needed.
    claim: Option<oneshot::Receiver<Result<Vec<Claimed>, CampaignError>>>,
    in_flight: usize,
    end: Option<RunEnd>,
    progress: RunProgress,
    last_progress: Instant,
    error: Option<CampaignError>,
}

/// Waits for the outstanding claim, if there is one (else forever).
async fn claimed(
    claim: &mut Option<oneshot::Receiver<Result<Vec<Claimed>, CampaignError>>>,
) -> Result<Vec<Claimed>, CampaignError> {
    match claim {
        Some(rx) => rx
            .await
            .unwrap_or_else(|_| Err(CampaignError::Journal("the journal writer stopped".into()))),
        None => std::future::pending().await,
    }
}

/// What woke the loop.
enum Wake {
    Done(Option<Box<Done>>),
    Claimed(Result<Vec<Claimed>, CampaignError>),
    Other,
}

impl Run<'_> {
    fn on_done(&mut self, done: Done) {
        self.in_flight -= 1;
        let now = Instant::now();
        self.pacer.observe_latency(done.latency);
        let Done {
            mut entry,
            outcome,
            sent_at,
            ..
        } = done;
        let row = entry.claimed.row;
        match outcome {
            Outcome::Succeeded { result, note } => {
                self.progress.completed += 1;
                self.control.count(Event::Succeeded);
                self.writer.update(Update::Succeeded { row, result, note });
            }
            Outcome::Failed { code, message } => {
                self.progress.completed += 1;
                self.control.count(Event::Failed);
                self.writer.update(Update::Failed { row, code, message });
            }
            Outcome::Retry {
                code,
                message,
                throttled,
            } => {
                if throttled {
                    self.progress.throttled += 1;
                    self.control.count(Event::Throttled);
                    self.pacer.throttled(sent_at, now);
                }
                // A 429 is the server refusing to look at the request: it
                // counts against its own, larger allowance.
                let (tries, allowed) = if throttled {
                    entry.throttled += 1;
                    (entry.throttled, MAX_THROTTLED)
                } else {
                    entry.tries += 1;
                    (entry.tries, self.options.max_attempts)
                };
                if tries >= allowed {
                    self.control.count(Event::Unresolved);
                    self.writer
                        .update(Update::Unresolved { row, code, message });
                } else {
                    self.control.count(Event::Retry);
                    self.writer.update(Update::Retrying { row, code, message });
                    self.seq += 1;
                    self.waiting.push(Reverse(Waiting {
                        at: now + self.options.backoff(tries, throttled),
                        seq: self.seq,
                        entry,
                    }));
                }
            }
            Outcome::Stop { code, message } => {
                self.writer.update(Update::Unresolved {
                    row,
                    code: code.clone(),
                    message: message.clone(),
                });
                if self.end.is_none() {
                    self.end = Some(RunEnd::Stopped { row, code, message });
                }
            }
        }
    }

    fn on_claimed(&mut self, result: Result<Vec<Claimed>, CampaignError>) {
        self.claim = None;
        match result {
            Ok(batch) => {
                self.exhausted = batch.len() < CLAIM_BATCH;
                self.cursor = batch.last().map_or(self.cursor, |c| c.row);
                self.fresh.extend(batch);
            }
            Err(e) => {
                // Stop taking rows, wait for those in flight, then report it.
                self.error.get_or_insert(e);
                self.exhausted = true;
                self.end.get_or_insert(RunEnd::Interrupted);
            }
        }
    }

    /// Asks for the next rows early, so the loop never waits on the disk.
    fn claim_ahead(&mut self) {
        if let Some(rx) = self.claim.as_mut() {
            match rx.try_recv() {
                Ok(result) => self.on_claimed(result),
                Err(oneshot::error::TryRecvError::Empty) => {}
                Err(oneshot::error::TryRecvError::Closed) => self.on_claimed(Err(
                    CampaignError::Journal("the journal writer stopped".into()),
                )),
            }
        }
        if self.claim.is_none() && !self.exhausted && self.fresh.len() < CLAIM_BATCH / 2 {
            self.claim = Some(self.writer.claim(self.cursor, CLAIM_BATCH));
        }
    }

    /// The next row to send: a resend whose time has come, else a fresh row.
    fn next_entry(&mut self, now: Instant) -> Option<Entry> {
        if self.waiting.peek().is_some_and(|w| w.0.at <= now) {
            return self.waiting.pop().map(|w| w.0.entry);
        }
        while let Some(claimed) = self.fresh.pop_front() {
            match self.builder.build(&claimed) {
                Ok(prepared) => {
                    return Some(Entry {
                        claimed,
                        prepared,
                        tries: 0,
                        throttled: 0,
                    })
                }
                Err(problems) => {
                    // Checked when the journal was created; only a schema
                    // change between runs can get here.
                    self.progress.completed += 1;
                    self.control.count(Event::Failed);
                    self.writer.update(Update::Failed {
                        row: claimed.row,
                        code: "INVALID_ROW".into(),
                        message: problems,
                    });
                }
            }
        }
        None
    }

    fn send(&mut self, entry: Entry, now: Instant) {
        self.pacer.take(now);
        self.in_flight += 1;
        self.progress.requests += 1;
        self.progress.first_send_at.get_or_insert_with(now_ms);
        self.control.count(Event::Sent);
        let client = self.client.clone();
        let info = self.builder.info;
        let tx = self.done_tx.clone();
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
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done>();
    let mut stop_rx = control.subscribe();
    let mut run = Run {
        builder,
        client,
        options,
        control,
        writer: Writer::spawn(journal, run_id),
        pacer: Pacer::new(rate, options.concurrency, Instant::now()),
        done_tx,
        fresh: VecDeque::new(),
        waiting: BinaryHeap::new(),
        seq: 0,
        cursor: 0,
        exhausted: false,
        claim: None,
        in_flight: 0,
        end: None,
        progress: RunProgress::default(),
        last_progress: Instant::now(),
        error: None,
    };

    loop {
        while let Ok(done) = done_rx.try_recv() {
            run.on_done(done);
        }
        control.set_in_flight(run.in_flight);
        control.set_rate(run.pacer.current());
        if run.last_progress.elapsed() >= PROGRESS_EVERY {
            run.last_progress = Instant::now();
            run.writer.progress(run.progress);
        }
        if run.end.is_none() && (control.is_stopping() || run.writer.failed()) {
            // A write error itself comes back from the final flush.
            run.end = Some(RunEnd::Interrupted);
        }
        if run.end.is_some() {
            if run.in_flight == 0 {
                break;
            }
            if let Some(done) = done_rx.recv().await {
                run.on_done(done);
            }
            continue;
        }
        run.claim_ahead();
        let now = Instant::now();
        let wake = if run.fresh.is_empty() && run.waiting.peek().is_none_or(|w| w.0.at > now) {
            if run.in_flight == 0 && run.waiting.is_empty() && run.exhausted && run.claim.is_none()
            {
                run.end = Some(RunEnd::Completed);
                break;
            }
            // Nothing to send yet: a reply, a resend's time, the next rows, or a stop.
            let at = run
                .waiting
                .peek()
                .map_or(now + Duration::from_secs(3600), |w| w.0.at);
            tokio::select! {
                done = done_rx.recv() => Wake::Done(done.map(Box::new)),
                result = claimed(&mut run.claim) => Wake::Claimed(result),
                () = tokio::time::sleep_until(at.into()) => Wake::Other,
                _ = stop_rx.changed() => Wake::Other,
            }
        } else if run.in_flight >= run.pacer.concurrency() {
            tokio::select! {
                done = done_rx.recv() => Wake::Done(done.map(Box::new)),
                _ = stop_rx.changed() => Wake::Other,
            }
        } else {
            let ready = run.pacer.ready_at(now);
            if ready <= now {
                if let Some(entry) = run.next_entry(now) {
                    run.send(entry, now);
                }
                continue;
            }
            tokio::select! {
                biased;
                _ = stop_rx.changed() => Wake::Other,
                done = done_rx.recv() => Wake::Done(done.map(Box::new)),
                () = tokio::time::sleep_until(ready.into()) => Wake::Other,
            }
        };
        match wake {
            Wake::Done(Some(done)) => run.on_done(*done),
            Wake::Claimed(result) => run.on_claimed(result),
            Wake::Done(None) | Wake::Other => {}
        }
    }
    control.set_in_flight(0);
    let Run {
        writer,
        fresh,
        waiting,
        mut claim,
        progress,
        end,
        error,
        ..
    } = run;
    // Rows taken but not sent go back to pending (an outstanding claim's too).
    if let Some(rx) = claim.take() {
        if let Ok(Ok(batch)) = rx.await {
            for claimed in batch {
                writer.update(Update::Released { row: claimed.row });
            }
        }
    }
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
    if let Some(e) = error {
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

/// The journal's one writer: a thread that applies queued updates in batches.
///
/// Updates are queued without waking it (a wake per reply would cost more
/// than the write); it wakes every [`COMMIT_EVERY`], or at once for a claim
/// or the end of the run.
struct Writer {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<(Journal, Result<(), CampaignError>)>>,
}

#[derive(Default)]
struct Queue {
    updates: Vec<Update>,
    progress: Option<RunProgress>,
    claims: Vec<ClaimRequest>,
    closed: bool,
}

type ClaimRequest = (
    u64,
    usize,
    oneshot::Sender<Result<Vec<Claimed>, CampaignError>>,
);

struct Shared {
    queue: std::sync::Mutex<Queue>,
    wake: std::sync::Condvar,
    failed: AtomicBool,
}

impl Shared {
    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Writer {
    fn spawn(journal: Journal, run_id: i64) -> Writer {
        let shared = Arc::new(Shared {
            queue: std::sync::Mutex::new(Queue::default()),
            wake: std::sync::Condvar::new(),
            failed: AtomicBool::new(false),
        });
        let theirs = shared.clone();
        let thread = std::thread::Builder::new()
            .name("campaign-journal".into())
            .spawn(move || writer_loop(journal, run_id, &theirs))
            .expect("cannot start the journal thread");
        Writer {
            shared,
            thread: Some(thread),
        }
    }

    fn update(&self, update: Update) {
        self.shared.queue().updates.push(update);
    }

    fn progress(&self, progress: RunProgress) {
        self.shared.queue().progress = Some(progress);
    }

    fn failed(&self) -> bool {
        self.shared.failed.load(Ordering::Relaxed)
    }

    /// Asks for the next open rows after `after`; the answer comes on the receiver.
    fn claim(
        &self,
        after: u64,
        limit: usize,
    ) -> oneshot::Receiver<Result<Vec<Claimed>, CampaignError>> {
        let (reply, answer) = oneshot::channel();
        self.shared.queue().claims.push((after, limit, reply));
        self.shared.wake.notify_one();
        answer
    }

    /// Applies everything queued and gives the journal back, with the first write error.
    fn finish(mut self) -> (Journal, Result<(), CampaignError>) {
        self.shared.queue().closed = true;
        self.shared.wake.notify_one();
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(done)) => done,
            _ => panic!("the journal writer thread panicked"),
        }
    }
}

fn writer_loop(
    mut journal: Journal,
    run_id: i64,
    shared: &Shared,
) -> (Journal, Result<(), CampaignError>) {
    let mut first_error: Option<CampaignError> = None;
    loop {
        let (updates, progress, claims, closed) = {
            let mut queue = shared.queue();
            let deadline = Instant::now() + COMMIT_EVERY;
            while queue.claims.is_empty() && !queue.closed && queue.updates.len() < MAX_BATCH {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                queue = shared
                    .wake
                    .wait_timeout(queue, left)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            (
                std::mem::take(&mut queue.updates),
                queue.progress.take(),
                std::mem::take(&mut queue.claims),
                queue.closed,
            )
        };
        if first_error.is_none() && (!updates.is_empty() || progress.is_some()) {
            let run = progress.as_ref().map(|p| (run_id, p));
            if let Err(e) = journal.apply(&updates, run) {
                shared.failed.store(true, Ordering::Relaxed);
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
        if closed {
            break;
        }
    }
    (journal, first_error.map_or(Ok(()), Err))
}
