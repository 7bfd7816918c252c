//! Notifications (callbacks): verify the signature headers, then decrypt the
//! `AEAD_AES_256_GCM` resource with the APIv3 key.
//!
//! [`encrypt_resource`] is the inverse, for a sandbox that emits notifications.
//!
//! WeChat Pay may deliver one notification more than once. A handler built
//! with [`NotificationHandler::with_dedup`] (or
//! [`with_seen_events`](NotificationHandler::with_seen_events) for a shared
//! store) reports a repeated event id as [`Delivery::Duplicate`] from
//! [`NotificationHandler::receive`], and as [`NotificationError::Duplicate`]
//! from [`NotificationHandler::handle`]. Answer a duplicate with success
//! (HTTP 200/204) so WeChat Pay stops redelivering it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use http::HeaderMap;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use wechatpay_runtime::Event;
use zeroize::Zeroizing;

use crate::clock::{Clock, SystemClock};
pub use crate::dedup::{InMemorySeenEvents, SeenEvents};
use crate::headers::SignatureHeaders;
use crate::keystore::PublicKeyStore;
use crate::verify::{verify_signed, VerifyError};

/// The only resource algorithm WeChat Pay uses.
pub const AEAD_AES_256_GCM: &str = "AEAD_AES_256_GCM";

/// The APIv3 key: 32 ASCII characters set in the merchant platform, used as
/// the 256-bit AES key as is. `Debug` never shows it.
#[derive(Clone)]
pub struct ApiV3Key(Zeroizing<[u8; 32]>);

impl ApiV3Key {
    /// Takes the key as configured (its 32 bytes are the AES-256 key).
    pub fn new(key: &str) -> Result<Self, NotificationError> {
        Self::from_bytes(key.as_bytes())
    }

    /// Takes the 32 key bytes.
    pub fn from_bytes(key: &[u8]) -> Result<Self, NotificationError> {
        let bytes: [u8; 32] = key
            .try_into()
            .map_err(|_| NotificationError::KeyLength { len: key.len() })?;
        Ok(ApiV3Key(Zeroizing::new(bytes)))
    }

    fn aead(&self) -> LessSafeKey {
        // AES_256_GCM takes exactly 32 bytes, which the type guarantees.
        let key = UnboundKey::new(&AES_256_GCM, &self.0[..]).expect("a 32-byte AES-256 key");
        LessSafeKey::new(key)
    }
}

impl fmt::Debug for ApiV3Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiV3Key(<redacted>)")
    }
}

/// A notification's encrypted `resource`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptedResource {
    /// `AEAD_AES_256_GCM`.
    pub algorithm: String,
    /// Base64 of the ciphertext with the 16-byte GCM tag appended.
    pub ciphertext: String,
    /// The 12-character GCM nonce.
    pub nonce: String,
    /// Associated data (may be empty).
    #[serde(default)]
    pub associated_data: String,
    /// The type of the plaintext object, e.g. `product_coupon`.
    #[serde(default)]
    pub original_type: String,
}

/// A notification body as WeChat Pay posts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Notification id.
    pub id: String,
    /// RFC 3339 creation time.
    #[serde(default)]
    pub create_time: String,
    /// Event, e.g. `PRODUCT_COUPON.SEND`.
    pub event_type: String,
    /// `encrypt-resource`.
    #[serde(default)]
    pub resource_type: String,
    /// Human-readable summary.
    #[serde(default)]
    pub summary: String,
    /// The encrypted payload.
    pub resource: EncryptedResource,
}

/// A verified notification and its decrypted resource.
#[derive(Debug, Clone)]
pub struct DecryptedNotification<T> {
    /// The envelope (with the resource still encrypted).
    pub notification: Notification,
    /// The decrypted resource.
    pub resource: T,
}

/// What [`NotificationHandler::receive`] made of a verified notification.
#[derive(Debug, Clone)]
// Returned once and matched at once; boxing `Fresh` would only cost callers a deref.
#[allow(clippy::large_enum_variant)]
pub enum Delivery<T> {
    /// The first delivery of this event id (or dedup is off): process it.
    Fresh(DecryptedNotification<T>),
    /// An event id already handled (the notification verified and decrypted
    /// again, so this is genuinely WeChat Pay redelivering it): answer with
    /// success and do not process it again.
    Duplicate {
        /// The envelope `id`.
        id: String,
    },
}

impl<T> Delivery<T> {
    /// The notification, when fresh.
    pub fn fresh(self) -> Option<DecryptedNotification<T>> {
        match self {
            Delivery::Fresh(n) => Some(n),
            Delivery::Duplicate { .. } => None,
        }
    }

    /// Whether this is a duplicate.
    pub fn is_duplicate(&self) -> bool {
        matches!(self, Delivery::Duplicate { .. })
    }

    /// The envelope `id`.
    pub fn id(&self) -> &str {
        match self {
            Delivery::Fresh(n) => &n.notification.id,
            Delivery::Duplicate { id } => id,
        }
    }
}

/// Why a notification was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotificationError {
    /// The signature headers did not check out.
    #[error("the notification's signature does not check out")]
    Verify(#[from] VerifyError),
    /// The body is not a notification envelope.
    #[error("notification body is not a notification: {reason}")]
    Envelope {
        /// Why the envelope does not decode (cut short).
        reason: String,
    },
    /// `resource.algorithm` is not `AEAD_AES_256_GCM`.
    #[error("unsupported resource algorithm {0:?} (expected AEAD_AES_256_GCM)")]
    UnsupportedAlgorithm(String),
    /// The APIv3 key is not 32 bytes.
    #[error("the APIv3 key must be 32 bytes, got {len}")]
    KeyLength {
        /// The length given.
        len: usize,
    },
    /// The nonce is not 12 bytes.
    #[error("the resource nonce must be 12 bytes, got {len}")]
    NonceLength {
        /// The length given.
        len: usize,
    },
    /// `resource.ciphertext` is not Base64.
    #[error("resource ciphertext is not valid Base64")]
    BadBase64,
    /// GCM authentication failed: a wrong APIv3 key, a tampered ciphertext or
    /// tag, or wrong associated data (indistinguishable by design).
    #[error(
        "resource decryption failed: wrong APIv3 key, tampered ciphertext or wrong associated data"
    )]
    Decrypt,
    /// The plaintext did not decode into the requested type. Only the error's
    /// category and position are kept, as the plaintext may hold personal data.
    #[error("decrypted resource does not decode: {reason}")]
    Payload {
        /// The decode error's category and position.
        reason: String,
    },
    /// A verified notification whose event id was already handled (only with
    /// dedup on; see [`NotificationHandler::with_dedup`]). Not a failure:
    /// answer WeChat Pay with success, and do not process it again.
    #[error("duplicate notification {}: already handled", crate::text::truncate(.id, 80))]
    Duplicate {
        /// The envelope `id`.
        id: String,
    },
}

impl NotificationError {
    /// Whether this is [`NotificationError::Duplicate`], which should be
    /// answered with success rather than an error status.
    pub fn is_duplicate(&self) -> bool {
        matches!(self, NotificationError::Duplicate { .. })
    }
}

/// A payload that does not decode: only the error's category and position, as the
/// plaintext may hold personal data.
fn payload_error(e: serde_json::Error) -> NotificationError {
    NotificationError::Payload {
        reason: format!(
            "{:?} error at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        ),
    }
}

/// How much of a decoder's message an envelope error keeps.
const MAX_REASON_CHARS: usize = 200;

fn nonce(value: &str) -> Result<Nonce, NotificationError> {
    Nonce::try_assume_unique_for_key(value.as_bytes())
        .map_err(|_| NotificationError::NonceLength { len: value.len() })
}

/// Decrypts a resource to its plaintext bytes (usually JSON).
pub fn decrypt_resource(
    key: &ApiV3Key,
    resource: &EncryptedResource,
) -> Result<Zeroizing<Vec<u8>>, NotificationError> {
    if resource.algorithm != AEAD_AES_256_GCM {
        return Err(NotificationError::UnsupportedAlgorithm(
            crate::text::truncate(&resource.algorithm, 32),
        ));
    }
    let nonce = nonce(&resource.nonce)?;
    let mut in_out = Zeroizing::new(
        BASE64
            .decode(&resource.ciphertext)
            .map_err(|_| NotificationError::BadBase64)?,
    );
    let len = key
        .aead()
        .open_in_place(
            nonce,
            Aad::from(resource.associated_data.as_bytes()),
            &mut in_out,
        )
        .map_err(|_| NotificationError::Decrypt)?
        .len();
    in_out.truncate(len);
    Ok(in_out)
}

/// Encrypts `plaintext` into a resource (for a sandbox emitting notifications).
///
/// `nonce` must be 12 bytes and unique per key, as WeChat Pay's are.
pub fn encrypt_resource(
    key: &ApiV3Key,
    plaintext: &[u8],
    nonce_str: &str,
    associated_data: &str,
    original_type: &str,
) -> Result<EncryptedResource, NotificationError> {
    let nonce = nonce(nonce_str)?;
    let mut in_out = plaintext.to_vec();
    key.aead()
        .seal_in_place_append_tag(nonce, Aad::from(associated_data.as_bytes()), &mut in_out)
        .map_err(|_| NotificationError::Decrypt)?;
    Ok(EncryptedResource {
        algorithm: AEAD_AES_256_GCM.to_owned(),
        ciphertext: BASE64.encode(&in_out),
        nonce: nonce_str.to_owned(),
        associated_data: associated_data.to_owned(),
        original_type: original_type.to_owned(),
    })
}

/// The GCM nonce length WeChat Pay uses (12 bytes).
pub const RESOURCE_NONCE_LEN: usize = NONCE_LEN;

/// Verifies and decrypts notifications for one merchant or brand.
///
/// Clones share the dedup store, if any.
///
/// In any HTTP server, hand it the request's headers and raw body, and answer
/// 2xx only once the event is stored (a duplicate with 2xx too; a rejected
/// one with 4xx):
///
/// ```no_run
/// use std::time::Duration;
/// use wechatpay_protocol::notification::{ApiV3Key, Delivery, NotificationHandler};
/// use wechatpay_protocol::PublicKeyStore;
///
/// # fn demo(headers: &http::HeaderMap, body: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
/// let mut keys = PublicKeyStore::new();
/// keys.add_public_key_pem(
///     "PUB_KEY_ID_0119000000012025010100000000000000",
///     std::fs::read("wxp_pub.pem")?,
/// )?;
/// let handler = NotificationHandler::new(keys, ApiV3Key::new(&std::env::var("APIV3_KEY")?)?)
///     .with_dedup(100_000, Duration::from_secs(25 * 3600));
///
/// match handler.receive::<serde_json::Value>(headers, body) {
///     Ok(Delivery::Fresh(event)) => {
///         println!("{}: {}", event.notification.event_type, event.resource);
///         // store it, then answer 200
///     }
///     Ok(Delivery::Duplicate { .. }) => { /* answer 200 */ }
///     Err(error) => eprintln!("rejected (answer 400): {error}"),
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct NotificationHandler {
    keys: Keys,
    api_v3_key: ApiV3Key,
    clock: Arc<dyn Clock>,
    seen: Option<Arc<dyn SeenEvents>>,
}

/// The keys a handler verifies with: fixed, or read at each delivery.
#[derive(Clone)]
enum Keys {
    Fixed(PublicKeyStore),
    Live(Arc<dyn Fn() -> Arc<PublicKeyStore> + Send + Sync>),
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Keys::Fixed(store) => store.fmt(f),
            Keys::Live(current) => write!(f, "live {:?}", current()),
        }
    }
}

impl NotificationHandler {
    /// A handler trusting `keys`, decrypting with `api_v3_key`, on the system
    /// clock, without dedup.
    pub fn new(keys: PublicKeyStore, api_v3_key: ApiV3Key) -> Self {
        Self::with_keys(Keys::Fixed(keys), api_v3_key)
    }

    /// A handler that verifies each delivery with the keys `current` gives at that
    /// moment: a key set that changes while it runs (platform certificates
    /// downloaded and rotated by a client, `wechatpay_transport::Client::notification_handler`).
    pub fn with_live_keys(
        current: impl Fn() -> Arc<PublicKeyStore> + Send + Sync + 'static,
        api_v3_key: ApiV3Key,
    ) -> Self {
        Self::with_keys(Keys::Live(Arc::new(current)), api_v3_key)
    }

    fn with_keys(keys: Keys, api_v3_key: ApiV3Key) -> Self {
        NotificationHandler {
            keys,
            api_v3_key,
            clock: Arc::new(SystemClock),
            seen: None,
        }
    }

    /// Replaces the clock (tests). The clock decides signature freshness and
    /// dedup expiry.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Turns on dedup by event id with an [`InMemorySeenEvents`] of at most
    /// `capacity` ids, each remembered for `ttl` on the handler's clock.
    ///
    /// `with_dedup(100_000, Duration::from_secs(25 * 3600))` covers WeChat
    /// Pay's 24-hour retry schedule. For several processes behind a load
    /// balancer use [`with_seen_events`](Self::with_seen_events) with a
    /// shared store instead.
    pub fn with_dedup(self, capacity: usize, ttl: Duration) -> Self {
        self.with_seen_events(Arc::new(InMemorySeenEvents::new(capacity, ttl)))
    }

    /// Turns on dedup by event id with any store.
    ///
    /// The store is asked only about notifications whose signature verified
    /// and whose resource decrypted and decoded into the caller's type, so an
    /// unverified or undecryptable delivery never marks an id as seen.
    pub fn with_seen_events(mut self, store: Arc<dyn SeenEvents>) -> Self {
        self.seen = Some(store);
        self
    }

    /// The dedup store, when dedup is on.
    pub fn seen_events(&self) -> Option<&Arc<dyn SeenEvents>> {
        self.seen.as_ref()
    }

    /// Forgets that event `id` was handled, so its next delivery is fresh:
    /// call it when processing a [`Delivery::Fresh`] notification failed and
    /// you answer with an error so that WeChat Pay redelivers. No-op without dedup.
    pub fn forget_event(&self, id: &str) {
        if let Some(seen) = &self.seen {
            seen.forget(id);
        }
    }

    /// Verifies the signature over the raw body, decrypts the resource into
    /// `T`, and (with dedup on) checks the event id.
    ///
    /// Checks run in this order, and a failing one stops the rest: the
    /// signature headers and signature; the envelope; decryption; decoding
    /// into `T`; then the event id, which is recorded as seen only here.
    pub fn receive_signed<T: DeserializeOwned>(
        &self,
        headers: &SignatureHeaders,
        body: &[u8],
    ) -> Result<Delivery<T>, NotificationError> {
        self.receive_with(headers, body, |_, plaintext| {
            serde_json::from_slice(plaintext).map_err(payload_error)
        })
    }

    /// Like [`receive_signed`](Self::receive_signed), decoding the resource into the
    /// schema's event type `E` by the envelope's `event_type` (for example
    /// `wechatpay_models::ProductCouponEvent`). An event type the schema does not
    /// list is kept raw ([`Event::unknown`]), never rejected; so is a documented type
    /// whose payload does not fit the schema's (uncertain) payload type: refusing it
    /// would make WeChat Pay redeliver the same body forever. That case is logged.
    pub fn receive_event<E: Event>(
        &self,
        headers: &SignatureHeaders,
        body: &[u8],
    ) -> Result<Delivery<E>, NotificationError> {
        self.receive_with(headers, body, |notification, plaintext| {
            let mut de = serde_json::Deserializer::from_slice(plaintext);
            let raw = || {
                E::unknown(
                    notification.event_type.clone(),
                    String::from_utf8_lossy(plaintext).into_owned(),
                )
            };
            match E::decode(&notification.event_type, &mut de) {
                Some(Ok(event)) if de.end().is_ok() => Ok(event),
                Some(outcome) => {
                    let reason = outcome.err().map(|e| payload_error(e).to_string());
                    tracing::warn!(
                        event_type = %notification.event_type,
                        id = %notification.id,
                        reason = reason.as_deref().unwrap_or("trailing data"),
                        "notification payload does not fit its documented type; kept raw"
                    );
                    Ok(raw())
                }
                None => Ok(raw()),
            }
        })
    }

    /// The checks in their order; `decode` turns the decrypted plaintext into `T`.
    fn receive_with<T>(
        &self,
        headers: &SignatureHeaders,
        body: &[u8],
        decode: impl FnOnce(&Notification, &[u8]) -> Result<T, NotificationError>,
    ) -> Result<Delivery<T>, NotificationError> {
        let now = self.clock.now_unix();
        match &self.keys {
            Keys::Fixed(store) => verify_signed(headers, body, now, store)?,
            Keys::Live(current) => verify_signed(headers, body, now, &current())?,
        }
        let notification: Notification =
            serde_json::from_slice(body).map_err(|e| NotificationError::Envelope {
                reason: crate::text::truncate(&e.to_string(), MAX_REASON_CHARS),
            })?;
        let plaintext = decrypt_resource(&self.api_v3_key, &notification.resource)?;
        let resource = decode(&notification, &plaintext)?;
        if let Some(seen) = &self.seen {
            if !seen.first_seen(&notification.id, now) {
                return Ok(Delivery::Duplicate {
                    id: notification.id,
                });
            }
        }
        Ok(Delivery::Fresh(DecryptedNotification {
            notification,
            resource,
        }))
    }

    /// [`receive_signed`](Self::receive_signed) with the headers of an `http` request.
    pub fn receive<T: DeserializeOwned>(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Delivery<T>, NotificationError> {
        let headers = SignatureHeaders::from_header_map(headers).map_err(VerifyError::from)?;
        self.receive_signed(&headers, body)
    }

    /// Verifies the signature over the raw body, then decrypts the resource into `T`.
    ///
    /// With dedup on, a repeated event id is [`NotificationError::Duplicate`]
    /// (check [`NotificationError::is_duplicate`] and answer with success);
    /// [`receive_signed`](Self::receive_signed) reports it as a value instead.
    pub fn verify_and_decrypt<T: DeserializeOwned>(
        &self,
        headers: &SignatureHeaders,
        body: &[u8],
    ) -> Result<DecryptedNotification<T>, NotificationError> {
        match self.receive_signed(headers, body)? {
            Delivery::Fresh(notification) => Ok(notification),
            Delivery::Duplicate { id } => Err(NotificationError::Duplicate { id }),
        }
    }

    /// [`verify_and_decrypt`](Self::verify_and_decrypt) with the headers of an `http` request.
    pub fn handle<T: DeserializeOwned>(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<DecryptedNotification<T>, NotificationError> {
        let headers = SignatureHeaders::from_header_map(headers).map_err(VerifyError::from)?;
        self.verify_and_decrypt(&headers, body)
    }
}

impl fmt::Debug for NotificationHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotificationHandler")
            .field("keys", &self.keys)
            .field("api_v3_key", &self.api_v3_key)
            .field("clock", &self.clock)
            .field("seen_events", &self.seen)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdefghijABCDEFGHIJ01";

    #[test]
    fn round_trips_and_checks_inputs() {
        let key = ApiV3Key::new(KEY).unwrap();
        let res =
            encrypt_resource(&key, "{\"a\":1}".as_bytes(), "nonce1234567", "ad", "t").unwrap();
        assert_eq!(&decrypt_resource(&key, &res).unwrap()[..], b"{\"a\":1}");
        assert_eq!(
            ApiV3Key::new("short").unwrap_err(),
            NotificationError::KeyLength { len: 5 }
        );
        let bad_nonce = EncryptedResource {
            nonce: "short".into(),
            ..res.clone()
        };
        assert_eq!(
            decrypt_resource(&key, &bad_nonce).unwrap_err(),
            NotificationError::NonceLength { len: 5 }
        );
        let short = EncryptedResource {
            ciphertext: BASE64.encode([1u8; 3]),
            ..res.clone()
        };
        assert_eq!(
            decrypt_resource(&key, &short).unwrap_err(),
            NotificationError::Decrypt
        );
        let other_alg = EncryptedResource {
            algorithm: "AES".into(),
            ..res
        };
        assert!(matches!(
            decrypt_resource(&key, &other_alg),
            Err(NotificationError::UnsupportedAlgorithm(_))
        ));
    }

    #[test]
    fn debug_hides_the_key() {
        let key = ApiV3Key::new(KEY).unwrap();
        assert!(!format!("{key:?}").contains("0123456789"));
    }
}
