//! Between a running campaign and whoever watches it: a stop request (Ctrl-C)
//! and live counters for a progress display.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::journal::Counts;

/// A handle to stop a run and read its progress; cheap to clone.
#[derive(Clone)]
pub struct Control {
    inner: Arc<Inner>,
}

struct Inner {
    stop: tokio::sync::watch::Sender<bool>,
    started: std::sync::Mutex<Instant>,
    total: AtomicU64,
    succeeded: AtomicU64,
    failed: AtomicU64,
    succeeded_before: AtomicU64,
    failed_before: AtomicU64,
    in_flight: AtomicU64,
    requests: AtomicU64,
    throttled: AtomicU64,
    retries: AtomicU64,
    unresolved: AtomicU64,
    followed_up: AtomicU64,
    /// f64 bits.
    rate: AtomicU64,
    target: AtomicU64,
    /// The journal's database cannot be reached: sending waits.
    paused: std::sync::atomic::AtomicBool,
}

/// A snapshot of a run's progress.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Rows in the campaign.
    pub total: u64,
    /// Rows succeeded (earlier runs included).
    pub succeeded: u64,
    /// Rows failed permanently (earlier runs included).
    pub failed: u64,
    /// Rows this run completed (succeeded or failed).
    pub completed_this_run: u64,
    /// Requests on the wire now.
    pub in_flight: u64,
    /// Requests this run sent (retries included).
    pub requests: u64,
    /// 429 answers this run.
    pub throttled: u64,
    /// Resends with the same number after an unknown outcome or a 429.
    pub retries: u64,
    /// Rows (or follow-ups) this run gave up on for now (left pending for the next run).
    pub unresolved: u64,
    /// Follow-ups (confirms) that took effect this run.
    pub followed_up: u64,
    /// The rate allowed now (below the target after 429s).
    pub rate: f64,
    /// The rate aimed at.
    pub target: f64,
    /// Time since the run started.
    pub elapsed: Duration,
    /// Whether a stop was requested.
    pub stopping: bool,
    /// Whether sending waits for the journal's database to be reachable again
    /// (a PostgreSQL journal; nothing is sent that could not be recorded).
    pub paused: bool,
}

impl Progress {
    /// Rows done (succeeded or failed).
    pub fn done(&self) -> u64 {
        self.succeeded + self.failed
    }

    /// Rows completed per second this run.
    pub fn achieved_rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.completed_this_run as f64 / secs
        } else {
            0.0
        }
    }

    /// Time left at the current rate, when it can be told.
    pub fn eta(&self) -> Option<Duration> {
        let left = self.total.saturating_sub(self.done() + self.unresolved);
        let rate = self.achieved_rate().max(0.0);
        if left == 0 {
            Some(Duration::ZERO)
        } else if rate > 0.0 {
            Some(Duration::from_secs_f64(left as f64 / rate))
        } else {
            None
        }
    }
}

impl Default for Control {
    fn default() -> Self {
        Self::new()
    }
}

impl Control {
    /// A fresh control: not stopped, counters at zero.
    pub fn new() -> Control {
        let (stop, _) = tokio::sync::watch::channel(false);
        Control {
            inner: Arc::new(Inner {
                stop,
                started: std::sync::Mutex::new(Instant::now()),
                total: AtomicU64::new(0),
                succeeded: AtomicU64::new(0),
                failed: AtomicU64::new(0),
                succeeded_before: AtomicU64::new(0),
                failed_before: AtomicU64::new(0),
                in_flight: AtomicU64::new(0),
                requests: AtomicU64::new(0),
                throttled: AtomicU64::new(0),
                retries: AtomicU64::new(0),
                unresolved: AtomicU64::new(0),
                followed_up: AtomicU64::new(0),
                rate: AtomicU64::new(0f64.to_bits()),
                target: AtomicU64::new(0f64.to_bits()),
                paused: std::sync::atomic::AtomicBool::new(false),
            }),
        }
    }

    /// Asks the run to stop taking rows; requests in flight finish and are recorded.
    pub fn stop(&self) {
        self.inner.stop.send_replace(true);
    }

    /// Whether a stop was requested.
    pub fn is_stopping(&self) -> bool {
        *self.inner.stop.borrow()
    }

    pub(crate) fn subscribe(&self) -> tokio::sync::watch::Receiver<bool> {
        self.inner.stop.subscribe()
    }

    /// The progress now.
    pub fn progress(&self) -> Progress {
        let i = &self.inner;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let succeeded = get(&i.succeeded);
        let failed = get(&i.failed);
        Progress {
            total: get(&i.total),
            succeeded,
            failed,
            completed_this_run: (succeeded + failed)
                .saturating_sub(get(&i.succeeded_before) + get(&i.failed_before)),
            in_flight: get(&i.in_flight),
            requests: get(&i.requests),
            throttled: get(&i.throttled),
            retries: get(&i.retries),
            unresolved: get(&i.unresolved),
            followed_up: get(&i.followed_up),
            rate: f64::from_bits(get(&i.rate)),
            target: f64::from_bits(get(&i.target)),
            elapsed: i.started.lock().map_or(Duration::ZERO, |s| s.elapsed()),
            stopping: self.is_stopping(),
            paused: self.inner.paused.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn start(&self, counts: &Counts, target: f64) {
        let i = &self.inner;
        if let Ok(mut started) = i.started.lock() {
            *started = Instant::now();
        }
        i.total.store(counts.total, Ordering::Relaxed);
        i.succeeded.store(counts.succeeded, Ordering::Relaxed);
        i.failed.store(counts.failed, Ordering::Relaxed);
        i.succeeded_before
            .store(counts.succeeded, Ordering::Relaxed);
        i.failed_before.store(counts.failed, Ordering::Relaxed);
        i.target.store(target.to_bits(), Ordering::Relaxed);
        i.rate.store(target.to_bits(), Ordering::Relaxed);
    }

    pub(crate) fn count(&self, event: Event) {
        let i = &self.inner;
        let counter = match event {
            Event::Succeeded => &i.succeeded,
            Event::Failed => &i.failed,
            Event::Sent => &i.requests,
            Event::Throttled => &i.throttled,
            Event::Retry => &i.retries,
            Event::Unresolved => &i.unresolved,
            Event::FollowedUp => &i.followed_up,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn set_in_flight(&self, n: usize) {
        self.inner.in_flight.store(n as u64, Ordering::Relaxed);
    }

    /// The rate aimed at changed (this worker's share of a shared journal's).
    pub(crate) fn set_target(&self, target: f64) {
        self.inner.target.store(target.to_bits(), Ordering::Relaxed);
    }

    pub(crate) fn set_paused(&self, paused: bool) {
        self.inner.paused.store(paused, Ordering::Relaxed);
    }

    pub(crate) fn set_rate(&self, rate: f64) {
        self.inner.rate.store(rate.to_bits(), Ordering::Relaxed);
    }
}

/// Something to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    Succeeded,
    Failed,
    Sent,
    Throttled,
    Retry,
    Unresolved,
    FollowedUp,
}
