//! Building, signing and parsing what a request carries: the signed message and
//! the `Authorization` header; and signing a reply, for servers.
//!
//! Everything here is a pure function of its inputs (plus [`generate_nonce`]),
//! so a CLI `sign` command or a sandbox server can reuse it directly.

use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use crate::crypto::{SignError, Signer};
use crate::headers::{SignatureHeaders, SIGNATURE_TYPE};
use crate::text::{parse_unix_seconds, truncate};
use wechatpay_runtime::AuthScheme;

/// Length of a nonce made by [`generate_nonce`].
pub const NONCE_LEN: usize = 32;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The request signing message: `METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n`.
///
/// `url` is the path plus `?query` exactly as sent; `body` is empty for GET.
pub fn request_message(
    method: &str,
    url: &str,
    timestamp: &str,
    nonce: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        method.len() + url.len() + timestamp.len() + nonce.len() + body.len() + 5,
    );
    for part in [
        method.as_bytes(),
        url.as_bytes(),
        timestamp.as_bytes(),
        nonce.as_bytes(),
        body,
    ] {
        out.extend_from_slice(part);
        out.push(b'\n');
    }
    out
}

/// The reply and notification signing message: `TIMESTAMP\nNONCE\nBODY\n`.
pub fn reply_message(timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(timestamp.len() + nonce.len() + body.len() + 3);
    for part in [timestamp.as_bytes(), nonce.as_bytes(), body] {
        out.extend_from_slice(part);
        out.push(b'\n');
    }
    out
}

/// 32 characters of `[0-9A-Za-z]` from the operating system's CSPRNG.
pub fn generate_nonce() -> String {
    let mut out = String::with_capacity(NONCE_LEN);
    let mut buf = [0u8; 48];
    while out.len() < NONCE_LEN {
        // AWS-LC's RAND_bytes aborts rather than fail, so an error here is unreachable.
        aws_lc_rs::rand::fill(&mut buf).expect("the system CSPRNG failed");
        // Rejection sampling keeps the 62 symbols uniform: 248 = 4 * 62.
        for &b in buf.iter().filter(|&&b| b < 248) {
            if out.len() == NONCE_LEN {
                break;
            }
            out.push(char::from(BASE62[usize::from(b % 62)]));
        }
    }
    out
}

/// A parsed or to-be-sent `Authorization` header.
///
/// `Debug` hides the signature; [`Authorization::header_value`] gives the real header.
#[derive(Clone, PartialEq, Eq)]
pub struct Authorization {
    /// Merchant (`WECHATPAY2-SHA256-RSA2048`) or brand (`WECHATPAY-BRAND-SHA256-RSA2048`).
    pub scheme: AuthScheme,
    /// `mchid` or `brand_id`, by scheme.
    pub identity: String,
    /// `nonce_str`.
    pub nonce: String,
    /// `timestamp`, Unix seconds as written (it is part of the signed message).
    pub timestamp: String,
    /// `serial_no`: the API certificate serial number.
    pub serial_no: String,
    /// `signature`, Base64.
    pub signature: String,
}

impl Authorization {
    /// The header value: `SCHEME id="…",nonce_str="…",signature="…",timestamp="…",serial_no="…"`.
    pub fn header_value(&self) -> String {
        authorization_header(
            self.scheme,
            &self.identity,
            &self.serial_no,
            &self.nonce,
            &self.timestamp,
            &self.signature,
        )
    }

    /// The timestamp as a number, when it is one.
    pub fn timestamp_secs(&self) -> Option<i64> {
        parse_unix_seconds(&self.timestamp)
    }

    /// Parses an `Authorization` header value (for a server verifying requests).
    ///
    /// Field order is free and spaces after commas are tolerated; every one of
    /// the five fields must appear exactly once and nothing else may.
    pub fn parse(value: &str) -> Result<Self, AuthorizationError> {
        let value = value.trim();
        let (scheme_word, params) = value
            .split_once(' ')
            .ok_or(AuthorizationError::Malformed("no space after the scheme"))?;
        let scheme = AuthScheme::ON_THE_WIRE
            .into_iter()
            .find(|s| s.scheme() == scheme_word)
            .ok_or(AuthorizationError::UnknownScheme)?;
        let mut fields: [Option<String>; 5] = Default::default();
        let names = [
            scheme.identity_param(),
            "nonce_str",
            "signature",
            "timestamp",
            "serial_no",
        ];
        let mut rest = params.trim_start();
        while !rest.is_empty() {
            let (key, after) = rest
                .split_once("=\"")
                .ok_or(AuthorizationError::Malformed("expected key=\"value\""))?;
            let (val, after) = after
                .split_once('"')
                .ok_or(AuthorizationError::Malformed("unterminated quoted value"))?;
            let key = key.trim();
            let slot = names
                .iter()
                .position(|n| *n == key)
                .ok_or_else(|| AuthorizationError::UnexpectedField(truncate(key, 32)))?;
            if fields[slot].replace(val.to_owned()).is_some() {
                return Err(AuthorizationError::DuplicateField(names[slot]));
            }
            rest = after.trim_start();
            if let Some(next) = rest.strip_prefix(',') {
                rest = next.trim_start();
                if rest.is_empty() {
                    return Err(AuthorizationError::Malformed("trailing comma"));
                }
            } else if !rest.is_empty() {
                return Err(AuthorizationError::Malformed(
                    "expected a comma between fields",
                ));
            }
        }
        let [identity, nonce, signature, timestamp, serial_no] = fields;
        let need = |v: Option<String>, name| v.ok_or(AuthorizationError::MissingField(name));
        Ok(Authorization {
            scheme,
            identity: need(identity, names[0])?,
            nonce: need(nonce, "nonce_str")?,
            signature: need(signature, "signature")?,
            timestamp: need(timestamp, "timestamp")?,
            serial_no: need(serial_no, "serial_no")?,
        })
    }
}

impl fmt::Debug for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorization")
            .field("scheme", &self.scheme)
            .field("identity", &self.identity)
            .field("nonce", &self.nonce)
            .field("timestamp", &self.timestamp)
            .field("serial_no", &self.serial_no)
            .field("signature", &"<redacted>")
            .finish()
    }
}

/// Why an `Authorization` header could not be parsed. Never quotes the header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorizationError {
    /// The scheme word is neither of the two WeChat Pay schemes.
    #[error("Authorization: unknown scheme (expected WECHATPAY2-SHA256-RSA2048 or WECHATPAY-BRAND-SHA256-RSA2048)")]
    UnknownScheme,
    /// The parameter list does not follow `key="value",…`.
    #[error("Authorization: malformed ({0})")]
    Malformed(&'static str),
    /// A required field is absent.
    #[error("Authorization: missing field {0}")]
    MissingField(&'static str),
    /// A field appears twice.
    #[error("Authorization: field {0} appears twice")]
    DuplicateField(&'static str),
    /// A field the scheme does not define (e.g. `mchid` under the brand scheme).
    #[error("Authorization: unexpected field {0:?}")]
    UnexpectedField(String),
}

/// Formats an `Authorization` header value from its parts.
pub fn authorization_header(
    scheme: AuthScheme,
    identity: &str,
    serial_no: &str,
    nonce: &str,
    timestamp: &str,
    signature: &str,
) -> String {
    format!(
        "{} {}=\"{identity}\",nonce_str=\"{nonce}\",signature=\"{signature}\",timestamp=\"{timestamp}\",serial_no=\"{serial_no}\"",
        scheme.scheme(),
        scheme.identity_param(),
    )
}

/// What a request signature covers, besides the signer's identity.
#[derive(Debug, Clone, Copy)]
pub struct RequestToSign<'a> {
    /// `GET`, `POST`, …
    pub method: &'a str,
    /// Path plus `?query`, exactly as sent.
    pub url: &'a str,
    /// The exact body bytes sent (empty for GET).
    pub body: &'a [u8],
    /// Unix seconds.
    pub timestamp: i64,
    /// A fresh nonce, e.g. from [`generate_nonce`].
    pub nonce: &'a str,
}

/// Signs a request and returns its `Authorization` header parts.
pub fn sign_request(
    signer: &dyn Signer,
    scheme: AuthScheme,
    identity: &str,
    serial_no: &str,
    request: &RequestToSign<'_>,
) -> Result<Authorization, SignError> {
    let timestamp = request.timestamp.to_string();
    let message = request_message(
        request.method,
        request.url,
        &timestamp,
        request.nonce,
        request.body,
    );
    let signature = BASE64.encode(signer.sign(&message)?);
    Ok(Authorization {
        scheme,
        identity: identity.to_owned(),
        nonce: request.nonce.to_owned(),
        timestamp,
        serial_no: serial_no.to_owned(),
        signature,
    })
}

/// Signs a reply or notification body the way WeChat Pay does (for a server or
/// sandbox), producing the five `Wechatpay-*` headers.
///
/// `serial` is the public key id (or platform certificate serial) clients know the key by.
pub fn sign_reply(
    signer: &dyn Signer,
    serial: &str,
    timestamp: i64,
    nonce: &str,
    body: &[u8],
) -> Result<SignatureHeaders, SignError> {
    let timestamp = timestamp.to_string();
    let signature = BASE64.encode(signer.sign(&reply_message(&timestamp, nonce, body))?);
    Ok(SignatureHeaders {
        timestamp,
        nonce: nonce.to_owned(),
        signature,
        serial: serial.to_owned(),
        signature_type: SIGNATURE_TYPE.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_message_ends_every_line_with_newline() {
        let m = request_message("GET", "/v3/x?a=1", "1554208460", "N", b"");
        assert_eq!(m, b"GET\n/v3/x?a=1\n1554208460\nN\n\n");
        let m = reply_message("1", "n", "{}".as_bytes());
        assert_eq!(m, b"1\nn\n{}\n");
    }

    #[test]
    fn nonces_are_32_base62_characters_and_differ() {
        let a = generate_nonce();
        let b = generate_nonce();
        assert_eq!(a.len(), NONCE_LEN);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn header_round_trips_for_both_schemes() {
        for scheme in [AuthScheme::Merchant, AuthScheme::Brand] {
            let auth = Authorization {
                scheme,
                identity: "1900009191".into(),
                nonce: "593BEC0C930BF1AFEB40B4A08C8FB242".into(),
                timestamp: "1554208460".into(),
                serial_no: "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C".into(),
                signature: "uOVRnA4qG/MNnYzdQxJanN+zU+lTgIcnU9BxGw5dKjK+VdEUz2FeIoC+D5sB/LN+nGzX3hfZg6r5wT1pl2ZobmIc6p0ldN7J6yDgUzbX8Uk3sD4a4eZVPTBvqNDoUqcYMlZ9uuDdCvNv4TM3c1WzsXUrExwVkI1XO5jCNbgDJ25nkT/c1gIFvqoogl7MdSFGc4W4xZsqCItnqbypR3RuGIlR9h9vlRsy7zJR9PBI83X8alLDIfR1ukt1P7tMnmogZ0cuDY8cZsd8ZlCgLadmvej58SLsIkVxFJ8XyUgx9FmutKSYTmYtWBZ0+tNvfGmbXU7cob8H/4nLBiCwIUFluw==".into(),
            };
            let value = auth.header_value();
            assert!(value.starts_with(&format!(
                "{} {}=\"1900009191\",nonce_str=",
                scheme.scheme(),
                scheme.identity_param()
            )));
            assert!(!value.contains(", "));
            assert_eq!(Authorization::parse(&value), Ok(auth.clone()));
            // Field order is free; a space after a comma is tolerated.
            let shuffled = format!(
                "{} serial_no=\"{}\", timestamp=\"{}\",signature=\"{}\",nonce_str=\"{}\",{}=\"{}\"",
                scheme.scheme(),
                auth.serial_no,
                auth.timestamp,
                auth.signature,
                auth.nonce,
                scheme.identity_param(),
                auth.identity
            );
            assert_eq!(Authorization::parse(&shuffled), Ok(auth));
        }
    }

    #[test]
    fn parse_rejects_what_is_not_a_header() {
        use AuthorizationError::*;
        let ok = "mchid=\"1\",nonce_str=\"n\",signature=\"s\",timestamp=\"1\",serial_no=\"x\"";
        let cases = [
            ("Bearer abc".to_owned(), UnknownScheme),
            (
                "WECHATPAY2-SHA256-RSA2048".to_owned(),
                Malformed("no space after the scheme"),
            ),
            (
                "WECHATPAY-BRAND-SHA256-RSA2048 ".to_owned() + ok,
                UnexpectedField("mchid".into()),
            ),
            (
                format!("WECHATPAY2-SHA256-RSA2048 {ok},mchid=\"2\""),
                DuplicateField("mchid"),
            ),
            (
                "WECHATPAY2-SHA256-RSA2048 mchid=\"1\",nonce_str=\"n\"".to_owned(),
                MissingField("signature"),
            ),
            (
                "WECHATPAY2-SHA256-RSA2048 mchid=\"1".to_owned(),
                Malformed("unterminated quoted value"),
            ),
            (
                format!("WECHATPAY2-SHA256-RSA2048 {ok},"),
                Malformed("trailing comma"),
            ),
        ];
        for (header, expected) in cases {
            assert_eq!(Authorization::parse(&header), Err(expected), "{header}");
        }
    }

    #[test]
    fn debug_hides_the_signature() {
        let auth = Authorization::parse(
            "WECHATPAY2-SHA256-RSA2048 mchid=\"1\",nonce_str=\"n\",signature=\"SECRETSIG\",timestamp=\"1\",serial_no=\"x\"",
        )
        .unwrap();
        assert!(!format!("{auth:?}").contains("SECRETSIG"));
    }
}
