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

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use reqwest::header::HeaderMap;

use crate::crypto::Verifier;
use crate::endpoint::AuthScheme;
use crate::headers::{SignatureHeaders, WECHATPAY_TIMESTAMP};
use crate::keystore::PublicKeyStore;
use crate::sign::{parse_unix_seconds, reply_message, request_message, truncate, Authorization};

/// A signature is stale or from the future when it is this many seconds or more away from now.
pub const MAX_CLOCK_SKEW_SECS: u64 = 300;

/// Signatures starting with this are WeChat Pay's probes of a client's checks; they never verify.
pub const PROBE_SIGNATURE_PREFIX: &str = "WECHATPAY/SIGNTEST/";

/// Which check a signed message failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A required signature header is absent.
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// A header is present but unusable.
    #[error("malformed header {header}: {reason}")]
    MalformedHeader {
        header: &'static str,
        reason: &'static str,
    },
    /// `Wechatpay-Signature-Type` names a scheme this crate does not verify.
    #[error("unsupported signature type {0:?}")]
    UnsupportedSignatureType(String),
    /// The timestamp is 300 s or more away from now.
    #[error(
        "timestamp {timestamp} is {skew_secs} s away from now ({now}); the limit is under 300 s"
    )]
    TimestampSkew {
        timestamp: i64,
        now: i64,
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
    let ts = parse_unix_seconds(timestamp).ok_or(VerifyError::MalformedHeader {
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
    let known_type = [AuthScheme::Merchant, AuthScheme::Brand]
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
            Err(VerifyError::MalformedHeader { .. })
        ));
    }

    #[test]
    fn missing_signature_type_is_named() {
        let headers = HeaderMap::new();
        assert_eq!(
            verify_reply(&headers, b"", 0, &PublicKeyStore::new()),
            Err(VerifyError::MissingHeader(
                crate::headers::WECHATPAY_TIMESTAMP
            ))
        );
    }
}
