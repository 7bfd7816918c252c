//! One step's queue in a run: the work taken from the journal and not sent yet,
//! the work waiting for its resend time, the claim asked for ahead, the requests
//! in flight, and the step's own pacing (each operation keeps its documented rate,
//! so confirming never slows sending).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Instant;

use super::writer::Answer;
use crate::error::CampaignError;
use crate::rate::Pacer;

/// Work waiting for its resend time.
pub(super) struct Waiting<E> {
    pub at: Instant,
    pub seq: u64,
    pub entry: E,
}

impl<E> PartialEq for Waiting<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl<E> Eq for Waiting<E> {}
impl<E> PartialOrd for Waiting<E> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Waiting<E> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// `C`: what a claim gives (a journal row); `E`: the same, ready to send.
pub(super) struct Lane<C, E> {
    pub pacer: Pacer,
    /// Taken from the journal, not sent yet.
    pub fresh: VecDeque<C>,
    waiting: BinaryHeap<Reverse<Waiting<E>>>,
    seq: u64,
    /// The next work, asked for before it is needed.
    pub claim: Option<Answer<C>>,
    /// Whether the journal has no more work for this lane (for now).
    pub exhausted: bool,
    pub in_flight: usize,
}

impl<C, E> Lane<C, E> {
    pub fn new(pacer: Pacer) -> Self {
        Lane {
            pacer,
            fresh: VecDeque::new(),
            waiting: BinaryHeap::new(),
            seq: 0,
            claim: None,
            exhausted: false,
            in_flight: 0,
        }
    }

    pub fn wait(&mut self, at: Instant, entry: E) {
        self.seq += 1;
        self.waiting.push(Reverse(Waiting {
            at,
            seq: self.seq,
            entry,
        }));
    }

    /// A resend whose time has come.
    pub fn due(&mut self, now: Instant) -> Option<E> {
        if self.waiting.peek().is_some_and(|w| w.0.at <= now) {
            return self.waiting.pop().map(|w| w.0.entry);
        }
        None
    }

    fn has_work(&self, now: Instant) -> bool {
        !self.fresh.is_empty() || self.waiting.peek().is_some_and(|w| w.0.at <= now)
    }

    /// Whether a request may go out now (work, room in flight, a token).
    pub fn ready(&mut self, now: Instant) -> bool {
        self.has_work(now)
            && self.in_flight < self.pacer.concurrency()
            && self.pacer.ready_at(now) <= now
    }

    /// When this lane next needs the loop, if it has anything to wait for.
    pub fn wake_at(&mut self, now: Instant) -> Option<Instant> {
        let resend = self.waiting.peek().map(|w| w.0.at);
        let token = (self.has_work(now) && self.in_flight < self.pacer.concurrency())
            .then(|| self.pacer.ready_at(now));
        match (resend, token) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Nothing in flight, waiting, taken or to take.
    pub fn idle(&self) -> bool {
        self.in_flight == 0
            && self.waiting.is_empty()
            && self.fresh.is_empty()
            && self.exhausted
            && self.claim.is_none()
    }

    /// Everything taken and not in flight, to give back to the journal at the end.
    pub fn drain(&mut self) -> (Vec<C>, Vec<E>) {
        let waiting = std::mem::take(&mut self.waiting)
            .into_iter()
            .map(|w| w.0.entry)
            .collect();
        (self.fresh.drain(..).collect(), waiting)
    }

    /// Checks the outstanding claim without waiting.
    pub fn try_claimed(&mut self) -> Option<Result<Vec<C>, CampaignError>> {
        let rx = self.claim.as_mut()?;
        match rx.try_recv() {
            Ok(result) => Some(result),
            Err(tokio::sync::oneshot::error::TryRecvError::Empty) => None,
            Err(tokio::sync::oneshot::error::TryRecvError::Closed) => {
                Some(Err(CampaignError::JournalWriterGone))
            }
        }
    }
}

/// Waits for `claim`'s answer (forever when there is none).
pub(super) async fn claimed<C>(claim: &mut Option<Answer<C>>) -> Result<Vec<C>, CampaignError> {
    match claim {
        Some(rx) => rx
            .await
            .unwrap_or_else(|_| Err(CampaignError::JournalWriterGone)),
        None => std::future::pending().await,
    }
}
