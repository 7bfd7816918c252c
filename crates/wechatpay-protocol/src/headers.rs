//! Header names and the five `Wechatpay-*` signature headers of a reply or notification.

use http::HeaderMap;

/// `Wechatpay-Timestamp`: Unix seconds when the reply was signed.
pub const WECHATPAY_TIMESTAMP: &str = "Wechatpay-Timestamp";
/// `Wechatpay-Nonce`: the reply's random string.
pub const WECHATPAY_NONCE: &str = "Wechatpay-Nonce";
/// `Wechatpay-Signature`: Base64 SHA256withRSA signature.
pub const WECHATPAY_SIGNATURE: &str = "Wechatpay-Signature";
/// `Wechatpay-Serial`: the public key id or platform certificate serial that signed;
/// on a request, the key the client expects replies (and encrypted fields) to use.
pub const WECHATPAY_SERIAL: &str = "Wechatpay-Serial";
/// `Wechatpay-Signature-Type`: the signature scheme.
pub const WECHATPAY_SIGNATURE_TYPE: &str = "Wechatpay-Signature-Type";
/// `Request-ID`: WeChat Pay's id for a request, worth keeping for support.
pub const REQUEST_ID: &str = "Request-ID";

/// The signature type WeChat Pay writes on replies and notifications.
pub const SIGNATURE_TYPE: &str = "WECHATPAY2-SHA256-RSA2048";

/// The five headers every signed reply and notification carries, in this order.
pub const SIGNATURE_HEADERS: [&str; 5] = [
    WECHATPAY_TIMESTAMP,
    WECHATPAY_NONCE,
    WECHATPAY_SIGNATURE,
    WECHATPAY_SERIAL,
    WECHATPAY_SIGNATURE_TYPE,
];

/// A signature header that is absent or unusable.
///
/// [`VerifyError::Header`](crate::verify::VerifyError::Header) carries it when
/// a reply, notification or request is verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// A required signature header is absent.
    #[error("missing header {0}")]
    Missing(&'static str),
    /// A header is present but unusable.
    #[error("malformed header {header}: {reason}")]
    Malformed {
        /// The header's name, as in [`SIGNATURE_HEADERS`].
        header: &'static str,
        /// What is wrong with its value.
        reason: &'static str,
    },
}

/// The values of the five signature headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeaders {
    /// `Wechatpay-Timestamp`, exactly as sent (it is part of the signed message).
    pub timestamp: String,
    /// `Wechatpay-Nonce`.
    pub nonce: String,
    /// `Wechatpay-Signature` (Base64).
    pub signature: String,
    /// `Wechatpay-Serial`.
    pub serial: String,
    /// `Wechatpay-Signature-Type`.
    pub signature_type: String,
}

impl SignatureHeaders {
    /// Collects the five headers through `get`, which is asked for each name in
    /// [`SIGNATURE_HEADERS`] and should match names case-insensitively.
    pub fn from_lookup<'a>(
        mut get: impl FnMut(&'static str) -> Option<&'a str>,
    ) -> Result<Self, HeaderError> {
        let mut take = |name: &'static str| -> Result<String, HeaderError> {
            match get(name) {
                None => Err(HeaderError::Missing(name)),
                Some(v) if v.trim().is_empty() => Err(HeaderError::Malformed {
                    header: name,
                    reason: "empty",
                }),
                Some(v) => Ok(v.to_owned()),
            }
        };
        Ok(SignatureHeaders {
            timestamp: take(WECHATPAY_TIMESTAMP)?,
            nonce: take(WECHATPAY_NONCE)?,
            signature: take(WECHATPAY_SIGNATURE)?,
            serial: take(WECHATPAY_SERIAL)?,
            signature_type: take(WECHATPAY_SIGNATURE_TYPE)?,
        })
    }

    /// Collects the five headers from an `http` header map (reqwest, hyper, axum).
    pub fn from_header_map(headers: &HeaderMap) -> Result<Self, HeaderError> {
        Self::collect(headers, None)
    }

    /// Like [`from_header_map`](Self::from_header_map), but a reply without
    /// `Wechatpay-Signature-Type` is taken to use `assumed_type` (the scheme
    /// of the request it answers), as wechatpay-java and wechatpay-go do and
    /// as WeChat Pay's brand sample, which ignores the header, implies. A
    /// value that is present is used as sent, so an unknown one is still refused.
    pub fn from_header_map_assuming(
        headers: &HeaderMap,
        assumed_type: &str,
    ) -> Result<Self, HeaderError> {
        Self::collect(headers, Some(assumed_type))
    }

    fn collect(headers: &HeaderMap, assumed_type: Option<&str>) -> Result<Self, HeaderError> {
        for name in SIGNATURE_HEADERS {
            let mut values = headers.get_all(name).iter();
            if let Some(value) = values.next() {
                if values.next().is_some() {
                    return Err(HeaderError::Malformed {
                        header: name,
                        reason: "repeated",
                    });
                }
                if value.to_str().is_err() {
                    return Err(HeaderError::Malformed {
                        header: name,
                        reason: "not visible ASCII",
                    });
                }
            }
        }
        Self::from_lookup(|name| {
            let value = headers.get(name).and_then(|v| v.to_str().ok());
            match value {
                None if name == WECHATPAY_SIGNATURE_TYPE => assumed_type,
                other => other,
            }
        })
    }

    /// Whether `headers` carries any of the five signature headers.
    pub fn any_present(headers: &HeaderMap) -> bool {
        SIGNATURE_HEADERS.iter().any(|n| headers.contains_key(*n))
    }

    /// `(name, value)` pairs in [`SIGNATURE_HEADERS`] order, for a server to send.
    pub fn pairs(&self) -> [(&'static str, &str); 5] {
        [
            (WECHATPAY_TIMESTAMP, &self.timestamp),
            (WECHATPAY_NONCE, &self.nonce),
            (WECHATPAY_SIGNATURE, &self.signature),
            (WECHATPAY_SERIAL, &self.serial),
            (WECHATPAY_SIGNATURE_TYPE, &self.signature_type),
        ]
    }
}
