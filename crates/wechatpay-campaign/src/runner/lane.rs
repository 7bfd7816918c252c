//! One step's queues in a run, one per brand: the work taken from the journal and
//! not sent yet, the work waiting for its resend time, the work held while its
//! brand is re-checked ([`super::gate`]); the claim asked for ahead, the requests
//! in flight, and the step's own pacing ([`Pacing`]: each operation keeps its
//! documented rate, so confirming never slows sending; each brand its bucket).
//!
//! Brands take turns, and a brand without a token or held by its gate never
//! stands in the way of another's work. An operation without a brand field has
//! one queue, the brand ''.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::time::Instant;

use super::writer::Answer;
use crate::error::CampaignError;
use crate::pacing::Pacing;

/// What names the brand a piece of work acts for.
pub(super) trait Branded {
    fn brand(&self) -> &str;
}

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

/// One brand's work.
pub(super) struct Queue<C, E> {
    /// Taken from the journal, not sent yet.
    pub fresh: VecDeque<C>,
    waiting: BinaryHeap<Reverse<Waiting<E>>>,
    /// Refused while the brand is re-checked, with the refusal (code, message).
    held: VecDeque<(E, String, String)>,
    /// Whether the journal has no more of the brand's work (for now).
    pub exhausted: bool,
    /// The last row taken from the journal (rows are claimed after it).
    pub cursor: u64,
}

impl<C, E> Default for Queue<C, E> {
    fn default() -> Self {
        Queue {
            fresh: VecDeque::new(),
            waiting: BinaryHeap::new(),
            held: VecDeque::new(),
            exhausted: false,
            cursor: 0,
        }
    }
}

impl<C, E> Queue<C, E> {
    fn due(&self, now: Instant) -> bool {
        self.waiting.peek().is_some_and(|w| w.0.at <= now)
    }

    fn has_work(&self, now: Instant) -> bool {
        !self.fresh.is_empty() || self.due(now)
    }

    fn idle(&self) -> bool {
        self.fresh.is_empty() && self.waiting.is_empty() && self.held.is_empty() && self.exhausted
    }
}

/// Work to send: taken from the journal, or due for its resend.
pub(super) enum Work<C, E> {
    Fresh(C),
    Due(E),
}

/// `C`: what a claim gives (a journal row); `E`: the same, ready to send.
pub(super) struct Lane<C, E> {
    pub pacing: Pacing,
    queues: BTreeMap<String, Queue<C, E>>,
    /// The brand whose turn comes first next time.
    turn: usize,
    seq: u64,
    /// The next work, asked for before it is needed.
    pub claim: Option<Answer<C>>,
    pub in_flight: usize,
}

impl<C: Branded, E: Branded> Lane<C, E> {
    /// A lane for `brands` (more are added as work for them comes).
    pub fn new(pacing: Pacing, brands: &[String]) -> Self {
        Lane {
            pacing,
            queues: brands
                .iter()
                .map(|b| (b.clone(), Queue::default()))
                .collect(),
            turn: 0,
            seq: 0,
            claim: None,
            in_flight: 0,
        }
    }

    pub fn queue(&mut self, brand: &str) -> &mut Queue<C, E> {
        if !self.queues.contains_key(brand) {
            self.queues.insert(brand.to_owned(), Queue::default());
        }
        self.queues.get_mut(brand).expect("inserted above")
    }

    pub fn queues_mut(&mut self) -> impl Iterator<Item = (&String, &mut Queue<C, E>)> {
        self.queues.iter_mut()
    }

    /// Adds claimed work to its brand's queue.
    pub fn add(&mut self, claimed: C) {
        self.queue(claimed.brand().to_owned().as_str())
            .fresh
            .push_back(claimed);
    }

    pub fn wait(&mut self, at: Instant, entry: E) {
        self.seq += 1;
        let seq = self.seq;
        self.queue(entry.brand().to_owned().as_str())
            .waiting
            .push(Reverse(Waiting { at, seq, entry }));
    }

    /// Keeps `entry` until its brand is decided.
    pub fn hold(&mut self, entry: E, code: String, message: String) {
        self.queue(entry.brand().to_owned().as_str())
            .held
            .push_back((entry, code, message));
    }

    /// Everything held for `brand`, with each refusal.
    pub fn take_held(&mut self, brand: &str) -> Vec<(E, String, String)> {
        self.queue(brand).held.drain(..).collect()
    }

    /// The next work to send, in turn among the brands that `held` does not hold
    /// back and whose bucket has a token: a due resend first, else fresh work.
    pub fn next(&mut self, now: Instant, held: &dyn Fn(&str) -> bool) -> Option<Work<C, E>> {
        let n = self.queues.len();
        for i in 0..n {
            let index = (self.turn + i) % n;
            let (brand, queue) = self.queues.iter_mut().nth(index).expect("index below len");
            if held(brand) || !queue.has_work(now) || !self.pacing.may_send(brand, now) {
                continue;
            }
            self.turn = index + 1;
            if queue.due(now) {
                return queue.waiting.pop().map(|w| Work::Due(w.0.entry));
            }
            return queue.fresh.pop_front().map(Work::Fresh);
        }
        None
    }

    /// A held brand's probe: a held request first (the refused one), else any
    /// resend, else fresh work; when the bucket has a token.
    pub fn probe(&mut self, brand: &str, now: Instant) -> Option<Work<C, E>> {
        if !self.pacing.may_send(brand, now) {
            return None;
        }
        let queue = self.queues.get_mut(brand)?;
        if let Some((entry, _, _)) = queue.held.pop_front() {
            return Some(Work::Due(entry));
        }
        if let Some(w) = queue.waiting.pop() {
            return Some(Work::Due(w.0.entry));
        }
        queue.fresh.pop_front().map(Work::Fresh)
    }

    /// When a probe for `brand` could go out on this lane: `None` while it has no work
    /// of the brand or no room in flight (a reply frees room and wakes the loop).
    pub fn probe_ready_at(&mut self, brand: &str, now: Instant) -> Option<Instant> {
        let queue = self.queues.get(brand)?;
        if queue.held.is_empty() && queue.waiting.is_empty() && queue.fresh.is_empty() {
            return None;
        }
        self.pacing.ready_at(brand, now)
    }

    /// When this lane next needs the loop: a resend's time, or a token for work
    /// that may go out.
    pub fn wake_at(&mut self, now: Instant, held: &dyn Fn(&str) -> bool) -> Option<Instant> {
        let mut at: Option<Instant> = None;
        let mut earliest = |t: Instant| at = Some(at.map_or(t, |a| a.min(t)));
        for (brand, queue) in &self.queues {
            if held(brand) {
                continue;
            }
            if let Some(w) = queue.waiting.peek() {
                earliest(w.0.at);
            }
            if queue.has_work(now) {
                if let Some(t) = self.pacing.ready_at(brand, now) {
                    earliest(t);
                }
            }
        }
        at
    }

    /// Looks at every brand again from its first row: on a shared journal,
    /// rows another worker held (and may have lost with its lease) are behind
    /// the cursors.
    pub fn rewind(&mut self) {
        for queue in self.queues.values_mut() {
            queue.cursor = 0;
            queue.exhausted = false;
        }
    }

    /// Brands that may take more work from the journal, with the last row taken of each.
    pub fn wants(&self, batch: usize) -> Vec<(String, u64)> {
        self.queues
            .iter()
            .filter(|(_, q)| !q.exhausted && q.fresh.len() < batch / 2)
            .map(|(b, q)| (b.clone(), q.cursor))
            .collect()
    }

    /// Whether every brand's work is taken (or none is left).
    pub fn exhausted(&self) -> bool {
        self.queues.values().all(|q| q.exhausted)
    }

    /// Nothing in flight, waiting, held, taken or to take.
    pub fn idle(&self) -> bool {
        self.in_flight == 0 && self.claim.is_none() && self.queues.values().all(Queue::idle)
    }

    /// Everything taken and not in flight, to give back to the journal at the end.
    pub fn drain(&mut self) -> (Vec<C>, Vec<E>) {
        let mut fresh = Vec::new();
        let mut entries = Vec::new();
        for queue in self.queues.values_mut() {
            fresh.extend(queue.fresh.drain(..));
            entries.extend(
                std::mem::take(&mut queue.waiting)
                    .into_iter()
                    .map(|w| w.0.entry),
            );
            entries.extend(queue.held.drain(..).map(|(e, _, _)| e));
        }
        (fresh, entries)
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
