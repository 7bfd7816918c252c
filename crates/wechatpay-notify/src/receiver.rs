//! The notify URL's handling, independent of any web framework: verify, decrypt,
//! journal, and only then acknowledge.
//!
//! | delivery | answer | journal |
//! |---|---|---|
//! | verified, decrypted, new event id | 204 | one row, committed before the answer |
//! | verified, decrypted, event id already journaled | 204 | unchanged |
//! | signature, serial, timestamp (±300 s) or headers do not check out | 401 | unchanged |
//! | body not a notification, resource does not decrypt | 400 | unchanged |
//! | body over the limit ([`DEFAULT_BODY_LIMIT`]) | 413 | unchanged |
//! | not `POST` | 405 | unchanged |
//! | the journal write failed | 500 (WeChat Pay delivers it again) | unchanged |
//!
//! Failures carry WeChat Pay's answer body, `{"code": "FAIL", "message": "…"}`.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Full, Limited};
use serde_json::json;
use tokio::sync::{watch, Notify};
use wechatpay_protocol::notification::{Delivery, NotificationError, NotificationHandler};
use wechatpay_protocol::verify::VerifyError;
use wechatpay_protocol::SignatureHeaders;

use crate::event::{field, Incoming};
use crate::journal::{Journal, JournalError};
use crate::key_refresh::{KeyRefresh, Refresh};
use crate::plan::{plan, Identities, Plan, NOT_CONFIGURED, UNCONFIRMABLE};
use crate::record::{ConfirmStatus, EventRecord};
use crate::service::NotifyService;

/// The largest notification body read (WeChat Pay's are about 1 KiB).
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// What became of one delivery; also in the extensions of the service's response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// A new event, journaled.
    Recorded {
        /// The notification's `id`.
        event_id: String,
        /// Its `event_type` (`PRODUCT_COUPON.SEND`).
        event_type: String,
        /// Where its follow-up stands as journaled.
        confirm: ConfirmStatus,
    },
    /// An event id already in the journal: acknowledged, not recorded again.
    Duplicate {
        /// The notification's `id`.
        event_id: String,
    },
    /// Did not verify, decrypt or parse: answered 4xx, never recorded or acted on.
    Refused {
        /// What failed (verification, decryption or parsing).
        reason: String,
    },
    /// The body is larger than the limit (413).
    TooLarge {
        /// The body limit in bytes.
        limit: usize,
    },
    /// Not a `POST` (405).
    WrongMethod,
    /// Verified, but the journal write failed: answered 500 so WeChat Pay delivers it again.
    NotRecorded {
        /// The journal's error.
        reason: String,
    },
}

/// The answer to one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status to answer WeChat Pay with (2xx: delivered; else it delivers again).
    pub status: StatusCode,
    /// What became of the delivery.
    pub outcome: Outcome,
}

impl Answer {
    fn new(status: StatusCode, outcome: Outcome) -> Answer {
        Answer { status, outcome }
    }

    /// The HTTP response: no body for success, WeChat Pay's failure body otherwise;
    /// the [`Outcome`] in its extensions.
    pub fn into_response(self) -> Response<Full<Bytes>> {
        let body = if self.status.is_success() {
            Bytes::new()
        } else {
            let message = match &self.outcome {
                Outcome::Refused { reason } | Outcome::NotRecorded { reason } => reason.clone(),
                Outcome::TooLarge { limit } => format!("body larger than {limit} bytes"),
                Outcome::WrongMethod => "notifications are POSTed".into(),
                _ => String::new(),
            };
            Bytes::from(json!({"code": "FAIL", "message": message}).to_string())
        };
        let mut response = Response::new(Full::new(body));
        *response.status_mut() = self.status;
        if !self.status.is_success() {
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
        }
        response.extensions_mut().insert(self.outcome);
        response
    }
}

pub(crate) struct Shared {
    pub handler: NotificationHandler,
    pub journal: Arc<Mutex<Journal>>,
    pub journal_path: std::path::PathBuf,
    pub identities: Identities,
    pub appid: Option<String>,
    pub body_limit: usize,
    /// Wakes the confirmer when a pending event is journaled.
    pub wake: Notify,
    /// Counts journal changes (new events, settled confirms).
    pub changes: watch::Sender<u64>,
    /// Downloads WeChat Pay's keys again for a notification naming an unknown serial.
    pub key_refresh: Option<KeyRefresh>,
}

impl Shared {
    pub(crate) fn changed(&self) {
        self.changes.send_modify(|n| *n += 1);
    }

    /// Runs `f` on the journal off the async threads (a commit waits for the disk).
    pub(crate) async fn journal<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Journal) -> Result<T, JournalError> + Send + 'static,
    ) -> Result<T, JournalError> {
        let journal = self.journal.clone();
        let path = self.journal_path.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = journal.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut guard)
        })
        .await
        .unwrap_or_else(|e| {
            Err(JournalError::Sqlite {
                path,
                message: format!("the journal task failed: {e}"),
            })
        })
    }
}

/// A notify URL, a brand's or a service provider's (or one serving both): verifies
/// each delivery, journals it, and only then acknowledges it. Cheap to clone (shared
/// state).
///
/// Who confirms an event is the family of its declared follow-up: `PRODUCT_COUPON.SEND`
/// is confirmed by the brand ([`ReceiverBuilder::brand`]),
/// `PRODUCT_COUPON_SP.SEND` by the service provider ([`ReceiverBuilder::provider`]) for
/// the brand its payload names. An event whose confirmer is not configured is journaled
/// `pending` with [`crate::NOT_CONFIGURED`] and a message saying what
/// to set; a run configured with it confirms it.
///
/// ```no_run
/// # async fn demo(client: wechatpay_transport::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use wechatpay_notify::{Confirmer, ConfirmOptions, Journal, Receiver};
/// use wechatpay_protocol::{ApiV3Key, NotificationHandler, PublicKeyStore};
///
/// let mut keys = PublicKeyStore::new();
/// keys.add_public_key_pem("PUB_KEY_ID_0114232134912410000000000000", std::fs::read("wxp_pub.pem")?)?;
/// let handler = NotificationHandler::new(keys, ApiV3Key::new("an APIv3 key of 32 characters..")?);
/// let receiver = Receiver::builder(handler, Journal::open("notify.db".as_ref())?)
///     .brand("120000000001")
///     .appid("wx233544546545989")
///     .build();
/// // Mount `receiver.service()` (a tower Service) in your web service, then confirm:
/// let confirmer = Confirmer::new(&receiver, [client], ConfirmOptions::default())?;
/// tokio::spawn(confirmer.run(std::future::pending()));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Receiver {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("brand", &self.shared.identities.brand)
            .field("provider", &self.shared.identities.provider)
            .field("appid", &self.shared.appid)
            .finish_non_exhaustive()
    }
}

/// Settings of a [`Receiver`].
pub struct ReceiverBuilder {
    handler: NotificationHandler,
    identities: Identities,
    journal: Journal,
    appid: Option<String>,
    body_limit: usize,
    key_refresh: Option<Refresh>,
}

impl ReceiverBuilder {
    /// How to download WeChat Pay's keys again (e.g. a client's
    /// `update_certificates`, whose keys the handler reads live) when a notification
    /// names a serial the handler does not know: a rotated platform certificate reaches
    /// the notify URL before any call of the receiver's own downloads it. At most once a
    /// minute; the delivery is verified again after it.
    pub fn refresh_keys_with(mut self, refresh: Refresh) -> Self {
        self.key_refresh = Some(refresh);
        self
    }

    /// The brand (`brand_id`) whose notify URL this is: its events
    /// (`PRODUCT_COUPON.SEND`) are confirmed as it, and journaled with its id.
    pub fn brand(mut self, brand_id: impl Into<String>) -> Self {
        self.identities.brand = Some(brand_id.into()).filter(|b| !b.is_empty());
        self
    }

    /// The service provider (服务商, its `mchid`) whose notify URL this is: its events
    /// (`PRODUCT_COUPON_SP.SEND`) are confirmed as it, for the brand each names.
    pub fn provider(mut self, sp_mchid: impl Into<String>) -> Self {
        self.identities.provider = Some(sp_mchid.into()).filter(|m| !m.is_empty());
        self
    }

    /// The AppID the brand's coupons are confirmed for (the brand's notification does
    /// not carry it; a payload `appid`, should one ever be sent, is preferred). Needed
    /// to confirm brand events; a provider's carry their own.
    pub fn appid(mut self, appid: impl Into<String>) -> Self {
        self.appid = Some(appid.into()).filter(|a| !a.is_empty());
        self
    }

    /// The largest body read; larger ones are answered 413.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// The receiver with these settings.
    pub fn build(self) -> Receiver {
        let (changes, _) = watch::channel(0);
        Receiver {
            shared: Arc::new(Shared {
                handler: self.handler,
                journal_path: self.journal.path().to_owned(),
                journal: Arc::new(Mutex::new(self.journal)),
                identities: self.identities,
                appid: self.appid,
                body_limit: self.body_limit,
                wake: Notify::new(),
                changes,
                key_refresh: self.key_refresh.map(KeyRefresh::new),
            }),
        }
    }
}

fn refused(status: StatusCode, reason: String) -> Answer {
    Answer::new(status, Outcome::Refused { reason })
}

impl Receiver {
    /// A receiver that verifies and decrypts with `handler` (the WeChat Pay keys and
    /// the APIv3 key) and journals into `journal`; name whose URL it is with
    /// [`brand`](ReceiverBuilder::brand) and/or [`provider`](ReceiverBuilder::provider).
    /// Give the handler no dedup store: the journal is the record of which events were
    /// seen.
    pub fn builder(handler: NotificationHandler, journal: Journal) -> ReceiverBuilder {
        ReceiverBuilder {
            handler,
            identities: Identities::default(),
            journal,
            appid: None,
            body_limit: DEFAULT_BODY_LIMIT,
            key_refresh: None,
        }
    }

    /// The brand the receiver runs for, if any.
    pub fn brand_id(&self) -> Option<&str> {
        self.shared.identities.brand.as_deref()
    }

    /// The service provider (its `mchid`) the receiver runs for, if any.
    pub fn provider(&self) -> Option<&str> {
        self.shared.identities.provider.as_deref()
    }

    /// The AppID setting, if any.
    pub fn appid(&self) -> Option<&str> {
        self.shared.appid.as_deref()
    }

    /// The receiver as a tower `Service<http::Request<B>>`, to mount in a web service.
    pub fn service(&self) -> NotifyService {
        NotifyService::new(self.clone())
    }

    /// A counter bumped whenever the journal changes (an event recorded, a confirm settled).
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.shared.changes.subscribe()
    }

    /// Runs `f` on the journal on a blocking thread.
    pub async fn with_journal<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Journal) -> Result<T, JournalError> + Send + 'static,
    ) -> Result<T, JournalError> {
        self.shared.journal(f).await
    }

    /// Handles one HTTP request: method, body limit, then [`handle`](Self::handle).
    pub async fn respond<B>(&self, request: Request<B>) -> Response<Full<Bytes>>
    where
        B: Body,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        self.answer(request).await.into_response()
    }

    async fn answer<B>(&self, request: Request<B>) -> Answer
    where
        B: Body,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let limit = self.shared.body_limit;
        let (parts, body) = request.into_parts();
        if parts.method != Method::POST {
            return Answer::new(StatusCode::METHOD_NOT_ALLOWED, Outcome::WrongMethod);
        }
        let declared = parts
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Answer::new(StatusCode::PAYLOAD_TOO_LARGE, Outcome::TooLarge { limit });
        }
        let bytes = match Limited::new(body, limit).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                return Answer::new(StatusCode::PAYLOAD_TOO_LARGE, Outcome::TooLarge { limit })
            }
            Err(e) => return refused(StatusCode::BAD_REQUEST, format!("unreadable body: {e}")),
        };
        self.handle(&parts.headers, &bytes).await
    }

    /// Verifies, decrypts and journals one delivery, and says how to answer it.
    pub async fn handle(&self, headers: &HeaderMap, body: &[u8]) -> Answer {
        let signature = match SignatureHeaders::from_header_map(headers) {
            Ok(h) => h,
            Err(e) => {
                return refused(
                    StatusCode::UNAUTHORIZED,
                    format!("notification signature: {e}"),
                )
            }
        };
        let mut received = self
            .shared
            .handler
            .receive_event::<Incoming>(&signature, body);
        if let (Err(NotificationError::Verify(VerifyError::UnknownSerial(_))), Some(refresh)) =
            (&received, &self.shared.key_refresh)
        {
            if refresh.refresh(std::time::Instant::now()).await {
                received = self
                    .shared
                    .handler
                    .receive_event::<Incoming>(&signature, body);
            }
        }
        let notification = match received {
            Ok(Delivery::Fresh(n)) => n,
            // Only with a dedup store, which the journal replaces; answered as a duplicate.
            Ok(Delivery::Duplicate { id }) => {
                return Answer::new(StatusCode::NO_CONTENT, Outcome::Duplicate { event_id: id })
            }
            Err(NotificationError::Verify(e)) => {
                return refused(
                    StatusCode::UNAUTHORIZED,
                    format!("notification signature: {e}"),
                )
            }
            Err(e) => return refused(StatusCode::BAD_REQUEST, e.to_string()),
        };
        let record = self.record(notification.notification, notification.resource);
        let (event_id, event_type, confirm) = (
            record.event_id.clone(),
            record.event_type.clone(),
            record.confirm,
        );
        match self.shared.journal(move |j| j.insert(&record)).await {
            Ok(true) => {
                if confirm == ConfirmStatus::Pending {
                    self.shared.wake.notify_one();
                }
                self.shared.changed();
                Answer::new(
                    StatusCode::NO_CONTENT,
                    Outcome::Recorded {
                        event_id,
                        event_type,
                        confirm,
                    },
                )
            }
            Ok(false) => Answer::new(StatusCode::NO_CONTENT, Outcome::Duplicate { event_id }),
            Err(e) => {
                tracing::error!(event_id = %event_id, error = %e, "notification not journaled; answered 500");
                Answer::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Outcome::NotRecorded {
                        reason: "the notification could not be recorded; deliver it again".into(),
                    },
                )
            }
        }
    }

    /// The journal row of a verified event, with what its follow-up needs.
    fn record(
        &self,
        envelope: wechatpay_protocol::notification::Notification,
        incoming: Incoming,
    ) -> EventRecord {
        let payload = &incoming.payload;
        let shared = &self.shared;
        let mut record = EventRecord {
            event_id: envelope.id,
            event_type: envelope.event_type,
            create_time: envelope.create_time,
            received_at: now_ms(),
            brand_id: field(payload, "brand_id")
                .or_else(|| shared.identities.brand.clone())
                .unwrap_or_default(),
            coupon_code: field(payload, "coupon_code"),
            openid: field(payload, "openid"),
            stock_id: field(payload, "stock_id"),
            product_coupon_id: field(payload, "product_coupon_id"),
            payload: payload.to_string(),
            confirm: ConfirmStatus::Pending,
            confirm_request_no: None,
            attempts: 0,
            error_code: None,
            error_message: None,
            coupon_state: None,
            note: None,
        };
        match plan(
            &record.event_type,
            payload,
            &shared.identities,
            shared.appid.as_deref(),
        ) {
            Plan::NotNeeded => record.confirm = ConfirmStatus::NotNeeded,
            Plan::NeedsAppid => {}
            Plan::NoIdentity(reason) => {
                tracing::warn!(event_type = %record.event_type, %reason, "event journaled pending");
                record.error_code = Some(NOT_CONFIGURED.into());
                record.error_message = Some(reason);
            }
            Plan::Ready { step, .. } => record.confirm_request_no = Some(step.request_no),
            Plan::Impossible(reason) => {
                record.confirm = ConfirmStatus::Failed;
                record.error_code = Some(UNCONFIRMABLE.into());
                record.error_message = Some(reason);
            }
        }
        if let serde_json::Value::String(text) = payload {
            // Not JSON: keep the plaintext itself.
            record.payload = text.clone();
        }
        record
    }
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
