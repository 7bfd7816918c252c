//! Verifying signed replies and notifications (client side) and signed
//! requests (server side).
//!
//! The rules, in the order they are checked: all five headers present and
//! well-formed (the client fills a missing `Wechatpay-Signature-Type` with its
//! request's scheme, see
//! [`SignatureHeaders::from_header_map_assuming`]); a known signature type; a timestamp less than 300 s away from
//! now; a serial the [`PublicKeyStore`] knows; not a `WECHATPAY/SIGNTEST/`
//! probe; valid Base64; a signature that verifies over
//! `TIMESTAMP\nNONCE\nBODY\n` with the raw body.
//!
//! Verifying a reply with the headers of any `http` response (reqwest, hyper,
//! axum) and its raw body:
//!
//! ```no_run
//! use http::{HeaderMap, HeaderName, HeaderValue};
//! use wechatpay_protocol::verify::{verify_reply, VerifyError};
//! use wechatpay_protocol::PublicKeyStore;
//! let pub_pem = std::fs::read_to_string("wxp_pub.pem")?;
//! # let key_pem = std::fs::read_to_string("wxp_key.pem")?;
//! # let signer = wechatpay_protocol::crypto::signer_from_pem(&key_pem)?;
//! # let now = 1_735_689_600;
//! # let body = br#"{"coupon_code":"C1"}"#;
//! # let signed = wechatpay_protocol::sign::sign_reply(
//! #     signer.as_ref(), "PUB_KEY_ID_0119000000012025010100000000000000", now, "N1", body)?;
//! # let mut headers = HeaderMap::new();
//! # for (name, value) in signed.pairs() {
//! #     headers.insert(HeaderName::from_bytes(name.as_bytes())?, HeaderValue::from_str(value)?);
//! # }
//! // pub_pem: the WeChat Pay public key, read from its PEM file.
//! let mut keys = PublicKeyStore::new();
//! keys.add_public_key_pem("PUB_KEY_ID_0119000000012025010100000000000000", &pub_pem)?;
//! // `headers` and `body` as received; `now` in Unix seconds.
//! let checked = verify_reply(&headers, body, now, &keys)?;
//! assert_eq!(checked.nonce, "N1");
//! // Any change to the body is refused.
//! assert_eq!(
//!     verify_reply(&headers, br#"{"coupon_code":"C2"}"#, now, &keys),
//!     Err(VerifyError::BadSignature)
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use http::HeaderMap;
use wechatpay_runtime::AuthScheme;

use crate::crypto::Verifier;
use crate::headers::{HeaderError, SignatureHeaders, WECHATPAY_TIMESTAMP};
use crate::keystore::PublicKeyStore;
use crate::sign::{reply_message, request_message, Authorization};
use crate::text::{parse_unix_seconds, truncate};

/// A signature is stale or from the future when it is this many seconds or more away from now.
pub const MAX_CLOCK_SKEW_SECS: u64 = 300;

/// Signatures starting with this are WeChat Pay's probes of a client's checks; they never verify.
pub const PROBE_SIGNATURE_PREFIX: &str = "WECHATPAY/SIGNTEST/";

/// Which check a signed message failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A signature header (or `Authorization`'s timestamp) is absent or unusable.
    ///
    /// Transparent: its message is the [`HeaderError`]'s own ("missing header
    /// Wechatpay-Nonce"), so it is not repeated down the `source()` chain.
    #[error(transparent)]
    Header(#[from] HeaderError),
    /// `Wechatpay-Signature-Type` names a scheme this crate does not verify.
    #[error("unsupported signature type {0:?}")]
    UnsupportedSignatureType(String),
    /// The timestamp is 300 s or more away from now.
    #[error(
        "timestamp {timestamp} is {skew_secs} s away from now ({now}); the limit is under 300 s"
    )]
    TimestampSkew {
        /// The signed timestamp, Unix seconds.
        timestamp: i64,
        /// The verifier's clock, Unix seconds.
        now: i64,
        /// How far apart they are.
        skew_secs: u64,
    },
    /// No configured public key id or platform certificate has this serial.
    #[error(
        "unknown serial {0:?}: no public key id or platform certificate by that name is configured"
    )]
    UnknownSerial(String),
    /// A `WECHATPAY/SIGNTEST/` probe signature.
    #[error("probe signature (WECHATPAY/SIGNTEST/…) rejected")]
    ProbeSignature,
    /// The signature is not valid Base64.
    #[error("signature is not valid Base64")]
    BadBase64,
    /// The signature does not match the message.
    #[error("signature does not match the signed message")]
    BadSignature,
}

/// Checks that a timestamp is decimal Unix seconds less than 300 s from `now`.
pub fn check_timestamp(
    timestamp: &str,
    now: i64,
    header: &'static str,
) -> Result<i64, VerifyError> {
    let ts = parse_unix_seconds(timestamp).ok_or(HeaderError::Malformed {
        header,
        reason: "not decimal Unix seconds",
    })?;
    let skew_secs = now.abs_diff(ts);
    if skew_secs >= MAX_CLOCK_SKEW_SECS {
        return Err(VerifyError::TimestampSkew {
            timestamp: ts,
            now,
            skew_secs,
        });
    }
    Ok(ts)
}

/// Checks a Base64 signature over `message`: probe prefix, Base64, then the signature itself.
pub fn verify_base64_signature(
    verifier: &dyn Verifier,
    message: &[u8],
    signature: &str,
) -> Result<(), VerifyError> {
    if signature.starts_with(PROBE_SIGNATURE_PREFIX) {
        return Err(VerifyError::ProbeSignature);
    }
    let raw = BASE64
        .decode(signature)
        .map_err(|_| VerifyError::BadBase64)?;
    if verifier.verify(message, &raw) {
        Ok(())
    } else {
        Err(VerifyError::BadSignature)
    }
}

/// Verifies a reply or notification from its signature headers and raw body.
///
/// Nonces are not tracked: two replies that carry the same
/// `Wechatpay-Nonce` within the ±300 s window both pass. WeChat Pay does not
/// promise unique reply nonces, so rejecting a repeat could reject genuine
/// replies; the timestamp window is what bounds a replay. Repeated
/// *notifications* are caught by event id instead, with dedup on
/// ([`NotificationHandler::with_dedup`](crate::NotificationHandler::with_dedup)).
pub fn verify_signed(
    headers: &SignatureHeaders,
    body: &[u8],
    now: i64,
    keys: &PublicKeyStore,
) -> Result<(), VerifyError> {
    let known_type = AuthScheme::ON_THE_WIRE
        .iter()
        .any(|s| s.scheme() == headers.signature_type);
    if !known_type {
        return Err(VerifyError::UnsupportedSignatureType(truncate(
            &headers.signature_type,
            64,
        )));
    }
    check_timestamp(&headers.timestamp, now, WECHATPAY_TIMESTAMP)?;
    let verifier = keys
        .verifier(&headers.serial)
        .ok_or_else(|| VerifyError::UnknownSerial(truncate(&headers.serial, 64)))?;
    let message = reply_message(&headers.timestamp, &headers.nonce, body);
    verify_base64_signature(verifier.as_ref(), &message, &headers.signature)
}

/// Verifies a reply or notification given its `http` headers; returns the headers it checked.
///
/// As with [`verify_signed`], a reused nonce is accepted.
pub fn verify_reply(
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
    keys: &PublicKeyStore,
) -> Result<SignatureHeaders, VerifyError> {
    let signature = SignatureHeaders::from_header_map(headers)?;
    verify_signed(&signature, body, now, keys)?;
    Ok(signature)
}

/// Server side: verifies a request's signature from its parsed `Authorization`.
///
/// `url` is the path plus `?query` as received and `body` the raw body. The
/// caller picks `verifier` from `auth.identity` and `auth.serial_no` (the
/// merchant's API certificate) and checks those belong together.
pub fn verify_request(
    auth: &Authorization,
    method: &str,
    url: &str,
    body: &[u8],
    now: i64,
    verifier: &dyn Verifier,
) -> Result<(), VerifyError> {
    const HEADER: &str = "Authorization";
    check_timestamp(&auth.timestamp, now, HEADER)?;
    let message = request_message(method, url, &auth.timestamp, &auth.nonce, body);
    verify_base64_signature(verifier, &message, &auth.signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_limit_is_exclusive_of_300_seconds() {
        assert_eq!(check_timestamp("1000", 1299, "h"), Ok(1000));
        assert_eq!(check_timestamp("1299", 1000, "h"), Ok(1299));
        assert!(matches!(
            check_timestamp("1000", 1300, "h"),
            Err(VerifyError::TimestampSkew { skew_secs: 300, .. })
        ));
        assert!(matches!(
            check_timestamp("1300", 1000, "h"),
            Err(VerifyError::TimestampSkew { skew_secs: 300, .. })
        ));
        assert!(matches!(
            check_timestamp("99999999999999", i64::MIN, "h"),
            Err(VerifyError::TimestampSkew { .. })
        ));
        assert!(matches!(
            check_timestamp("12a", 0, "h"),
            Err(VerifyError::Header(HeaderError::Malformed { .. }))
        ));
    }

    #[test]
    fn missing_signature_type_is_named() {
        let headers = HeaderMap::new();
        assert_eq!(
            verify_reply(&headers, b"", 0, &PublicKeyStore::new()),
            Err(VerifyError::Header(HeaderError::Missing(
                WECHATPAY_TIMESTAMP
            )))
        );
    }
}
