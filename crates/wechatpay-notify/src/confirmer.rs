//! The confirmer: takes the journal's `pending` confirms and performs each one, at the
//! confirm operation's documented rate, until it is settled.
//!
//! - **Who confirms**: the client of the follow-up operation's family, one per family: a
//!   brand client for `PRODUCT_COUPON.SEND` (brand operations), a service provider's
//!   for `PRODUCT_COUPON_SP.SEND` (partner operations, for the brand the event names).
//!   Each client must be the receiver's identity of its family. An event of a family
//!   without a client stays `pending` with [`NOT_CONFIGURED`].
//! - **Exactly once**: each confirm carries the number derived from the caller (brand,
//!   or provider) and the coupon (the coupon code, and the brand for a provider)
//!   ([`wechatpay_campaign::follow_up::Step`]), so a resend, a restart or a campaign
//!   confirming the same coupon is answered as a replay, never as a second confirm. One receiver holds a journal at a time (its lock), and an event is never
//!   attempted twice at once.
//! - **Outcomes** ([`wechatpay_campaign::follow_up::attempt`]): `Done` → `confirmed`;
//!   `Failed` (the coupon expired or was deactivated) → `failed` with the code;
//!   `Waiting` and `Retry` → still `pending`, tried again after a backoff (1 s, doubling,
//!   at most 5 min) with the same number; `Stop` (credentials, permission) pauses every
//!   confirm for [`ConfirmOptions::stop_pause`] and reports it through
//!   [`Confirmer::state`].
//! - **Pacing**: [`wechatpay_campaign::rate::Pacer`], the campaign's token bucket, at
//!   the confirm operation's `rate_per_second` (500/s): it holds at most 10 ms of tokens,
//!   so a burst of notifications is never confirmed faster than the limit, and a 429
//!   slows it down until the server stops answering 429.
//! - **Restart**: `pending` is all the state there is, so a new run picks up every
//!   pending confirm (those of a run that was killed mid-request included).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinSet;
use wechatpay_campaign::follow_up::{attempt, StepOutcome};
use wechatpay_campaign::rate::Pacer;
use wechatpay_models::ProductCouponEvent;
use wechatpay_runtime::{AuthScheme, Event};
use wechatpay_transport::Client;

use crate::journal::{JournalError, Settle};
use crate::plan::{needs_setting, plan, Identities, Plan, NOT_CONFIGURED, UNCONFIRMABLE};
use crate::receiver::{now_ms, Receiver, Shared};
use crate::record::{ConfirmStatus, EventRecord};

/// The rate when the confirm operation documents none.
const FALLBACK_RATE: f64 = 100.0;
/// The longest the confirmer sleeps without looking at the journal.
const IDLE_CHECK: Duration = Duration::from_secs(60);

/// How the confirmer works.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfirmOptions {
    /// Confirms per second [default: the confirm operation's documented
    /// `rate_per_second`, 500/s].
    pub rate: Option<f64>,
    /// The most confirms in flight.
    pub concurrency: usize,
    /// The wait before trying a `Waiting` or `Retry` confirm again; doubled each time.
    pub first_retry: Duration,
    /// The longest wait between two attempts of one confirm.
    pub max_retry: Duration,
    /// After a `Stop` (credentials, permission), how long every confirm waits.
    pub stop_pause: Duration,
}

impl Default for ConfirmOptions {
    fn default() -> Self {
        ConfirmOptions {
            rate: None,
            concurrency: 16,
            first_retry: Duration::from_secs(1),
            max_retry: Duration::from_secs(300),
            stop_pause: Duration::from_secs(60),
        }
    }
}

impl ConfirmOptions {
    /// The wait before attempt `attempts + 1` of a confirm that was tried `attempts` times.
    pub fn backoff(&self, attempts: u64) -> Duration {
        let doublings = attempts.saturating_sub(1).min(30) as u32;
        self.first_retry
            .saturating_mul(2u32.saturating_pow(doublings))
            .min(self.max_retry)
    }
}

/// Where the confirmer stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmerState {
    /// Confirming (or waiting for pending confirms).
    Running,
    /// A confirm was answered with something no event can fix (a 401, SIGN_ERROR,
    /// NO_AUTH): every confirm waits until `until`, then the next one is tried.
    Paused {
        /// The error code of the answer that paused it (`SIGN_ERROR`, `HTTP_401`, …).
        code: String,
        /// That answer's message.
        message: String,
        /// When the next confirm is tried.
        until: SystemTime,
    },
    /// `run` returned.
    Stopped,
}

/// Why a confirmer cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfirmerError {
    /// The receiver has no AppID setting: a brand confirm names the AppID, which the
    /// brand's notification does not carry.
    #[error("confirming a brand's coupons needs the AppID they were issued for (the notification does not carry it): set it on the receiver (`--appid`, WECHATPAY_APPID)")]
    NoAppid,
    /// No client was given.
    #[error("a confirmer needs a client: the brand's, the service provider's, or both")]
    NoClient,
    /// A client of a family no event's follow-up belongs to (a merchant client).
    #[error("no event is confirmed by a {} client (give a brand or a service-provider client)", .0.family())]
    NoEventOfFamily(AuthScheme),
    /// Two clients of one family.
    #[error("two {} clients: give one per family", .0.family())]
    TwoClients(AuthScheme),
    /// A client whose identity is not the receiver's of its family: the confirm numbers
    /// the receiver journals would not be the ones sent.
    #[error("the {} client signs as {client}, but the receiver's {} is {}", .family.family(), .family.family(), .receiver.as_deref().unwrap_or("not set"))]
    NotTheReceivers {
        /// The client's family.
        family: AuthScheme,
        /// The client's `brand_id` or `mchid`.
        client: String,
        /// The receiver's identity of that family, if it has one.
        receiver: Option<String>,
    },
}

/// Performs the journal's pending confirms. See the [module docs](self).
///
/// ```no_run
/// # async fn demo(receiver: wechatpay_notify::Receiver, client: wechatpay_transport::Client) {
/// use wechatpay_notify::{ConfirmOptions, Confirmer};
///
/// // `client`: a brand client; give it `RetryPolicy::none()`: the confirmer resends
/// // by itself with the same number and must see every 429 to pace itself.
/// let confirmer = Confirmer::new(&receiver, [client], ConfirmOptions::default()).unwrap();
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// let task = tokio::spawn(confirmer.run(async { let _ = stopped.await; }));
/// // … on shutdown: in-flight confirms finish and are journaled.
/// let _ = stop.send(());
/// task.await.unwrap().unwrap();
/// # }
/// ```
pub struct Confirmer {
    shared: Arc<Shared>,
    /// One client per family of follow-up operation.
    clients: Arc<Vec<(AuthScheme, Client)>>,
    options: ConfirmOptions,
    rate: f64,
    state: watch::Sender<ConfirmerState>,
}

impl std::fmt::Debug for Confirmer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Confirmer")
            .field("options", &self.options)
            .field("rate", &self.rate)
            .finish_non_exhaustive()
    }
}

/// One finished attempt.
struct Finished {
    event_id: String,
    request_no: Option<String>,
    attempts_before: u64,
    sent_at: Instant,
    outcome: Attempted,
}

enum Attempted {
    Outcome(StepOutcome),
    Unconfirmable(String),
    NoAppid,
    /// No identity or client for the follow-up's family: why.
    NotConfigured(String),
}

/// The documented rate of the confirm that events of these types need.
fn documented_rate() -> Option<f64> {
    ProductCouponEvent::EVENT_TYPES
        .iter()
        .filter_map(|t| ProductCouponEvent::follow_up(t))
        .filter_map(|f| wechatpay_endpoints::find(f.operation_id))
        .filter_map(|info| info.rate_per_second)
        .min()
        .map(f64::from)
}

/// Whether an event's follow-up in `family` takes the receiver's AppID setting.
fn family_needs_appid(family: AuthScheme) -> bool {
    ProductCouponEvent::EVENT_TYPES
        .iter()
        .filter_map(|t| ProductCouponEvent::follow_up(t))
        .filter(|f| wechatpay_endpoints::find(f.operation_id).is_some_and(|i| i.auth == family))
        .any(|f| needs_setting(f, "appid"))
}

impl Confirmer {
    /// A confirmer for `receiver`'s journal, calling WeChat Pay with `clients`: the
    /// brand's client (for the receiver's [`brand`](crate::ReceiverBuilder::brand)),
    /// the service provider's (for its [`provider`](crate::ReceiverBuilder::provider)),
    /// or both. Give them `RetryPolicy::none()`: the confirmer resends by itself with
    /// the same number and must see every 429 to pace itself.
    pub fn new(
        receiver: &Receiver,
        clients: impl IntoIterator<Item = Client>,
        options: ConfirmOptions,
    ) -> Result<Confirmer, ConfirmerError> {
        let identities = &receiver.shared.identities;
        let mut by_family: Vec<(AuthScheme, Client)> = Vec::new();
        for client in clients {
            let identity = client.config().identity();
            let family = identity.scheme();
            if family == AuthScheme::Merchant {
                return Err(ConfirmerError::NoEventOfFamily(family));
            }
            if by_family.iter().any(|(f, _)| *f == family) {
                return Err(ConfirmerError::TwoClients(family));
            }
            if identities.of(family) != Some(identity.id()) {
                return Err(ConfirmerError::NotTheReceivers {
                    family,
                    client: identity.id().to_owned(),
                    receiver: identities.of(family).map(str::to_owned),
                });
            }
            if receiver.appid().is_none() && family_needs_appid(family) {
                return Err(ConfirmerError::NoAppid);
            }
            by_family.push((family, client));
        }
        if by_family.is_empty() {
            return Err(ConfirmerError::NoClient);
        }
        let rate = options
            .rate
            .filter(|r| r.is_finite() && *r > 0.0)
            .or_else(documented_rate)
            .unwrap_or(FALLBACK_RATE);
        let (state, _) = watch::channel(ConfirmerState::Running);
        Ok(Confirmer {
            shared: receiver.shared.clone(),
            clients: Arc::new(by_family),
            options,
            rate,
            state,
        })
    }

    /// Confirms per second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Where the confirmer stands (running, paused after a `Stop`, stopped).
    pub fn state(&self) -> watch::Receiver<ConfirmerState> {
        self.state.subscribe()
    }

    /// Confirms until `stop` completes; then waits for the confirms in flight and
    /// journals their outcomes. Returns early only if the journal cannot be written.
    pub async fn run(self, stop: impl Future<Output = ()>) -> Result<(), JournalError> {
        let result = self.run_inner(stop).await;
        self.state.send_replace(ConfirmerState::Stopped);
        result
    }

    async fn run_inner(&self, stop: impl Future<Output = ()>) -> Result<(), JournalError> {
        tokio::pin!(stop);
        let mut pacer = Pacer::new(self.rate, None, Instant::now());
        let mut tasks: JoinSet<Finished> = JoinSet::new();
        // The event each attempt in flight is for: never two attempts of one event at once.
        let mut busy: HashMap<tokio::task::Id, String> = HashMap::new();
        let mut paused_until: Option<Instant> = None;
        let mut stopping = false;
        while !stopping {
            while let Some(done) = tasks.try_join_next_with_id() {
                self.finish(done, &mut pacer, &mut busy, &mut paused_until)
                    .await?;
            }
            let now = Instant::now();
            let paused = paused_until.is_some_and(|t| t > now);
            let free = self.options.concurrency.max(1).saturating_sub(tasks.len());
            let mut due = Vec::new();
            if !paused && free > 0 {
                let limit = free + busy.len();
                due = self.shared.journal(move |j| j.due(now_ms(), limit)).await?;
                due.retain(|r: &EventRecord| !busy.values().any(|id| *id == r.event_id));
                due.truncate(free);
            }
            if due.is_empty() {
                let wake_at = if paused {
                    paused_until
                } else if free == 0 {
                    None
                } else {
                    let now_wall = now_ms();
                    let next = self
                        .shared
                        .journal(move |j| j.next_due_after(now_wall))
                        .await?;
                    next.map(|at| now + Duration::from_millis((at - now_wall).max(0) as u64))
                };
                let sleep = wake_at.map_or(IDLE_CHECK, |at| {
                    at.saturating_duration_since(now).min(IDLE_CHECK)
                });
                tokio::select! {
                    () = &mut stop => stopping = true,
                    Some(done) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                        self.finish(done, &mut pacer, &mut busy, &mut paused_until).await?;
                    }
                    () = self.shared.wake.notified(), if !paused => {}
                    () = tokio::time::sleep(sleep) => {}
                }
                continue;
            }
            for record in due {
                loop {
                    let now = Instant::now();
                    let at = pacer.ready_at(now);
                    if at <= now {
                        break;
                    }
                    tokio::select! {
                        () = &mut stop => { stopping = true; break; }
                        () = tokio::time::sleep_until(at.into()) => {}
                    }
                }
                if stopping {
                    break;
                }
                pacer.take(Instant::now());
                let event_id = record.event_id.clone();
                let handle = tasks.spawn(attempt_one(
                    self.clients.clone(),
                    record,
                    self.shared.identities.clone(),
                    self.shared.appid.clone(),
                ));
                busy.insert(handle.id(), event_id);
            }
        }
        while let Some(done) = tasks.join_next_with_id().await {
            self.finish(done, &mut pacer, &mut busy, &mut paused_until)
                .await?;
        }
        Ok(())
    }

    /// Journals one attempt's outcome.
    async fn finish(
        &self,
        done: Result<(tokio::task::Id, Finished), tokio::task::JoinError>,
        pacer: &mut Pacer,
        busy: &mut HashMap<tokio::task::Id, String>,
        paused_until: &mut Option<Instant>,
    ) -> Result<(), JournalError> {
        let done = match done {
            Ok((id, done)) => {
                busy.remove(&id);
                done
            }
            // A panicked attempt: its event stays pending and is tried again.
            Err(e) => {
                tracing::error!(error = %e, "a confirm attempt panicked");
                busy.remove(&e.id());
                return Ok(());
            }
        };
        let now = Instant::now();
        let later = |attempts: u64| {
            Some(
                now_ms()
                    + i64::try_from(self.options.backoff(attempts).as_millis())
                        .unwrap_or(i64::MAX / 2),
            )
        };
        let tries = done.attempts_before + 1;
        let mut settle = Settle {
            confirm: ConfirmStatus::Pending,
            confirm_request_no: done.request_no.clone(),
            attempted: true,
            next_attempt_at: None,
            error_code: None,
            error_message: None,
            coupon_state: None,
            note: None,
        };
        match done.outcome {
            Attempted::Outcome(StepOutcome::Done { result, note }) => {
                settle.confirm = ConfirmStatus::Confirmed;
                settle.coupon_state = result
                    .get("coupon_state")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                settle.note = note;
                if matches!(*self.state.borrow(), ConfirmerState::Paused { .. }) {
                    self.state.send_replace(ConfirmerState::Running);
                }
            }
            Attempted::Outcome(StepOutcome::Failed { code, message }) => {
                settle.confirm = ConfirmStatus::Failed;
                settle.error_code = Some(code);
                settle.error_message = Some(message);
            }
            Attempted::Outcome(StepOutcome::Waiting { code, message }) => {
                settle.next_attempt_at = later(tries);
                settle.error_code = Some(code);
                settle.error_message = Some(message);
            }
            Attempted::Outcome(StepOutcome::Retry {
                code,
                message,
                throttled,
            }) => {
                if throttled {
                    pacer.throttled(done.sent_at, now);
                }
                settle.next_attempt_at = later(tries);
                settle.error_code = Some(code);
                settle.error_message = Some(message);
            }
            // One brand's refusal of the provider (NO_AUTH): that event waits with
            // backoff, and the other brands' confirms go on.
            Attempted::Outcome(StepOutcome::BrandRefused { code, message }) => {
                settle.next_attempt_at = later(tries);
                settle.error_code = Some(code);
                settle.error_message = Some(message);
            }
            Attempted::Outcome(StepOutcome::Stop { code, message }) => {
                tracing::error!(code = %code, message = %message, "confirms paused");
                *paused_until = Some(now + self.options.stop_pause);
                self.state.send_replace(ConfirmerState::Paused {
                    code: code.clone(),
                    message: message.clone(),
                    until: SystemTime::now() + self.options.stop_pause,
                });
                settle.error_code = Some(code);
                settle.error_message = Some(message);
            }
            Attempted::Unconfirmable(reason) => {
                settle.confirm = ConfirmStatus::Failed;
                settle.attempted = false;
                settle.error_code = Some(UNCONFIRMABLE.into());
                settle.error_message = Some(reason);
            }
            Attempted::NoAppid => {
                // Cannot happen (checked in `new`); keep it pending for a run that has one.
                settle.attempted = false;
                settle.next_attempt_at = later(u64::MAX);
            }
            Attempted::NotConfigured(reason) => {
                // Nothing this run can do; a run configured for it confirms it.
                settle.attempted = false;
                settle.next_attempt_at = later(u64::MAX);
                settle.error_code = Some(NOT_CONFIGURED.into());
                settle.error_message = Some(reason);
            }
        }
        let id = done.event_id;
        self.shared.journal(move |j| j.settle(&id, &settle)).await?;
        self.shared.changed();
        Ok(())
    }
}

/// One attempt at the confirm of `record`, with the client of its follow-up's family.
async fn attempt_one(
    clients: Arc<Vec<(AuthScheme, Client)>>,
    record: EventRecord,
    identities: Identities,
    appid: Option<String>,
) -> Finished {
    let sent_at = Instant::now();
    let payload = record.payload_json();
    let (request_no, outcome) =
        match plan(&record.event_type, &payload, &identities, appid.as_deref()) {
            Plan::Ready { step, prepared } => {
                let family = step.info.auth;
                match clients.iter().find(|(f, _)| *f == family) {
                    Some((_, client)) => {
                        let outcome = attempt(client, &step, &prepared).await;
                        (Some(step.request_no), Attempted::Outcome(outcome))
                    }
                    None => (
                        Some(step.request_no),
                        Attempted::NotConfigured(format!(
                            "{} is confirmed by {}: this confirmer has no {} client",
                            record.event_type,
                            step.info.operation_id,
                            family.family()
                        )),
                    ),
                }
            }
            Plan::Impossible(reason) => (None, Attempted::Unconfirmable(reason)),
            Plan::NeedsAppid => (None, Attempted::NoAppid),
            Plan::NoIdentity(reason) => (None, Attempted::NotConfigured(reason)),
            // A type whose follow-up the schema dropped since it was journaled.
            Plan::NotNeeded => (
                None,
                Attempted::Unconfirmable(format!(
                    "{} no longer asks for a confirm",
                    record.event_type
                )),
            ),
        };
    Finished {
        event_id: record.event_id,
        request_no,
        attempts_before: record.attempts,
        sent_at,
        outcome,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let o = ConfirmOptions::default();
        let secs: Vec<u64> = (1..=12).map(|n| o.backoff(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        assert_eq!(o.backoff(u64::MAX).as_secs(), 300);
    }

    #[test]
    fn the_rate_is_the_confirms_documented_one() {
        assert_eq!(documented_rate(), Some(500.0));
    }
}
