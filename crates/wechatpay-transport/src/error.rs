//! The one error type of a call, with variants a caller can act on.
//!
//! None of these types hold key material, the `Authorization` header or a
//! request body. Reply bodies appear in messages (`Display`, `Debug`) only as a
//! bounded snippet; the one body kept whole is a verified reply's that did not
//! decode ([`DecodeError::verified_body`]), for the caller to read.

use std::fmt;

use serde_json::Value;
use wechatpay_runtime::Violations;

use crate::crypto::SignError;
use crate::keys::KeyError;
use crate::sign::truncate;
use crate::verify::VerifyError;
use wechatpay_runtime::{AuthScheme, ErrorCode};

/// An error code as the reply wrote it, for callers that only know an
/// operation id at run time (see [`crate::Client::execute_raw`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawCode(pub String);

impl ErrorCode for RawCode {
    fn from_code(code: &str) -> Self {
        RawCode(code.to_owned())
    }

    fn code(&self) -> &str {
        &self.0
    }
}

/// A client that cannot be built or used as configured; nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required setting is absent.
    #[error("{0} is required")]
    Missing(&'static str),
    /// Key material could not be loaded.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A setting has a value that cannot go into a header.
    #[error("{what}: {reason}")]
    InvalidValue {
        /// What was rejected: a setting (e.g. `proxy`), a header
        /// (e.g. `Authorization`), or the operation id whose body is wrong.
        what: &'static str,
        /// Why it was rejected, e.g. `must not be empty`.
        reason: &'static str,
    },
    /// A base URL does not parse or is not http(s).
    #[error("{what} {url:?}: {reason}")]
    InvalidUrl {
        /// Which URL setting was rejected: `base URL`, `backup URL` or `proxy`.
        what: &'static str,
        /// The URL as given; a proxy URL has its credentials redacted.
        url: String,
        /// Why it was rejected: the parser's message or the rule it breaks.
        reason: String,
    },
    /// Brand APIs use public-key mode only.
    #[error("brand APIs need the WeChat Pay public key (public key id + public key); platform certificates are not accepted there")]
    BrandNeedsPublicKey,
    /// The serial chosen for `Wechatpay-Serial` is not among the configured keys.
    #[error(
        "Wechatpay-Serial {0:?} is not a configured public key id or platform certificate serial"
    )]
    UnknownRequestSerial(String),
    /// The endpoint's auth scheme does not match the configured identity.
    #[error("{operation} is a {} API but the client is configured for a {} ({})", .needs.family(), .configured.family(), configured.identity_param())]
    SchemeMismatch {
        /// The id of the operation that was called.
        operation: &'static str,
        /// The auth scheme the operation's endpoint requires.
        needs: AuthScheme,
        /// The auth scheme of the client's configured [`Identity`](crate::Identity).
        configured: AuthScheme,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(String),
}

/// How a request failed at the network level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkErrorKind {
    /// No connection could be made (DNS, refused, TLS handshake): nothing was sent.
    Connect,
    /// The request or reply took longer than the configured timeout.
    Timeout,
    /// The connection broke while sending or reading.
    Other,
}

impl fmt::Display for NetworkErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NetworkErrorKind::Connect => "connect",
            NetworkErrorKind::Timeout => "timeout",
            NetworkErrorKind::Other => "connection",
        })
    }
}

/// A network failure on the last attempt.
///
/// `Display` is this error's own sentence (what failed, where, after how many
/// attempts, whether the request may have reached the server); the underlying
/// causes (`connection refused`, the TLS alert, …) are its
/// [`source`](std::error::Error::source) chain, each printed once by a
/// report such as [`ErrorChain`].
#[derive(Debug, thiserror::Error)]
#[error(
    "{kind} error talking to {host} after {attempts} attempt(s); the request {}",
    if *.may_have_reached_server { "may have reached the server" } else { "did not reach the server" },
)]
pub struct NetworkError {
    /// What went wrong.
    pub kind: NetworkErrorKind,
    /// False only when the client can prove no attempt of this call reached
    /// the server (every attempt failed to connect).
    pub may_have_reached_server: bool,
    /// The base URL of the host that failed.
    pub host: String,
    /// How many attempts were made in all.
    pub attempts: u32,
    /// The underlying error.
    #[source]
    pub source: reqwest::Error,
}

/// An error and its [`source`](std::error::Error::source) chain on one line:
/// `message: cause: cause…`, each cause once (a cause whose text its parent
/// already printed is skipped), bounded. Every error of this crate prints
/// only its own sentence in `Display`; this is how to print the whole story.
///
/// ```
/// # use wechatpay_transport::error::ErrorChain;
/// let io = std::io::Error::other("connection refused");
/// assert_eq!(ErrorChain(&io).to_string(), "connection refused");
/// ```
#[derive(Clone, Copy)]
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let printed = wechatpay_protocol::text::error_chain(self.0);
        f.write_str(&truncate(&printed, 4 * MAX_REASON_CHARS))
    }
}

impl fmt::Debug for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// An error reply from WeChat Pay: `{"code": …, "message": …, "detail": …}`,
/// read with [`ErrorBody::parse`], so every string here is bounded.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError<C> {
    /// HTTP status.
    pub status: u16,
    /// The typed code (unknown codes are kept by the endpoint's fallback variant).
    pub code: C,
    /// The code exactly as the reply wrote it (empty if the body was not JSON).
    pub raw_code: String,
    /// The reply's message (or a bounded snippet of a non-JSON body).
    pub message: String,
    /// The reply's `detail`, if any. A 401 `SIGN_ERROR` detail carries the
    /// message the server expected to be signed.
    pub detail: Option<Value>,
    /// The `Request-ID` header.
    pub request_id: Option<String>,
    /// Whether the reply carried signature headers that verified.
    pub verified: bool,
    /// How many attempts were made in all.
    pub attempts: u32,
    /// The `Location` header of a redirect (3xx), bounded. Redirects are
    /// never followed: the signature covers the URL it was made for.
    pub location: Option<String>,
}

impl<C> fmt::Display for ApiError<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "HTTP {} {}: {}",
            self.status, self.raw_code, self.message
        )?;
        if let Some(location) = &self.location {
            write!(f, " (redirect to {location}, not followed)")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (Request-ID: {id})")?;
        }
        Ok(())
    }
}

/// A 2xx reply that verified but did not decode into the operation's response
/// type (a field the type requires is missing, a value has another type).
///
/// WeChat Pay signed this body and the signature checked out, so the request
/// took effect: only the SDK's response type cannot hold the answer. The whole
/// body, exactly as signed, is kept ([`verified_body`](Self::verified_body)) so
/// a caller can still read what the server answered (a coupon code, a state)
/// instead of sending the request again. `Display` and `Debug` show only a
/// bounded [`snippet`](Self::snippet) of it.
///
/// Only [`VerifiedReply::json`](crate::VerifiedReply::json) (and `into_json`)
/// makes one, and the client hands out a `VerifiedReply` only for a 2xx reply
/// whose signature verified: error replies ([`ErrorKind::Api`], read leniently, never
/// decoded) and replies that do not verify ([`ErrorKind::Verification`],
/// [`ErrorKind::OutcomeUnknown`]) never become a `DecodeError`. (A `VerifiedReply`
/// built by hand, as a test may do, is only as verified as its maker.)
///
/// The fields sit behind one box so that carrying the body does not make every
/// [`Error`] larger.
#[derive(Clone, PartialEq, Eq)]
pub struct DecodeError(Box<DecodeErrorParts>);

#[derive(Clone, PartialEq, Eq)]
struct DecodeErrorParts {
    status: u16,
    request_id: Option<String>,
    reason: String,
    body: Vec<u8>,
}

impl DecodeError {
    /// `body` must be the body of a reply whose signature verified.
    pub(crate) fn from_verified(
        status: u16,
        request_id: Option<String>,
        reason: String,
        body: Vec<u8>,
    ) -> Self {
        DecodeError(Box::new(DecodeErrorParts {
            status,
            request_id,
            reason,
            body,
        }))
    }

    /// HTTP status (2xx).
    pub fn status(&self) -> u16 {
        self.0.status
    }

    /// The `Request-ID` header (at most [`MAX_REASON_CHARS`] characters).
    pub fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }

    /// The decoder's message (serde's, at most [`MAX_REASON_CHARS`] characters):
    /// what is missing or has the wrong type, and where.
    pub fn reason(&self) -> &str {
        &self.0.reason
    }

    /// The whole reply body, byte for byte as WeChat Pay signed it and as it
    /// verified (not only the snippet `Display` shows).
    pub fn verified_body(&self) -> &[u8] {
        &self.0.body
    }

    /// The verified body, taken out of the error.
    pub fn into_verified_body(self) -> Vec<u8> {
        self.0.body
    }

    /// The first bytes of the body ([`SNIPPET_LEN`] at most), lossily as text,
    /// ending in `…` when cut.
    pub fn snippet(&self) -> String {
        snippet(&self.0.body)
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "HTTP {} reply verified but does not decode: {}; body ({} bytes) starts {:?}",
            self.0.status,
            self.0.reason,
            self.0.body.len(),
            self.snippet()
        )?;
        if let Some(id) = &self.0.request_id {
            write!(f, " (Request-ID: {id})")?;
        }
        Ok(())
    }
}

/// Like `Display`: a snippet, never the whole body.
impl fmt::Debug for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecodeError")
            .field("status", &self.0.status)
            .field("request_id", &self.0.request_id)
            .field("reason", &self.0.reason)
            .field("body_len", &self.0.body.len())
            .field("snippet", &self.snippet())
            .finish()
    }
}

impl std::error::Error for DecodeError {}

impl<C: fmt::Debug> std::error::Error for ApiError<C> {}

/// How much of a body error messages quote.
pub const SNIPPET_LEN: usize = 256;

/// At most [`SNIPPET_LEN`] bytes of `body`, lossily as text.
pub(crate) fn snippet(body: &[u8]) -> String {
    let cut = &body[..body.len().min(SNIPPET_LEN)];
    let mut s = String::from_utf8_lossy(cut).into_owned();
    if body.len() > SNIPPET_LEN {
        s.push('…');
    }
    s
}

/// How many characters of an error reply's `code` are kept.
pub const MAX_CODE_CHARS: usize = 64;
/// How many characters of an error reply's `message` are kept.
pub const MAX_MESSAGE_CHARS: usize = 512;
/// The largest `detail` (as compact JSON) kept; a larger one is dropped.
pub const MAX_DETAIL_BYTES: usize = 16 * 1024;
/// How many characters of a decoder's message, or a `Request-ID`, errors keep.
pub const MAX_REASON_CHARS: usize = 256;

/// An error reply body, `{"code": …, "message": …, "detail": …}`, read
/// leniently and bounded, whatever the server sent.
///
/// - A JSON object: `code` (a string, or a number or boolean written out) up
///   to [`MAX_CODE_CHARS`]; `message` up to [`MAX_MESSAGE_CHARS`] (a
///   non-string message is written as compact JSON); `detail` when its
///   compact JSON is at most [`MAX_DETAIL_BYTES`]. Other fields are ignored.
/// - Anything else (not JSON, a JSON array or string, nesting deeper than
///   the JSON parser allows): empty `code`, and `message` is a
///   [`SNIPPET_LEN`]-byte snippet of the body.
///
/// Cut strings end in `…`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ErrorBody {
    /// The `code`, or empty.
    pub code: String,
    /// The `message`, or a snippet of a body that is not a JSON object.
    pub message: String,
    /// The `detail`, when present and not too large.
    pub detail: Option<Value>,
}

impl ErrorBody {
    /// Reads an error reply body; never fails and never panics.
    pub fn parse(body: &[u8]) -> ErrorBody {
        let Ok(Value::Object(mut fields)) = serde_json::from_slice::<Value>(body) else {
            return ErrorBody {
                code: String::new(),
                message: snippet(body),
                detail: None,
            };
        };
        let text = |value: Option<Value>, max: usize| match value {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => truncate(&s, max),
            Some(other) => truncate(&bounded_json(&other, max.saturating_mul(4)), max),
        };
        let code = match fields.remove("code") {
            Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => {
                text(Some(v), MAX_CODE_CHARS)
            }
            _ => String::new(),
        };
        let message = text(fields.remove("message"), MAX_MESSAGE_CHARS);
        let detail = fields
            .remove("detail")
            .filter(|d| !d.is_null() && json_len_at_most(d, MAX_DETAIL_BYTES));
        ErrorBody {
            code,
            message,
            detail,
        }
    }
}

/// Compact JSON of `value`, cut after about `max` bytes without writing more.
fn bounded_json(value: &Value, max: usize) -> String {
    let mut out = Limited {
        buf: Vec::new(),
        max,
    };
    // Errors only when the limit is hit; what was written so far is kept.
    let _ = serde_json::to_writer(&mut out, value);
    String::from_utf8_lossy(&out.buf).into_owned()
}

/// Whether `value` as compact JSON is at most `max` bytes (stops counting past `max`).
fn json_len_at_most(value: &Value, max: usize) -> bool {
    let mut out = Limited {
        buf: Vec::new(),
        max: max + 1,
    };
    serde_json::to_writer(&mut out, value).is_ok() && out.buf.len() <= max
}

struct Limited {
    buf: Vec<u8>,
    max: usize,
}

impl std::io::Write for Limited {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let room = self.max - self.buf.len();
        if room == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        let n = data.len().min(room);
        self.buf.extend_from_slice(&data[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything that can go wrong in one call: one pointer wide (the
/// [`ErrorKind`] sits behind a box), so a `Result<T, Error<C>>` costs little
/// more than a `T`.
///
/// Match on [`kind`](Self::kind) (or [`into_kind`](Self::into_kind)) for
/// what went wrong; [`request_id`](Self::request_id),
/// [`api_error`](Self::api_error) and [`nothing_sent`](Self::nothing_sent)
/// answer the usual questions directly. `Display` is the error's own
/// sentence; causes are its [`source`](std::error::Error::source) chain
/// ([`ErrorChain`] prints both).
pub struct Error<C: ErrorCode = RawCode>(Box<ErrorKind<C>>);

/// What went wrong in a call ([`Error::kind`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind<C: ErrorCode = RawCode> {
    /// The request broke the schema's rules; nothing was sent.
    #[error("invalid request: {0}")]
    Validation(Violations),
    /// The client is misconfigured for this call; nothing was sent.
    #[error(transparent)]
    Config(ConfigError),
    /// The request body could not be serialized; nothing was sent.
    #[error("cannot encode the request body")]
    Encode(#[source] serde_json::Error),
    /// The path is not one the client can send unchanged; nothing was sent.
    #[error("invalid request path {path:?}: {reason}")]
    InvalidPath {
        /// The path and query as given (truncated to 200 characters).
        path: String,
        /// Which rule it breaks, e.g. `must start with '/'`.
        reason: &'static str,
    },
    /// The signer failed; nothing was sent.
    #[error(transparent)]
    Sign(SignError),
    /// The server could not be reached, or the connection failed.
    #[error(transparent)]
    Network(NetworkError),
    /// WeChat Pay answered with an error.
    #[error("API error: {0}")]
    Api(ApiError<C>),
    /// The reply's signature did not check out; its body must not be trusted.
    #[error("reply verification failed (HTTP {status}): {error}")]
    Verification {
        /// Why the reply's signature was rejected.
        error: VerifyError,
        /// The HTTP status code of the rejected reply.
        status: u16,
        /// The rejected reply's `Request-ID` header, if it had one.
        request_id: Option<String>,
    },
    /// A 2xx reply did not verify, and neither did the reply to the one
    /// resend (see [`ClientBuilder::resend_unverified_success`]): the server
    /// acted on the request, but what it answered cannot be trusted.
    ///
    /// [`ClientBuilder::resend_unverified_success`]: crate::ClientBuilder::resend_unverified_success
    #[error(
        "the outcome is unknown: the HTTP {status} reply did not verify ({error}), and neither did the reply to the same request sent again; the request may have taken effect. Send it again with the same {request_number_field} (the same number returns the original result, never a second one), or query the result; do not use a new number"
    )]
    OutcomeUnknown {
        /// Why the last reply was rejected.
        error: VerifyError,
        /// The HTTP status code of the first reply that did not verify.
        status: u16,
        /// The `Request-ID` header of the first reply that did not verify, if
        /// it had one.
        request_id: Option<String>,
        /// The body field holding the request number, e.g. `out_request_no`.
        request_number_field: String,
        /// How many attempts were made in all, the resend included.
        attempts: u32,
    },
    /// A 2xx reply verified but did not decode into the response type: the
    /// request took effect, and [`DecodeError::verified_body`] holds what the
    /// server answered.
    #[error(transparent)]
    Decode(DecodeError),
    /// The reply body is larger than the configured limit.
    #[error("reply body exceeds the {limit}-byte limit (HTTP {status}); the request reached the server and may have taken effect")]
    BodyTooLarge {
        /// The configured limit in bytes
        /// ([`ClientBuilder::max_reply_bytes`](crate::ClientBuilder::max_reply_bytes)).
        limit: usize,
        /// The HTTP status code of the oversized reply.
        status: u16,
        /// The oversized reply's `Request-ID` header, if it had one.
        request_id: Option<String>,
    },
    /// The HTTP request could not be built from what was asked (reqwest's
    /// builder refused it); nothing was sent, and sending again cannot help.
    /// Why is the `source`.
    #[error("the request cannot be sent as built; nothing was sent")]
    Unsendable {
        /// reqwest's builder error saying why the request could not be built.
        #[source]
        source: reqwest::Error,
    },
    /// The caller's HTTP client ([`ClientBuilder::http_client`]) followed a
    /// redirect: a request signed for one URL went on to another. The request
    /// reached the server and may have taken effect; build that client with
    /// `redirect(reqwest::redirect::Policy::none())`.
    ///
    /// [`ClientBuilder::http_client`]: crate::ClientBuilder::http_client
    #[error("the HTTP client followed a redirect to {to}; a signed request must not be redirected (build the client given to ClientBuilder::http_client with redirect::Policy::none()); the request reached the server and may have taken effect")]
    Redirected {
        /// Where the reply came from (bounded).
        to: String,
    },
    /// A list operation's reply named a next-page token already sent in this walk;
    /// following it would never end.
    #[error("the reply's next page token {token:?} was already requested; stopping the page walk")]
    RepeatedPageToken {
        /// The next-page token the reply repeated.
        token: String,
    },
    /// The platform certificate download verified but its content is unusable.
    #[error(transparent)]
    Certificates(crate::certificates::CertificateError),
}

impl<C: ErrorCode> Error<C> {
    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind<C> {
        &self.0
    }

    /// What went wrong, taken out of the error.
    pub fn into_kind(self) -> ErrorKind<C> {
        *self.0
    }

    /// The reply's `Request-ID`, when a reply was received.
    pub fn request_id(&self) -> Option<&str> {
        match self.kind() {
            ErrorKind::Api(e) => e.request_id.as_deref(),
            ErrorKind::Verification { request_id, .. }
            | ErrorKind::BodyTooLarge { request_id, .. }
            | ErrorKind::OutcomeUnknown { request_id, .. } => request_id.as_deref(),
            ErrorKind::Decode(e) => e.request_id(),
            _ => None,
        }
    }

    /// The API error, if WeChat Pay answered with one.
    pub fn api_error(&self) -> Option<&ApiError<C>> {
        match self.kind() {
            ErrorKind::Api(e) => Some(e),
            _ => None,
        }
    }

    /// The network failure, if the last attempt failed at the network level.
    pub fn network_error(&self) -> Option<&NetworkError> {
        match self.kind() {
            ErrorKind::Network(e) => Some(e),
            _ => None,
        }
    }

    /// Whether the request certainly never left the client.
    pub fn nothing_sent(&self) -> bool {
        match self.kind() {
            ErrorKind::Validation(_)
            | ErrorKind::Config(_)
            | ErrorKind::Encode(_)
            | ErrorKind::InvalidPath { .. }
            | ErrorKind::Unsendable { .. }
            | ErrorKind::RepeatedPageToken { .. }
            | ErrorKind::Sign(_) => true,
            ErrorKind::Network(e) => !e.may_have_reached_server,
            _ => false,
        }
    }
}

impl<C: ErrorCode> From<ErrorKind<C>> for Error<C> {
    fn from(kind: ErrorKind<C>) -> Self {
        Error(Box::new(kind))
    }
}

impl<C: ErrorCode> From<ConfigError> for Error<C> {
    fn from(error: ConfigError) -> Self {
        ErrorKind::Config(error).into()
    }
}

impl<C: ErrorCode> From<SignError> for Error<C> {
    fn from(error: SignError) -> Self {
        ErrorKind::Sign(error).into()
    }
}

impl<C: ErrorCode> From<crate::certificates::CertificateError> for Error<C> {
    fn from(error: crate::certificates::CertificateError) -> Self {
        ErrorKind::Certificates(error).into()
    }
}

impl<C: ErrorCode> fmt::Debug for Error<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl<C: ErrorCode> fmt::Display for Error<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl<C: ErrorCode> std::error::Error for Error<C> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&*self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_is_bounded_and_safe_on_char_boundaries() {
        let body = "券".repeat(200);
        let s = snippet(body.as_bytes());
        assert!(s.len() <= SNIPPET_LEN + 8);
        assert!(s.ends_with('…'));
        assert_eq!(snippet(b"{}"), "{}");
    }

    #[test]
    fn the_verified_body_does_not_make_every_error_larger() {
        use std::mem::size_of;
        // The decode error's fields, body included, sit behind one pointer.
        assert_eq!(size_of::<DecodeError>(), size_of::<usize>());
    }

    #[test]
    fn an_error_is_one_pointer_wide() {
        use std::mem::size_of;
        // Was 160 bytes (the API error inline); at most 24 is the promise.
        assert!(size_of::<Error<RawCode>>() <= 24);
        assert_eq!(size_of::<Error<RawCode>>(), size_of::<usize>());
        assert_eq!(size_of::<Result<(), Error<RawCode>>>(), size_of::<usize>());
    }

    #[test]
    fn each_cause_is_printed_once() {
        let json = serde_json::from_str::<u8>("x").unwrap_err();
        let cause = json.to_string();
        let error: Error = ErrorKind::Encode(json).into();
        assert_eq!(error.to_string(), "cannot encode the request body");
        let chain = ErrorChain(&error).to_string();
        assert_eq!(chain.matches(&cause).count(), 1, "{chain}");
        assert!(
            chain.starts_with("cannot encode the request body: "),
            "{chain}"
        );
    }

    #[test]
    fn scheme_mismatch_reads_well() {
        let e = ConfigError::SchemeMismatch {
            operation: "send-user-product-coupon",
            needs: AuthScheme::Brand,
            configured: AuthScheme::Merchant,
        };
        assert_eq!(
            e.to_string(),
            "send-user-product-coupon is a brand API but the client is configured for a merchant (mchid)"
        );
    }
}
