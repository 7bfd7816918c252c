//! Delivering the outbox: each notification is POSTed to its URL with the
//! five `Wechatpay-*` headers signed by the sandbox's platform key at the
//! moment of the attempt (`Wechatpay-Signature-Type:
//! WECHATPAY-BRAND-SHA256-RSA2048`, as in the captured brand notification).
//! An answer other than 2xx within `Policy::timeout` (5 s, notifications.md)
//! is retried after `first_delay`, then twice as long each time, until
//! `attempts` attempts were made; then the notification is dropped. A
//! notification whose 2xx got lost may arrive twice, as in production.
//! The outcome of a coupon's PRODUCT_COUPON.SEND (delivered or dropped) is
//! written on the coupon in the transaction that settles it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{Notify, Semaphore};
use wechatpay_transport::sign::{generate_nonce, sign_reply};
use wechatpay_transport::AuthScheme;

use super::{now_ms, DELIVERED, DROPPED};
use crate::keys::SandboxKeys;
use crate::store::Store;

/// Attempts at most this many deliveries at once.
const PARALLEL: usize = 16;

/// How notifications are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Attempts per notification, the first one included.
    pub attempts: u32,
    /// Wait before the first retry; each later retry waits twice as long.
    pub first_delay: Duration,
    /// How long an attempt may take to get its 2xx.
    pub timeout: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            attempts: 6,
            first_delay: Duration::from_secs(1),
            timeout: Duration::from_secs(5),
        }
    }
}

/// Delivery counters, for `GET /sandbox/notifications`.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Counters {
    /// Notifications answered with 2xx.
    pub delivered: u64,
    /// Attempts that got no 2xx in time.
    pub failed_attempts: u64,
    /// Notifications given up after the last attempt.
    pub dropped: u64,
}

/// The deliverer's shared state.
pub struct Outbox {
    store: Arc<Store>,
    keys: SandboxKeys,
    policy: Policy,
    wake: Notify,
    counters: Mutex<Counters>,
}

struct Item {
    id: i64,
    url: String,
    body: Vec<u8>,
    attempts: u32,
    /// The coupon whose PRODUCT_COUPON.SEND this is.
    coupon_seq: Option<i64>,
}

impl Outbox {
    /// A deliverer for the outbox of `store`.
    pub fn new(store: Arc<Store>, keys: SandboxKeys, policy: Policy) -> Arc<Self> {
        Arc::new(Outbox {
            store,
            keys,
            policy,
            wake: Notify::new(),
            counters: Mutex::new(Counters::default()),
        })
    }

    /// Tells the deliverer that notifications were queued.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The counters and how many notifications wait in the outbox.
    pub fn report(&self) -> serde_json::Value {
        let pending: i64 = self
            .store
            .transaction(|db| db.query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0)))
            .unwrap_or(0);
        let c = *self.counters.lock().unwrap_or_else(|e| e.into_inner());
        serde_json::json!({
            "pending": pending,
            "delivered": c.delivered,
            "failed_attempts": c.failed_attempts,
            "dropped": c.dropped,
        })
    }

    /// Delivers until the future is dropped.
    pub async fn run(self: Arc<Self>) {
        let client = match reqwest::Client::builder()
            .timeout(self.policy.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                eprintln!("sandbox: notifications disabled, no HTTP client: {e}");
                return;
            }
        };
        let slots = Arc::new(Semaphore::new(PARALLEL));
        loop {
            let due = match self.lease() {
                Ok(due) => due,
                Err(e) => {
                    eprintln!("sandbox: outbox: {e}");
                    Vec::new()
                }
            };
            if due.is_empty() {
                let wait = self.next_due().map_or(Duration::from_secs(1), |at| {
                    Duration::from_millis(u64::try_from(at - now_ms()).unwrap_or(0).min(1000))
                });
                tokio::select! {
                    () = self.wake.notified() => {}
                    () = tokio::time::sleep(wait) => {}
                }
                continue;
            }
            for item in due {
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    return;
                };
                let (outbox, client) = (self.clone(), client.clone());
                tokio::spawn(async move {
                    let delivered = outbox.post(&client, &item).await;
                    outbox.settle(&item, delivered);
                    drop(permit);
                });
            }
        }
    }

    /// Takes the due notifications, pushing their due time past the attempt so
    /// that none is attempted twice at once.
    fn lease(&self) -> rusqlite::Result<Vec<Item>> {
        let now = now_ms();
        let until = now + i64::try_from(self.policy.timeout.as_millis()).unwrap_or(5000) + 1000;
        self.store.transaction(|db| {
            let mut stmt = db.prepare_cached(
                "SELECT id, url, body, attempts, coupon_seq FROM outbox \
                 WHERE due_ms <= ?1 ORDER BY due_ms LIMIT ?2",
            )?;
            let items: Vec<Item> = stmt
                .query_map(rusqlite::params![now, PARALLEL as i64], |r| {
                    Ok(Item {
                        id: r.get(0)?,
                        url: r.get(1)?,
                        body: r.get(2)?,
                        attempts: r.get(3)?,
                        coupon_seq: r.get(4)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            for item in &items {
                db.execute(
                    "UPDATE outbox SET due_ms = ?2 WHERE id = ?1",
                    rusqlite::params![item.id, until],
                )?;
            }
            Ok(items)
        })
    }

    fn next_due(&self) -> Option<i64> {
        self.store
            .transaction(|db| db.query_row("SELECT MIN(due_ms) FROM outbox", [], |r| r.get(0)))
            .ok()
            .flatten()
    }

    /// One attempt: whether the URL answered 2xx in time.
    async fn post(&self, client: &reqwest::Client, item: &Item) -> bool {
        let nonce = generate_nonce();
        let now = now_ms() / 1000;
        let Ok(mut signed) = sign_reply(
            self.keys.reply_signer.as_ref(),
            &self.keys.identity.public_key_id,
            now,
            &nonce,
            &item.body,
        ) else {
            return false;
        };
        signed.signature_type = AuthScheme::Brand.scheme().to_owned();
        let mut request = client
            .post(&item.url)
            .header("Content-Type", "application/json")
            .body(item.body.clone());
        for (name, value) in signed.pairs() {
            request = request.header(name, value);
        }
        matches!(request.send().await, Ok(reply) if reply.status().is_success())
    }

    fn settle(&self, item: &Item, delivered: bool) {
        let attempts = item.attempts + 1;
        let give_up = !delivered && attempts >= self.policy.attempts;
        let backoff = self.policy.first_delay * 2u32.saturating_pow(attempts.saturating_sub(1));
        let due = now_ms() + i64::try_from(backoff.as_millis()).unwrap_or(i64::MAX / 2);
        let result = self.store.transaction(|db| {
            if delivered || give_up {
                if let Some(seq) = item.coupon_seq {
                    let outcome = if delivered { DELIVERED } else { DROPPED };
                    db.execute(
                        "UPDATE user_coupons SET send_notice = ?2 WHERE seq = ?1",
                        rusqlite::params![seq, outcome],
                    )?;
                }
                db.execute("DELETE FROM outbox WHERE id = ?1", [item.id])
            } else {
                db.execute(
                    "UPDATE outbox SET attempts = ?2, due_ms = ?3 WHERE id = ?1",
                    rusqlite::params![item.id, attempts, due],
                )
            }
        });
        if let Err(e) = result {
            eprintln!("sandbox: outbox: {e}");
        }
        let mut c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        if delivered {
            c.delivered += 1;
        } else {
            c.failed_attempts += 1;
            if give_up {
                c.dropped += 1;
            }
        }
    }
}
