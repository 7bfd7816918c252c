//! Remembering which notification event ids have been handled, so a
//! notification WeChat Pay delivers more than once is processed once.
//!
//! WeChat Pay redelivers a notification until it gets a success answer (the
//! retry schedule spans about 24 hours: 15 s, 15 s, 30 s, 3 min, 10 min, …,
//! 6 h), and may deliver it twice even after a success. Every delivery of one
//! event carries the same envelope `id` (e.g. `EV-2018022511223320873`), but
//! each is signed afresh, so the signature check alone does not catch them.
//!
//! [`SeenEvents`] is the store [`NotificationHandler`](crate::NotificationHandler)
//! asks; [`InMemorySeenEvents`] is the bounded default. A deployment with more
//! than one process plugs in a shared store (e.g. Redis `SET id 1 NX EX ttl`).

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Ids longer than this are stored as their SHA-256 digest, so one entry's
/// size is bounded whatever the id. WeChat Pay's ids are about 36 bytes.
pub const MAX_STORED_ID_LEN: usize = 64;

/// A set of event ids that have been handled, asked after a notification's
/// signature verified and its resource decrypted and decoded.
///
/// Implementations must make [`first_seen`](Self::first_seen) an atomic
/// check-and-insert: with two concurrent deliveries of one id, exactly one
/// call returns `true`.
pub trait SeenEvents: Send + Sync + fmt::Debug {
    /// Records `id` as seen at `now` (Unix seconds, from the handler's
    /// [`Clock`](crate::Clock)); returns `true` when it was not already
    /// recorded (or its record has expired), `false` for a duplicate.
    fn first_seen(&self, id: &str, now: i64) -> bool;

    /// Drops the record of `id`, so its next delivery counts as fresh. Call
    /// it (through [`NotificationHandler::forget_event`](crate::NotificationHandler::forget_event))
    /// when handling a fresh notification failed and you answer WeChat Pay
    /// with an error so that it redelivers. The default does nothing.
    fn forget(&self, id: &str) {
        let _ = id;
    }
}

impl<S: SeenEvents + ?Sized> SeenEvents for Arc<S> {
    fn first_seen(&self, id: &str, now: i64) -> bool {
        (**self).first_seen(id, now)
    }

    fn forget(&self, id: &str) {
        (**self).forget(id)
    }
}

/// A bounded in-memory [`SeenEvents`] for one process.
///
/// Holds at most `capacity` ids; when full, the oldest record is evicted
/// first. A record expires `ttl` after it was made (by the clock the caller
/// passes as `now`); an expired id counts as fresh again. Ids longer than
/// [`MAX_STORED_ID_LEN`] bytes are kept as a SHA-256 digest, so memory stays
/// bounded by about `capacity × 150` bytes.
///
/// A duplicate that arrives after its record was evicted or expired is
/// reported as fresh: pick `capacity` above the number of notifications you
/// receive in `ttl`, and `ttl` at least as long as WeChat Pay's retry
/// schedule (24 h) if redeliveries must be caught.
pub struct InMemorySeenEvents {
    capacity: usize,
    ttl_secs: i64,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Id (or digest) → when it was recorded.
    seen: HashMap<Arc<str>, i64>,
    /// The same ids in the order they were recorded, oldest first.
    order: VecDeque<(Arc<str>, i64)>,
}

impl State {
    fn remove(&mut self, key: &str) {
        if self.seen.remove(key).is_some() {
            if let Some(pos) = self.order.iter().position(|(k, _)| &**k == key) {
                self.order.remove(pos);
            }
        }
    }
}

impl InMemorySeenEvents {
    /// A store of at most `capacity` ids (at least 1), each kept for `ttl`
    /// (whole seconds; a zero `ttl` keeps nothing, so nothing is a duplicate).
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        InMemorySeenEvents {
            capacity: capacity.max(1),
            ttl_secs: i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX),
            state: Mutex::new(State::default()),
        }
    }

    /// The most ids held at once.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How long a record lasts.
    pub fn ttl(&self) -> Duration {
        Duration::from_secs(self.ttl_secs.unsigned_abs())
    }

    /// How many ids are held now (expired ones included until they are purged).
    pub fn len(&self) -> usize {
        self.lock().seen.len()
    }

    /// Whether no id is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Nothing inside the lock can leave the state half-updated in a way
        // that matters, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn expired(&self, recorded: i64, now: i64) -> bool {
        now.saturating_sub(recorded) >= self.ttl_secs
    }
}

/// The key an id is stored under: itself, or `sha256:<hex>` when long.
fn store_key(id: &str) -> Arc<str> {
    if id.len() <= MAX_STORED_ID_LEN {
        return Arc::from(id);
    }
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, id.as_bytes());
    let mut key = String::with_capacity(7 + 64);
    key.push_str("sha256:");
    for b in digest.as_ref() {
        key.push_str(&format!("{b:02x}"));
    }
    Arc::from(key)
}

impl SeenEvents for InMemorySeenEvents {
    fn first_seen(&self, id: &str, now: i64) -> bool {
        let key = store_key(id);
        let mut state = self.lock();
        // Purge what has expired, oldest first.
        while let Some((oldest, at)) = state.order.front() {
            if !self.expired(*at, now) {
                break;
            }
            let oldest = oldest.clone();
            state.order.pop_front();
            state.seen.remove(&oldest);
        }
        match state.seen.get(&key) {
            Some(&at) if !self.expired(at, now) => return false,
            // Expired but not at the front (the clock went back at some point).
            Some(_) => state.remove(&key),
            None => {}
        }
        while state.order.len() >= self.capacity {
            if let Some((oldest, _)) = state.order.pop_front() {
                state.seen.remove(&oldest);
            }
        }
        state.seen.insert(key.clone(), now);
        state.order.push_back((key, now));
        true
    }

    fn forget(&self, id: &str) {
        self.lock().remove(&store_key(id));
    }
}

impl fmt::Debug for InMemorySeenEvents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemorySeenEvents")
            .field("capacity", &self.capacity)
            .field("ttl_secs", &self.ttl_secs)
            .field("len", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_within_ttl_then_fresh_after() {
        let s = InMemorySeenEvents::new(10, Duration::from_secs(100));
        assert!(s.first_seen("EV-1", 1000));
        assert!(!s.first_seen("EV-1", 1000));
        assert!(!s.first_seen("EV-1", 1099));
        assert!(s.first_seen("EV-1", 1100), "expired after exactly ttl");
        assert!(!s.first_seen("EV-1", 1150));
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn oldest_is_evicted_first_and_memory_stays_bounded() {
        let s = InMemorySeenEvents::new(2, Duration::from_secs(1000));
        assert!(s.first_seen("A", 1));
        assert!(s.first_seen("B", 2));
        assert!(s.first_seen("C", 3)); // evicts A
        assert_eq!(s.len(), 2);
        assert!(!s.first_seen("B", 4));
        assert!(!s.first_seen("C", 4));
        assert!(s.first_seen("A", 5)); // A was evicted: fresh; evicts B
        assert!(s.first_seen("B", 6));

        let s = InMemorySeenEvents::new(100, Duration::from_secs(1_000_000));
        for i in 0..10_000 {
            assert!(s.first_seen(&format!("EV-{i}"), i));
            let st = s.lock();
            assert!(st.seen.len() <= 100 && st.order.len() == st.seen.len());
        }
    }

    #[test]
    fn long_ids_are_stored_as_digests_and_still_distinguished() {
        let s = InMemorySeenEvents::new(10, Duration::from_secs(10));
        let a = "a".repeat(10_000);
        let b = format!("{}b", "a".repeat(9_999));
        assert!(s.first_seen(&a, 0));
        assert!(s.first_seen(&b, 0));
        assert!(!s.first_seen(&a, 1));
        let st = s.lock();
        assert!(st.seen.keys().all(|k| k.len() <= 7 + 64));
    }

    #[test]
    fn a_clock_going_back_neither_panics_nor_loses_bounds() {
        let s = InMemorySeenEvents::new(3, Duration::from_secs(10));
        assert!(s.first_seen("A", 100));
        assert!(s.first_seen("B", 50));
        assert!(!s.first_seen("A", 105));
        assert!(
            s.first_seen("B", 61),
            "B expired although A (older by position) has not"
        );
        assert!(!s.first_seen("B", 62));
        assert!(s.first_seen("C", i64::MIN));
        assert!(s.first_seen("D", i64::MAX));
        let st = s.lock();
        assert!(st.seen.len() <= 3 && st.order.len() == st.seen.len());
    }

    #[test]
    fn zero_ttl_and_zero_capacity_are_harmless() {
        let s = InMemorySeenEvents::new(0, Duration::ZERO);
        assert_eq!(s.capacity(), 1);
        assert!(s.first_seen("A", 1));
        assert!(s.first_seen("A", 1));
    }

    #[test]
    fn forget_makes_an_id_fresh_again() {
        let s = InMemorySeenEvents::new(10, Duration::from_secs(10));
        assert!(s.first_seen("A", 1));
        s.forget("A");
        s.forget("never-seen");
        assert!(s.is_empty());
        assert!(s.first_seen("A", 2));
    }
}
