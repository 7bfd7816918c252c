//! The journal's one writer: a thread that applies queued updates in batches.
//!
//! Updates are queued without waking it (a wake per reply would cost more than
//! the write); it wakes every [`COMMIT_EVERY`], or at once for a claim or the end
//! of the run. A claim is answered after the updates queued before it are
//! committed, so a follow-up recorded with its row's send is claimable only once
//! it is in the journal.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::oneshot;

use super::{COMMIT_EVERY, MAX_BATCH};
use crate::error::CampaignError;
use crate::journal::{Beat, Claimed, ClaimedFollowUp, Journal, Peers, RunProgress, Update};

pub(super) type Answer<T> = oneshot::Receiver<Result<Vec<T>, CampaignError>>;

enum Claim {
    Rows {
        wants: Vec<(String, u64)>,
        limit: usize,
        reply: oneshot::Sender<Result<Vec<Claimed>, CampaignError>>,
    },
    FollowUps {
        brands: Vec<String>,
        limit: usize,
        reply: oneshot::Sender<Result<Vec<ClaimedFollowUp>, CampaignError>>,
    },
}

pub(super) struct Writer {
    shared: Arc<Shared>,
    /// Set while a shared journal's database cannot be reached.
    paused: Option<Arc<AtomicBool>>,
    thread: Option<std::thread::JoinHandle<(Journal, Result<(), CampaignError>)>>,
}

#[derive(Default)]
struct Queue {
    updates: Vec<Update>,
    progress: Option<RunProgress>,
    beat: Option<Beat>,
    claims: Vec<Claim>,
    closed: bool,
}

struct Shared {
    queue: std::sync::Mutex<Queue>,
    /// The other workers' answer to the last beat, and when it came.
    peers: std::sync::Mutex<Option<(Peers, Instant)>>,
    wake: std::sync::Condvar,
    failed: AtomicBool,
}

impl Shared {
    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Writer {
    pub(super) fn spawn(journal: Journal, run_id: i64) -> Result<Writer, CampaignError> {
        let shared = Arc::new(Shared {
            queue: std::sync::Mutex::new(Queue::default()),
            peers: std::sync::Mutex::new(None),
            wake: std::sync::Condvar::new(),
            failed: AtomicBool::new(false),
        });
        let theirs = shared.clone();
        let paused = journal.paused();
        let thread = std::thread::Builder::new()
            .name("campaign-journal".into())
            .spawn(move || writer_loop(journal, run_id, &theirs))
            .map_err(|e| CampaignError::task("cannot start the journal thread", e))?;
        Ok(Writer {
            shared,
            paused,
            thread: Some(thread),
        })
    }

    pub(super) fn update(&self, update: Update) {
        self.shared.queue().updates.push(update);
    }

    pub(super) fn progress(&self, progress: RunProgress) {
        self.shared.queue().progress = Some(progress);
    }

    /// Tells the other workers on a shared journal how this one sends; their
    /// answer is read with [`Writer::peers`].
    pub(super) fn beat(&self, beat: Beat) {
        self.shared.queue().beat = Some(beat);
    }

    /// The other workers' answer to the last beat, and when it came.
    pub(super) fn peers(&self) -> Option<(Peers, Instant)> {
        self.shared
            .peers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether the journal's database cannot be reached now (sending waits).
    pub(super) fn paused(&self) -> bool {
        self.paused
            .as_ref()
            .is_some_and(|p| p.load(Ordering::Relaxed))
    }

    pub(super) fn failed(&self) -> bool {
        self.shared.failed.load(Ordering::Relaxed)
    }

    fn ask(&self, claim: Claim) {
        self.shared.queue().claims.push(claim);
        self.shared.wake.notify_one();
    }

    /// Asks for up to `limit` open rows of each brand after its row; the answer
    /// comes on the receiver.
    pub(super) fn claim(&self, wants: Vec<(String, u64)>, limit: usize) -> Answer<Claimed> {
        let (reply, answer) = oneshot::channel();
        self.ask(Claim::Rows {
            wants,
            limit,
            reply,
        });
        answer
    }

    /// Asks for up to `limit` pending follow-ups of each brand (those recorded by
    /// updates queued before this call included).
    pub(super) fn claim_follow_ups(
        &self,
        brands: Vec<String>,
        limit: usize,
    ) -> Answer<ClaimedFollowUp> {
        let (reply, answer) = oneshot::channel();
        self.ask(Claim::FollowUps {
            brands,
            limit,
            reply,
        });
        answer
    }

    /// Applies everything queued and gives the journal back, with the first write error.
    pub(super) fn finish(mut self) -> (Journal, Result<(), CampaignError>) {
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
    // Shared: every claim refused after a failed commit carries it as its source.
    let mut first_error: Option<Arc<CampaignError>> = None;
    loop {
        let (updates, progress, beat, claims, closed) = {
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
                queue.beat.take(),
                std::mem::take(&mut queue.claims),
                queue.closed,
            )
        };
        if first_error.is_none() && (!updates.is_empty() || progress.is_some()) {
            let run = progress.as_ref().map(|p| (run_id, p));
            if let Err(e) = journal.apply(&updates, run) {
                shared.failed.store(true, Ordering::Relaxed);
                first_error = Some(Arc::new(e));
            }
        }
        if let (None, Some(beat)) = (&first_error, beat) {
            match journal.heartbeat(&beat) {
                Ok(peers) => {
                    *shared.peers.lock().unwrap_or_else(|e| e.into_inner()) =
                        Some((peers, Instant::now()));
                }
                Err(e) => {
                    shared.failed.store(true, Ordering::Relaxed);
                    first_error = Some(Arc::new(e));
                }
            }
        }
        let refused = |e: &Arc<CampaignError>| CampaignError::JournalWriter(e.clone());
        for claim in claims {
            match claim {
                Claim::Rows {
                    wants,
                    limit,
                    reply,
                } => {
                    let answer = match &first_error {
                        Some(e) => Err(refused(e)),
                        None => journal.claim(&wants, limit),
                    };
                    let _ = reply.send(answer);
                }
                Claim::FollowUps {
                    brands,
                    limit,
                    reply,
                } => {
                    let answer = match &first_error {
                        Some(e) => Err(refused(e)),
                        None => journal.claim_follow_ups(&brands, limit),
                    };
                    let _ = reply.send(answer);
                }
            }
        }
        if closed {
            break;
        }
    }
    let result = match first_error {
        None => Ok(()),
        // The claims answered are gone by now, so this is usually the only owner.
        Some(e) => Err(Arc::try_unwrap(e).unwrap_or_else(CampaignError::JournalWriter)),
    };
    (journal, result)
}
