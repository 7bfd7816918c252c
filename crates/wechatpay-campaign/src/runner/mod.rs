//! One `send` run: rows taken from the journal in order, paced, sent through
//! the transport client, their outcomes written back; and, when the operation's
//! results need a follow-up (a sent coupon awaiting its confirm), the follow-ups
//! the journal recorded with each send, on their own lane and at their own rate.
//!
//! The journal is written by one thread (SQLite is blocking) that commits
//! outcomes in groups (every 50 ms), and the next work is asked for before it is
//! needed, so the async loop never waits on the disk. Rows are taken 256 at a
//! time and marked in flight; on a clean stop, work taken but not sent goes back
//! to pending. Requests in flight are always waited for.
//!
//! For an operation whose schema names a brand field (a service provider sending
//! for many brands), each step's work is queued and paced per brand (`lane`,
//! [`crate::pacing`]), and a refusal about the caller acting for one brand stops
//! that brand's rows only ([`gate`]).

mod answers;
pub mod gate;
mod lane;
mod writer;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use tokio::sync::mpsc;
use wechatpay_runtime::json::Prepared;
use wechatpay_runtime::{EndpointInfo, FollowUp};
use wechatpay_transport::{CallOptions, Client, RetryPolicy};

use crate::control::{Control, Event};
use crate::endpoint::prepare;
use crate::error::CampaignError;
use crate::follow_up::StepOutcome;
use crate::follow_up::{self, Step};
use crate::input::merge;
use crate::journal::{
    now_ms, Beat, Claimed, ClaimedFollowUp, FollowUpUpdate, Journal, RunProgress, Update, LEASE,
};
use crate::outcome::{classify, FollowContext, Outcome};
use crate::pacing::{Pacing, QuotaScope};
use gate::{GatePolicy, Gates};
use lane::{claimed, Branded, Lane, Work};
use writer::Writer;

/// Rows (and follow-ups) taken from the journal at a time.
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
    /// Whether to perform the follow-up the schema declares (confirm each coupon
    /// sent). Without it, rows stop after the send and stay `confirming`: a later
    /// run with it confirms them.
    pub follow_up: bool,
    /// Refusals a follow-up may get in one run while its result is still waiting
    /// (the coupon's notification not delivered yet) before it is left pending for
    /// the next run; it never fails the row.
    pub max_waits: u32,
    /// The wait after the first such refusal; it doubles up to `retry_max`.
    pub wait_initial: Duration,
    /// What `rate` counts for an operation with a brand field: each brand's requests
    /// (the default) or all brands' together. Without a brand field there is one bucket.
    pub quota: QuotaScope,
    /// How a brand refused as a caller (NO_AUTH) is re-checked before its rows fail.
    pub gate: GatePolicy,
    /// The follow-up step's rate per bucket; default: the follow-up operation's
    /// documented limit ([`RunOptions::follow_up_rate`]).
    pub follow_up_rate: Option<f64>,
    /// On a shared (PostgreSQL) journal: how long the rows this worker takes stay
    /// its own without its heartbeat. A worker that dies (and is not restarted on
    /// the same machine) delays its rows this long.
    pub lease: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            rate: None,
            concurrency: None,
            max_attempts: 8,
            retry_initial: Duration::from_millis(250),
            retry_max: Duration::from_secs(30),
            follow_up: true,
            max_waits: 10,
            wait_initial: Duration::from_secs(1),
            quota: QuotaScope::PerBrand,
            gate: GatePolicy::default(),
            lease: LEASE,
            follow_up_rate: None,
        }
    }
}

impl RunOptions {
    /// The rate used for an operation whose page documents no limit.
    pub const UNDOCUMENTED_RATE: f64 = 100.0;

    /// The rate this run aims at for `info`, per quota bucket (see [`RunOptions::quota`]).
    pub fn rate_for(&self, info: &EndpointInfo) -> f64 {
        self.rate
            .or(info.rate_per_second.map(f64::from))
            .unwrap_or(Self::UNDOCUMENTED_RATE)
    }

    /// The rate of a follow-up operation: its own documented limit (`--rate` sets
    /// the send's only).
    pub fn follow_up_rate(info: &EndpointInfo) -> f64 {
        info.rate_per_second
            .map_or(Self::UNDOCUMENTED_RATE, f64::from)
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

    fn wait_backoff(&self, waits: u32) -> Duration {
        RetryPolicy {
            initial_backoff: self.wait_initial,
            max_backoff: self.retry_max,
            ..RetryPolicy::default()
        }
        .backoff(waits)
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEnd {
    /// Every row was taken; rows still open (if any) ran out of attempts this run.
    /// Rows of a brand that refused the caller for good are failed (see [`gate`]).
    Completed,
    /// Stopped on request (Ctrl-C); the rows not sent are pending.
    Interrupted,
    /// Stopped by an answer no row can fix (credentials, permission, an
    /// undocumented error, a local failure); the row is pending.
    Stopped {
        /// The row whose answer stopped the run (it stays pending).
        row: u64,
        /// The error code: WeChat Pay's `code`, or the SDK's own (`HTTP_500`, `INVALID_ROW`, `LOCAL`) when there is none.
        code: String,
        /// What the error says.
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

/// A request's attempts in this run.
#[derive(Debug, Default)]
struct Tries {
    /// Attempts whose outcome was unknown.
    unknown: u32,
    /// Attempts answered 429.
    throttled: u32,
}

impl Tries {
    /// Counts an attempt to send again; the wait before the resend, or `None` when
    /// this run's allowance is spent (the work is then left pending for the next run).
    /// A 429 is the server refusing to look at the request: it counts against its
    /// own, larger allowance.
    fn again(&mut self, throttled: bool, options: &RunOptions) -> Option<Duration> {
        let (tries, allowed) = if throttled {
            self.throttled += 1;
            (self.throttled, MAX_THROTTLED)
        } else {
            self.unknown += 1;
            (self.unknown, options.max_attempts)
        };
        (tries < allowed).then(|| options.backoff(tries, throttled))
    }
}

/// One row on its way: its request (built once) and its tries this run.
struct Entry {
    claimed: Claimed,
    /// The row's request as JSON (path parameters included): its follow-ups' values.
    request: Value,
    prepared: Prepared,
    tries: Tries,
    /// Whether it goes out as its brand's probe (see [`gate`]).
    probe: bool,
}

impl Branded for Claimed {
    fn brand(&self) -> &str {
        &self.brand
    }
}

impl Branded for ClaimedFollowUp {
    fn brand(&self) -> &str {
        &self.brand
    }
}

impl Branded for Entry {
    fn brand(&self) -> &str {
        &self.claimed.brand
    }
}

impl Branded for FollowEntry {
    fn brand(&self) -> &str {
        &self.claimed.brand
    }
}

/// One follow-up on its way.
struct FollowEntry {
    claimed: ClaimedFollowUp,
    step: Step,
    prepared: Prepared,
    tries: Tries,
    /// Refusals this run while the result was still waiting.
    waits: u32,
    /// Whether it goes out as its brand's probe (see [`gate`]).
    probe: bool,
}

enum Done {
    Row {
        entry: Entry,
        sent_at: Instant,
        latency: Duration,
        outcome: Outcome,
    },
    FollowUp {
        entry: FollowEntry,
        sent_at: Instant,
        latency: Duration,
        outcome: StepOutcome,
    },
}

/// What the run needs to build each row's request.
pub(crate) struct RowBuilder<'a> {
    pub info: &'static EndpointInfo,
    pub template: &'a Map<String, Value>,
    pub number_field: &'static str,
}

impl RowBuilder<'_> {
    fn build(&self, claimed: &Claimed) -> Result<(Value, Prepared), String> {
        let joined = |problems: Vec<wechatpay_runtime::json::Problem>| {
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        };
        let body = merge(
            self.info,
            self.template,
            &claimed.cells,
            Some((self.number_field, &claimed.request_no)),
        )
        .map_err(joined)?;
        let prepared = prepare(self.info, &body).map_err(joined)?;
        Ok((body, prepared))
    }
}

/// The end of a run, with the journal back.
pub(crate) struct Finished {
    pub journal: Journal,
    pub end: RunEnd,
    pub progress: RunProgress,
}

/// The follow-up step of a run.
struct FollowLane {
    follow_up: &'static FollowUp,
    lane: Lane<ClaimedFollowUp, FollowEntry>,
    /// Brands whose follow-ups may have been recorded since the last claim was asked for.
    recorded: HashSet<String>,
    /// The brands of the claim outstanding.
    asked: Vec<String>,
    /// Claims are asked at most every [`COMMIT_EVERY`] (each one commits).
    next_claim: Instant,
    /// Open follow-ups per row, to tell when a row is done.
    open: HashMap<u64, u32>,
    /// Follow-ups this run gave up on (still taken in the journal, released at the end).
    given_up: Vec<(u64, u32)>,
}

/// A run's part in a shared journal: what it tells the other workers, and
/// how it makes sure no row is left behind when it ends.
#[derive(Default)]
struct SharedRun {
    /// Whether other workers may send from the journal (PostgreSQL).
    on: bool,
    /// Brands answered 429 since the last beat, per step.
    throttled: HashSet<String>,
    throttled_follow_ups: HashSet<String>,
    /// When the answer to a beat last came (the peers applied): it also renewed
    /// this worker's leases.
    peers_seen: Option<Instant>,
    /// The last time this run looked at every brand from its first row again.
    swept: Option<Instant>,
    /// Whether the last answer said another live worker holds open work.
    others_hold_work: bool,
    /// How long this worker's claims hold without a heartbeat.
    lease: Duration,
    /// This worker's share of each brand's rate (1 / the workers sending).
    share: f64,
}

impl SharedRun {
    /// Whether this worker's leases may have run out (no heartbeat answered for
    /// most of the lease): it then sends nothing new, as when the journal is
    /// unreachable, since another worker may be taking its rows.
    fn lease_lapsed(&self, now: Instant) -> bool {
        self.on
            && self
                .peers_seen
                .is_some_and(|at| now > at + self.lease.mul_f64(LEASE_MARGIN))
    }
}

/// How often a finished worker on a shared journal looks for rows that other
/// workers still hold (or lost with their leases).
const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// The share of its lease after which a worker whose heartbeats go unanswered
/// stops sending.
const LEASE_MARGIN: f64 = 0.6;

/// The state of one run.
struct Run<'a> {
    builder: RowBuilder<'a>,
    client: &'a Client,
    options: &'a RunOptions,
    control: &'a Control,
    writer: Writer,
    rows: Lane<Claimed, Entry>,
    /// The brands (and rows after which) of the row claim outstanding.
    rows_asked: Vec<(String, u64)>,
    /// The follow-up the operation declares and the caller its numbers are derived
    /// for: recorded with every send, performed or not.
    declared: Option<(&'static FollowUp, String)>,
    /// Performing the follow-ups (absent with `follow_up: false`).
    follow: Option<FollowLane>,
    done_tx: mpsc::UnboundedSender<Done>,
    /// Each brand's gate: open, re-checked after a refusal about the caller, or closed.
    gates: Gates,
    /// Rows per claim and brand: fewer when there are many brands.
    batch: usize,
    run_id: i64,
    end: Option<RunEnd>,
    progress: RunProgress,
    last_progress: Instant,
    error: Option<CampaignError>,
    shared: SharedRun,
}

/// What woke the loop.
enum Wake {
    Done(Option<Box<Done>>),
    Rows(Result<Vec<Claimed>, CampaignError>),
    FollowUps(Result<Vec<ClaimedFollowUp>, CampaignError>),
    Other,
}

impl Run<'_> {
    fn on_claim_error(&mut self, e: CampaignError) {
        // Stop taking work, wait for what is in flight, then report it.
        self.error.get_or_insert(e);
        for (_, queue) in self.rows.queues_mut() {
            queue.exhausted = true;
        }
        self.end.get_or_insert(RunEnd::Interrupted);
    }

    fn on_rows(&mut self, wants: &[(String, u64)], result: Result<Vec<Claimed>, CampaignError>) {
        self.rows.claim = None;
        let batch = match result {
            Ok(batch) => batch,
            Err(e) => return self.on_claim_error(e),
        };
        for (brand, _) in wants {
            let taken = batch.iter().filter(|c| &c.brand == brand).count();
            let queue = self.rows.queue(brand);
            queue.exhausted = taken < self.batch;
        }
        for claimed in batch {
            self.rows.queue(&claimed.brand).cursor = claimed.row;
            self.rows.add(claimed);
        }
    }

    fn on_follow_ups(
        &mut self,
        brands: &[String],
        result: Result<Vec<ClaimedFollowUp>, CampaignError>,
    ) {
        let Some(follow) = self.follow.as_mut() else {
            return;
        };
        follow.lane.claim = None;
        let batch = match result {
            Ok(batch) => batch,
            Err(e) => return self.on_claim_error(e),
        };
        for brand in brands {
            let taken = batch.iter().filter(|c| &c.brand == brand).count();
            // Empty only counts when nothing was recorded since it was asked.
            let recorded = follow.recorded.contains(brand);
            follow.lane.queue(brand).exhausted = taken < self.batch && !recorded;
        }
        for claimed in batch {
            // A follow-up resumed from an earlier run: this run did not see
            // its row's send, so the claim says how many the row has open.
            follow
                .open
                .entry(claimed.row)
                .or_insert(claimed.open_in_row);
            follow.lane.add(claimed);
        }
    }

    /// Asks for the next work early, so the loop never waits on the disk.
    fn claim_ahead(&mut self, now: Instant) {
        if let Some(result) = self.rows.try_claimed() {
            let wants = std::mem::take(&mut self.rows_asked);
            self.on_rows(&wants, result);
        }
        if self.rows.claim.is_none() {
            let wants = self.rows.wants(self.batch);
            if !wants.is_empty() {
                self.rows.claim = Some(self.writer.claim(wants.clone(), self.batch));
                self.rows_asked = wants;
            }
        }
        if let Some(result) = self.follow.as_mut().and_then(|f| f.lane.try_claimed()) {
            let brands = self
                .follow
                .as_mut()
                .map(|f| std::mem::take(&mut f.asked))
                .unwrap_or_default();
            self.on_follow_ups(&brands, result);
        }
        self.ask_follow_ups(now);
    }

    fn ask_follow_ups(&mut self, now: Instant) {
        let Some(follow) = self.follow.as_mut() else {
            return;
        };
        if follow.lane.claim.is_some() || now < follow.next_claim {
            return;
        }
        let brands: Vec<String> = follow
            .lane
            .wants(self.batch)
            .into_iter()
            .map(|(brand, _)| brand)
            .collect();
        if brands.is_empty() {
            return;
        }
        follow.recorded.clear();
        follow.next_claim = now + COMMIT_EVERY;
        follow.lane.claim = Some(self.writer.claim_follow_ups(brands.clone(), self.batch));
        follow.asked = brands;
    }

    /// A row taken from the journal, ready to send; `None` when it fails at once
    /// (its request cannot be built, or its brand is closed and it was never sent).
    fn entry(&mut self, claimed: Claimed, probe: bool) -> Option<Entry> {
        if !claimed.maybe_sent && self.gates.closed(&claimed.brand).is_some() {
            self.fail_unsent(claimed.row, &claimed.brand.clone());
            return None;
        }
        match self.builder.build(&claimed) {
            Ok((request, prepared)) => Some(Entry {
                claimed,
                request,
                prepared,
                tries: Tries::default(),
                probe,
            }),
            Err(problems) => {
                // Checked when the journal was created; only a schema
                // change between runs can get here.
                self.row_done(false);
                self.writer.update(Update::Failed {
                    row: claimed.row,
                    code: "INVALID_ROW".into(),
                    message: problems,
                });
                None
            }
        }
    }

    /// The next row to send: in turn among the brands, a resend whose time has
    /// come, else a fresh row.
    fn next_row(&mut self, now: Instant) -> Option<Entry> {
        loop {
            let gates = &self.gates;
            let work = self.rows.next(now, &|brand| gates.held(brand))?;
            match work {
                Work::Due(entry) => return Some(entry),
                Work::Fresh(claimed) => {
                    if let Some(entry) = self.entry(claimed, false) {
                        return Some(entry);
                    }
                }
            }
        }
    }

    /// A follow-up taken from the journal, ready to send.
    fn follow_entry(&mut self, claimed: ClaimedFollowUp, probe: bool) -> Option<FollowEntry> {
        let follow = self.follow.as_mut()?;
        let built = wechatpay_endpoints::find(&claimed.operation_id)
            .ok_or_else(|| format!("no operation {}", claimed.operation_id))
            .and_then(|info| {
                let step = Step {
                    info,
                    follow_up: follow.follow_up,
                    body: claimed.body.clone(),
                    request_no: claimed.request_no.clone(),
                };
                step.prepare().map(|prepared| (step, prepared))
            });
        match built {
            Ok((step, prepared)) => Some(FollowEntry {
                claimed,
                step,
                prepared,
                tries: Tries::default(),
                waits: 0,
                probe,
            }),
            Err(reason) => {
                let (row, item) = (claimed.row, claimed.item);
                follow.open.remove(&row);
                self.writer.update(Update::FollowUp {
                    row,
                    item,
                    update: FollowUpUpdate::Failed {
                        code: "INVALID_FOLLOW_UP".into(),
                        message: reason,
                    },
                    declared: None,
                });
                self.progress.completed += 1;
                self.control.count(Event::Failed);
                None
            }
        }
    }

    /// The next follow-up to send: in turn among the brands, a resend whose time
    /// has come, else a fresh one.
    fn next_follow_up(&mut self, now: Instant) -> Option<FollowEntry> {
        loop {
            let gates = &self.gates;
            let work = self.follow.as_mut()?.lane.next(now, &|b| gates.held(b))?;
            match work {
                Work::Due(entry) => return Some(entry),
                Work::Fresh(claimed) => {
                    if let Some(entry) = self.follow_entry(claimed, false) {
                        return Some(entry);
                    }
                }
            }
        }
    }

    /// Sends the probe of each brand being re-checked whose time has come: held
    /// work first (rows before follow-ups), else any other of the brand's work.
    fn send_probes(&mut self, now: Instant) -> bool {
        let mut sent = false;
        for brand in self.gates.probes_due(now) {
            if let Some(work) = self.rows.probe(&brand, now) {
                let entry = match work {
                    Work::Due(mut entry) => {
                        entry.probe = true;
                        Some(entry)
                    }
                    Work::Fresh(claimed) => self.entry(claimed, true),
                };
                if let Some(entry) = entry {
                    self.gates.probe_sent(&brand);
                    self.send_row(entry, now);
                    sent = true;
                    continue;
                }
            }
            let work = self.follow.as_mut().and_then(|f| f.lane.probe(&brand, now));
            let entry = match work {
                Some(Work::Due(mut entry)) => {
                    entry.probe = true;
                    Some(entry)
                }
                Some(Work::Fresh(claimed)) => self.follow_entry(claimed, true),
                None => None,
            };
            if let Some(entry) = entry {
                self.gates.probe_sent(&brand);
                self.send_follow_up(entry, now);
                sent = true;
            }
        }
        sent
    }

    fn send_row(&mut self, entry: Entry, now: Instant) {
        self.writer.update(Update::Sent {
            row: entry.claimed.row,
        });
        self.rows.pacing.sent(&entry.claimed.brand, now);
        self.rows.in_flight += 1;
        self.count_request();
        let client = self.client.clone();
        let info = self.builder.info;
        let tx = self.done_tx.clone();
        let follow = self.declared.clone();
        tokio::spawn(async move {
            let sent_at = Instant::now();
            let result = client
                .execute_raw(
                    info,
                    &entry.prepared.url(),
                    entry.prepared.body.clone(),
                    CallOptions::default(),
                )
                .await;
            let latency = sent_at.elapsed();
            let context = follow.as_ref().map(|(follow_up, identity)| FollowContext {
                follow_up,
                identity,
                request: &entry.request,
            });
            let outcome = classify(info, result, context);
            let _ = tx.send(Done::Row {
                entry,
                sent_at,
                latency,
                outcome,
            });
        });
    }

    fn send_follow_up(&mut self, entry: FollowEntry, now: Instant) {
        let Some(follow) = self.follow.as_mut() else {
            return;
        };
        follow.lane.pacing.sent(&entry.claimed.brand, now);
        follow.lane.in_flight += 1;
        self.count_request();
        let client = self.client.clone();
        let tx = self.done_tx.clone();
        tokio::spawn(async move {
            let sent_at = Instant::now();
            let outcome = follow_up::attempt(&client, &entry.step, &entry.prepared).await;
            let _ = tx.send(Done::FollowUp {
                entry,
                sent_at,
                latency: sent_at.elapsed(),
                outcome,
            });
        });
    }

    fn count_request(&mut self) {
        self.progress.requests += 1;
        self.progress.first_send_at.get_or_insert_with(now_ms);
        self.control.count(Event::Sent);
    }

    fn in_flight(&self) -> usize {
        self.rows.in_flight + self.follow.as_ref().map_or(0, |f| f.lane.in_flight)
    }

    /// The rate allowed now and the rate aimed at, both steps' sends (the rows') together.
    fn rates(&self) -> (f64, f64) {
        (self.rows.pacing.current(), self.rows.pacing.target())
    }

    /// Sends what may go out now; whether anything did.
    fn send_ready(&mut self, now: Instant) -> bool {
        let mut sent = self.send_probes(now);
        if let Some(entry) = self.next_row(now) {
            self.send_row(entry, now);
            sent = true;
        }
        if let Some(entry) = self.next_follow_up(now) {
            self.send_follow_up(entry, now);
            sent = true;
        }
        sent
    }

    /// Tells the others how this worker sends, and applies what they said last:
    /// this worker's share of each brand's rate, and their 429s.
    fn beat(&mut self, now: Instant) {
        if !self.shared.on {
            return;
        }
        let sending = !self.finished();
        self.writer.beat(Beat {
            run_id: self.run_id,
            sending,
            rates: self.rows.pacing.rates(),
            throttled: self.shared.throttled.drain().collect(),
            throttled_follow_ups: self.shared.throttled_follow_ups.drain().collect(),
        });
        let Some((peers, at)) = self.writer.peers() else {
            return;
        };
        if self.shared.peers_seen.is_some_and(|seen| seen >= at) {
            return;
        }
        self.shared.peers_seen = Some(at);
        self.shared.others_hold_work = peers.others_hold_work;
        let share = 1.0 / f64::from(peers.sending.max(1));
        self.shared.share = share;
        self.rows.pacing.set_share(share, now);
        for brand in &peers.throttled {
            self.rows.pacing.throttled_elsewhere(brand, now);
        }
        if let Some(follow) = self.follow.as_mut() {
            follow.lane.pacing.set_share(share, now);
            for brand in &peers.throttled_follow_ups {
                follow.lane.pacing.throttled_elsewhere(brand, now);
            }
        }
    }

    /// Whether a run whose work is all done may end. On a shared journal only
    /// once no other live worker holds open work (it may die with it) and a look
    /// at every brand from its first row, made after the others said so, found
    /// nothing left (rows whose worker's lease expired are taken then).
    fn may_end(&mut self, now: Instant) -> bool {
        if !self.shared.on {
            return true;
        }
        let Some(seen) = self.shared.peers_seen else {
            return false;
        };
        let swept_since = self.shared.swept.is_some_and(|swept| swept > seen);
        if swept_since && !self.shared.others_hold_work {
            return true;
        }
        let due = self
            .shared
            .swept
            .is_none_or(|swept| now >= swept + SWEEP_EVERY);
        if !swept_since && due {
            self.shared.swept = Some(now);
            self.rows.rewind();
            if let Some(follow) = self.follow.as_mut() {
                follow.lane.rewind();
                follow.next_claim = now;
            }
        }
        false
    }

    fn finished(&self) -> bool {
        self.rows.idle() && self.follow.as_ref().is_none_or(|f| f.lane.idle())
    }

    /// When the loop must look again, beyond replies and claims.
    fn wake_at(&mut self, now: Instant) -> Instant {
        let mut at = now + Duration::from_secs(3600);
        let gates = &self.gates;
        let held = |brand: &str| gates.held(brand);
        if let Some(t) = self.rows.wake_at(now, &held) {
            at = at.min(t);
        }
        // A due probe wakes the loop only once a lane can send it; waking for one that
        // cannot go out (no token, no room in flight) would spin until a reply comes.
        for (brand, probe_at) in gates.pending_probes() {
            let rows = self.rows.probe_ready_at(&brand, now);
            let follow = self
                .follow
                .as_mut()
                .and_then(|f| f.lane.probe_ready_at(&brand, now));
            if let Some(ready) = rows.into_iter().chain(follow).min() {
                at = at.min(probe_at.max(ready));
            }
        }
        if let Some(follow) = self.follow.as_mut() {
            if let Some(t) = follow.lane.wake_at(now, &held) {
                at = at.min(t);
            }
            if follow.lane.claim.is_none() && !follow.lane.exhausted() {
                at = at.min(follow.next_claim);
            }
        }
        at
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
    let shared = journal.is_shared();
    if shared {
        journal.set_lease(options.lease);
    }
    let rate = options.rate_for(builder.info);
    let brands = journal.brands()?;
    // Brands with a send that took effect: their authorisation worked (see `gate`).
    let working = journal
        .brand_counts()?
        .into_iter()
        .filter(|b| b.succeeded > 0)
        .map(|b| b.brand);
    let mut batch = (CLAIM_BATCH * 4 / brands.len().max(1)).clamp(16, CLAIM_BATCH);
    let declared = builder
        .info
        .follow_up
        .as_ref()
        .map(|f| (f, client.config().identity().id().to_owned()));
    let follow = match (options.follow_up, builder.info.follow_up.as_ref()) {
        (true, Some(follow_up)) => {
            let info = wechatpay_endpoints::find(follow_up.operation_id).ok_or_else(|| {
                CampaignError::Usage(format!("no operation {}", follow_up.operation_id))
            })?;
            journal.reset_follow_ups()?;
            let now = Instant::now();
            Some(FollowLane {
                follow_up,
                lane: Lane::new(
                    Pacing::new(
                        options.quota,
                        options
                            .follow_up_rate
                            .unwrap_or_else(|| RunOptions::follow_up_rate(info)),
                        options.concurrency,
                        now,
                    ),
                    &brands,
                ),
                recorded: brands.iter().cloned().collect(),
                asked: Vec::new(),
                next_claim: now,
                open: HashMap::new(),
                given_up: Vec::new(),
            })
        }
        _ => None,
    };
    let counts = journal.counts()?;
    // The target shown: every bucket's rate (per brand: the brands with rows to send).
    let buckets = match options.quota {
        QuotaScope::PerBrand => journal
            .brand_counts()?
            .iter()
            .filter(|b| b.open > 0)
            .count(),
        QuotaScope::PerProvider => 1,
    };
    let full_target = rate * buckets.max(1) as f64;
    control.start(&counts, full_target);
    let run_id = journal.start_run(rate)?;
    let mut share = 1.0;
    let mut others_hold_work = false;
    if shared {
        // Announce this worker, give the others a heartbeat to make room (and
        // workers starting at the same moment time to announce themselves), then
        // take its share.
        let beat = Beat {
            run_id,
            sending: true,
            ..Beat::default()
        };
        journal.heartbeat(&beat)?;
        tokio::time::sleep(PROGRESS_EVERY + COMMIT_EVERY * 4).await;
        let peers = journal.heartbeat(&beat)?;
        share = 1.0 / f64::from(peers.sending.max(1));
        others_hold_work = peers.others_hold_work;
    }
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done>();
    if shared {
        // Rows taken ahead wait for this worker alone: about two seconds of its
        // share, so the last rows do not wait on one worker while the others idle.
        let ahead = (rate * share * 2.0).ceil() as usize;
        batch = batch.min(ahead.max(16));
    }
    let mut stop_rx = control.subscribe();
    let mut run = Run {
        builder,
        client,
        options,
        control,
        writer: Writer::spawn(journal, run_id)?,
        rows: Lane::new(
            {
                let mut pacing =
                    Pacing::new(options.quota, rate, options.concurrency, Instant::now());
                pacing.set_share(share, Instant::now());
                pacing
            },
            &brands,
        ),
        rows_asked: Vec::new(),
        declared,
        follow,
        done_tx,
        gates: Gates::new(options.gate, working),
        batch,
        run_id,
        end: None,
        progress: RunProgress::default(),
        last_progress: Instant::now(),
        error: None,
        shared: SharedRun {
            on: shared,
            lease: options.lease,
            peers_seen: shared.then(Instant::now),
            others_hold_work,
            share,
            ..SharedRun::default()
        },
    };
    if let Some(follow) = run.follow.as_mut() {
        follow.lane.pacing.set_share(share, Instant::now());
    }

    loop {
        while let Ok(done) = done_rx.try_recv() {
            run.on_done(done);
        }
        control.set_in_flight(run.in_flight());
        let (current, target) = run.rates();
        control.set_rate(current.min(target));
        if run.shared.on {
            control.set_target(full_target * run.shared.share);
        }
        if run.last_progress.elapsed() >= PROGRESS_EVERY {
            run.last_progress = Instant::now();
            run.writer.progress(run.progress);
            run.beat(run.last_progress);
        }
        if run.end.is_none() && (control.is_stopping() || run.writer.failed()) {
            // A write error itself comes back from the final flush.
            run.end = Some(RunEnd::Interrupted);
        }
        if run.end.is_some() {
            if run.in_flight() == 0 {
                break;
            }
            // Heartbeats go on while the last replies come in: the leases of the
            // rows still in flight must hold.
            let beat = run.last_progress + PROGRESS_EVERY;
            tokio::select! {
                done = done_rx.recv() => {
                    if let Some(done) = done {
                        run.on_done(done);
                    }
                }
                () = tokio::time::sleep_until(beat.into()) => {}
            }
            continue;
        }
        let now = Instant::now();
        // The journal cannot record what is sent: nothing new goes out until it can.
        let paused = run.writer.paused() || run.shared.lease_lapsed(Instant::now());
        control.set_paused(paused);
        if !paused {
            run.claim_ahead(now);
            if run.send_ready(now) {
                continue;
            }
        }
        if !paused && run.finished() && run.may_end(now) {
            run.end = Some(RunEnd::Completed);
            break;
        }
        // Nothing to send yet: a reply, a resend's or a token's time, the next work, or a stop.
        // Paused, only replies, the journal and a stop matter: look again shortly
        // (the tokens and resends due would wake the loop at once, for nothing).
        let mut at = if paused {
            now + COMMIT_EVERY * 2
        } else {
            run.wake_at(now)
        };
        if run.shared.on {
            // The next beat: the others' news, and a finished worker's next look.
            at = at.min(run.last_progress + PROGRESS_EVERY);
            if let Some(swept) = run.shared.swept.filter(|_| run.finished()) {
                at = at.min((swept + SWEEP_EVERY).max(now + COMMIT_EVERY));
            }
        }
        let follow_claim = run.follow.as_mut().map(|f| &mut f.lane.claim);
        let mut no_claim = None;
        let follow_claim = follow_claim.unwrap_or(&mut no_claim);
        let wake = tokio::select! {
            done = done_rx.recv() => Wake::Done(done.map(Box::new)),
            result = claimed(&mut run.rows.claim) => Wake::Rows(result),
            result = claimed(follow_claim) => Wake::FollowUps(result),
            () = tokio::time::sleep_until(at.into()) => Wake::Other,
            _ = stop_rx.changed() => Wake::Other,
        };
        match wake {
            Wake::Done(Some(done)) => run.on_done(*done),
            Wake::Rows(result) => {
                let wants = std::mem::take(&mut run.rows_asked);
                run.on_rows(&wants, result);
            }
            Wake::FollowUps(result) => {
                let brands = run
                    .follow
                    .as_mut()
                    .map(|f| std::mem::take(&mut f.asked))
                    .unwrap_or_default();
                run.on_follow_ups(&brands, result);
            }
            Wake::Done(None) | Wake::Other => {}
        }
    }
    control.set_in_flight(0);
    finish(run).await
}

/// Gives back to the journal what was taken and not sent, and records the run's end.
async fn finish(run: Run<'_>) -> Result<Finished, CampaignError> {
    let Run {
        writer,
        mut rows,
        follow,
        progress,
        end,
        error,
        run_id,
        ..
    } = run;
    // Work taken but not sent goes back to pending (an outstanding claim's too).
    if let Some(rx) = rows.claim.take() {
        if let Ok(Ok(batch)) = rx.await {
            for claimed in batch {
                rows.add(claimed);
            }
        }
    }
    let (fresh, waiting) = rows.drain();
    for row in fresh
        .iter()
        .map(|c| c.row)
        .chain(waiting.iter().map(|e| e.claimed.row))
    {
        writer.update(Update::Released { row });
    }
    if let Some(mut follow) = follow {
        if let Some(rx) = follow.lane.claim.take() {
            if let Ok(Ok(batch)) = rx.await {
                for claimed in batch {
                    follow.lane.add(claimed);
                }
            }
        }
        let (fresh, waiting) = follow.lane.drain();
        for (row, item) in fresh
            .iter()
            .map(|c| (c.row, c.item))
            .chain(waiting.iter().map(|e| (e.claimed.row, e.claimed.item)))
            .chain(follow.given_up.iter().copied())
        {
            writer.update(Update::FollowUp {
                row,
                item,
                update: FollowUpUpdate::Released,
                declared: None,
            });
        }
    }
    writer.progress(progress);
    let end = end.unwrap_or(RunEnd::Interrupted);
    let outcome = end.as_str();
    // The last writes wait on the journal (a PostgreSQL server may be away for a
    // while): off the runtime's threads, so a second Ctrl-C is still heard.
    let journal = tokio::task::spawn_blocking(move || {
        let (mut journal, result) = writer.finish();
        result?;
        if let Some(e) = error {
            return Err(e);
        }
        journal.end_run(run_id, outcome)?;
        Ok(journal)
    })
    .await
    .map_err(|e| CampaignError::task("the journal's last writes failed", e))??;
    Ok(Finished {
        journal,
        end,
        progress,
    })
}
