//! The client: validate → build path → serialize once → (sign → send →
//! verify)* with retries and failover → decode.
//!
//! Four entry points, one path: [`Client::execute`] and
//! [`Client::execute_with`] (typed; the operation is inferred from the
//! request type), [`Client::upload`] (multipart), [`Client::pages`] (every
//! item of a list operation) and [`Client::execute_raw`] (an operation known
//! only at run time) all sign, retry, fail over and verify the same way.
//!
//! Every call runs in one `tracing` span, `wechatpay.call`, with the fields
//! `operation`, `request_no` (the request-number field's value, when the
//! operation has one), `attempt` and `request_id`, recorded as they become
//! known. Neither the span nor any event carries the `Authorization` header,
//! a signature or key material.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Url;
use serde::de::DeserializeOwned;
use tracing::Instrument as _;

use crate::certificates::{self, CertificateDownload, Trust};
use crate::config::{ClientBuilder, ClientConfig, HttpSource, Identity, SharedParts, USER_AGENT};
use crate::crypto::SignError;
use crate::error::{
    ApiError, ConfigError, DecodeError, Error, ErrorBody, ErrorChain, ErrorKind, NetworkError,
    NetworkErrorKind, RawCode, MAX_REASON_CHARS,
};
use crate::headers::{SignatureHeaders, REQUEST_ID, WECHATPAY_SERIAL};
use crate::hosts::{HostRole, Hosts};
use crate::keystore::PublicKeyStore;
use crate::multipart::{FilePart, MultipartForm as _};
use crate::notification::{ApiV3Key, NotificationHandler};
use crate::oaep::OaepError;
use crate::retry::{is_retryable_reply, RetryPolicy};
use crate::sign::{generate_nonce, sign_request, truncate, RequestToSign};
use crate::verify::{verify_signed, VerifyError};
use wechatpay_runtime::{
    AuthScheme, BodyKind, Endpoint, EndpointInfo, ErrorCode, Method, OperationRequest, Paginated,
    Validate,
};

/// A 2xx reply whose signature checked out: the raw body, status and headers
/// ([`Client::execute_raw`]).
#[derive(Debug, Clone)]
pub struct VerifiedReply {
    /// HTTP status (2xx).
    pub status: u16,
    /// All reply headers.
    pub headers: HeaderMap,
    /// The raw body, exactly as signed.
    pub body: Vec<u8>,
    /// The signature headers that were verified.
    pub signature: SignatureHeaders,
    /// How many attempts the call took.
    pub attempts: u32,
}

impl VerifiedReply {
    /// The `Request-ID` header.
    pub fn request_id(&self) -> Option<&str> {
        request_id(&self.headers)
    }

    /// Decodes the body as JSON (an empty body decodes as `null`, so `()` works).
    /// On failure the [`DecodeError`] holds a copy of the whole body.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, DecodeError> {
        self.decode()
            .map_err(|reason| self.decode_error(reason, self.body.clone()))
    }

    /// [`json`](Self::json), consuming the reply: on failure the body moves
    /// into the [`DecodeError`] without a copy.
    pub fn into_json<T: DeserializeOwned>(self) -> Result<T, DecodeError> {
        self.into_response(false).map(Response::into_inner)
    }

    /// The decoded body with the reply's facts; the raw body is kept in the
    /// [`Response`] when `keep_raw_body`.
    fn into_response<T: DeserializeOwned>(
        self,
        keep_raw_body: bool,
    ) -> Result<Response<T>, DecodeError> {
        match self.decode() {
            Ok(value) => Ok(Response {
                value,
                status: self.status,
                headers: self.headers,
                attempts: self.attempts,
                raw_body: keep_raw_body.then_some(self.body),
            }),
            Err(reason) => {
                let mut reply = self;
                let body = std::mem::take(&mut reply.body);
                Err(reply.decode_error(reason, body))
            }
        }
    }

    fn decode<T: DeserializeOwned>(&self) -> Result<T, String> {
        let body: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) {
            b"null"
        } else {
            &self.body
        };
        // serde's messages quote the offending value, which may be long.
        serde_json::from_slice(body).map_err(|e| truncate(&e.to_string(), MAX_REASON_CHARS))
    }

    fn decode_error(&self, reason: String, body: Vec<u8>) -> DecodeError {
        DecodeError::from_verified(
            self.status,
            self.request_id().map(bounded_request_id),
            reason,
            body,
        )
    }
}

/// A decoded reply with the facts of the call that got it
/// ([`Client::execute_with`]): the `Request-ID` to quote to WeChat Pay
/// support, the status, the headers, how many attempts it took and, when
/// [`CallOptions::keep_raw_body`] asked for it, the body exactly as signed
/// and verified. Dereferences to the decoded value.
#[derive(Debug, Clone)]
pub struct Response<T> {
    value: T,
    status: u16,
    headers: HeaderMap,
    attempts: u32,
    raw_body: Option<Vec<u8>>,
}

impl<T> Response<T> {
    /// The reply's `Request-ID` header.
    pub fn request_id(&self) -> Option<&str> {
        request_id(&self.headers)
    }

    /// HTTP status (2xx).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// All reply headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// How many attempts the call took (1 without retries).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The body exactly as WeChat Pay signed it and as it verified, when the
    /// call asked for it with [`CallOptions::keep_raw_body`]; else `None`.
    pub fn raw_body(&self) -> Option<&[u8]> {
        self.raw_body.as_deref()
    }

    /// The decoded value.
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T> Deref for Response<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

/// Which field holds the request number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum RequestNumberField {
    /// The schema's ([`EndpointInfo::request_number`]).
    #[default]
    Schema,
    Field(String),
    None,
}

/// Per-call settings, all optional: `CallOptions::default()` is what
/// [`Client::execute`] uses (the client's timeout and retry policy, the
/// schema's request-number field, no raw body kept).
///
/// ```
/// # use std::time::Duration;
/// # use wechatpay_transport::{CallOptions, RetryPolicy};
/// let options = CallOptions::new()
///     .timeout(Duration::from_secs(5))
///     .retry(RetryPolicy::none())
///     .keep_raw_body(true);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallOptions {
    timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
    request_number: RequestNumberField,
    keep_raw_body: bool,
    file: Option<FilePart>,
}

impl CallOptions {
    /// The defaults (same as `CallOptions::default()`).
    pub fn new() -> Self {
        Self::default()
    }

    /// The whole-request timeout of each attempt, instead of the client's
    /// ([`ClientBuilder::request_timeout`], or the caller's
    /// [`ClientBuilder::http_client`]'s own). A platform-certificate download
    /// that the call triggers (a reply naming an unknown serial) is a call of
    /// its own, under the client's timeouts and retry policy.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The retry policy of this call, instead of the client's.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// The body field holding the operation's request number
    /// (`out_request_no`, `send_request_no`), instead of the schema's. Sending
    /// the same body again is then idempotent, which is what makes resending a
    /// reply that did not verify safe (see
    /// [`ClientBuilder::resend_unverified_success`]); the span's `request_no`
    /// field shows its value.
    pub fn request_number_field(mut self, field: impl Into<String>) -> Self {
        self.request_number = RequestNumberField::Field(field.into());
        self
    }

    /// Treats the operation as having no request number, whatever the schema says:
    /// a reply that does not verify is then never resent.
    pub fn without_request_number(mut self) -> Self {
        self.request_number = RequestNumberField::None;
        self
    }

    /// Keeps the verified body in the [`Response`] ([`Response::raw_body`]).
    pub fn keep_raw_body(mut self, keep: bool) -> Self {
        self.keep_raw_body = keep;
        self
    }

    /// The file part of a `multipart/form-data` operation sent with
    /// [`Client::execute_raw`]; the body is then its signed JSON `meta` part.
    /// (Typed callers use [`Client::upload`].)
    pub fn file(mut self, file: FilePart) -> Self {
        self.file = Some(file);
        self
    }

    fn request_number_for<'a>(&'a self, info: &'a EndpointInfo) -> Option<&'a str> {
        match &self.request_number {
            RequestNumberField::Schema => info.request_number.map(|n| n.field),
            RequestNumberField::Field(field) => Some(field),
            RequestNumberField::None => None,
        }
    }
}

/// What `send_call` needs to know about the operation.
#[derive(Debug, Clone, Copy)]
struct Call<'a> {
    operation_id: &'static str,
    method: Method,
    auth: AuthScheme,
    request_number_field: Option<&'a str>,
    /// What the HTTP body is (JSON, none, or multipart with `file`).
    body: BodyKind,
    file: Option<&'a FilePart>,
    /// Whether replies may trigger a platform certificate download (off for
    /// the download itself).
    manage_certificates: bool,
    /// Each attempt's timeout, when not the HTTP client's.
    timeout: Option<Duration>,
    retry: &'a RetryPolicy,
}

impl<'a> Call<'a> {
    fn new(
        info: &'a EndpointInfo,
        options: &'a CallOptions,
        file: Option<&'a FilePart>,
        config: &'a ClientConfig,
    ) -> Self {
        Call {
            operation_id: info.operation_id,
            method: info.method,
            auth: info.auth,
            request_number_field: options.request_number_for(info),
            body: info.body,
            file: file.or(options.file.as_ref()),
            manage_certificates: true,
            timeout: options.timeout,
            retry: options.retry.as_ref().unwrap_or(&config.retry),
        }
    }
}

/// A WeChat Pay APIv3 client for one merchant, brand or service provider. Cheap
/// to clone; clones share the connection pool, the failover state and downloaded
/// certificates. A client of another tenant can share the pool too
/// ([`ClientBuilder::share`]).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use wechatpay_transport::{Client, Identity};
/// let client = Client::builder(Identity::brand("120344"))
///     .serial_no("5157F09EFDC096DE15EBE81A47057A7232F1B8E1")
///     .private_key_file("apiclient_key.pem")
///     .wechatpay_public_key_file("PUB_KEY_ID_0112034400012025010100000000000000", "pub_key.pem")
///     .build()?;
/// # let _ = client; Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    config: ClientConfig,
    http: reqwest::Client,
    /// Whether `http` is a caller's ([`ClientBuilder::http_client`]), directly or
    /// through a shared client: its own timeouts apply then.
    callers_http: bool,
    /// Each request's timeout, when the HTTP client was built for another client
    /// ([`ClientBuilder::share`]) with that client's.
    request_timeout: Option<Duration>,
    hosts: Arc<Hosts>,
    trust: Arc<Trust>,
}

/// One attempt's outcome short of a usable reply.
enum AttemptError {
    Network(reqwest::Error),
    TooLarge {
        status: u16,
        request_id: Option<String>,
    },
    Sign(SignError),
    Header(&'static str),
    /// The HTTP client followed a redirect (only a caller's can): the reply
    /// came from this URL, not the one signed.
    Redirected(String),
}

/// A reply as received, before any check.
struct RawReply {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// A 2xx reply that failed verification and was sent again.
struct Unverified {
    error: VerifyError,
    status: u16,
    request_id: Option<String>,
    field: String,
}

impl Unverified {
    fn outcome_unknown<C: ErrorCode>(self, error: Option<VerifyError>, attempts: u32) -> Error<C> {
        ErrorKind::OutcomeUnknown {
            error: error.unwrap_or(self.error),
            status: self.status,
            request_id: self.request_id,
            request_number_field: self.field,
            attempts,
        }
        .into()
    }
}

/// Where a call stands between attempts: how many were made, how many are
/// allowed, and what earlier attempts established.
struct Attempts<'a> {
    attempt: u32,
    max_attempts: u32,
    /// The request-number field, when a 2xx reply that does not verify may be resent.
    resend_field: Option<&'a str>,
    /// Set once a 2xx reply failed verification and the request was sent again.
    unverified: Option<Unverified>,
    /// Whether any attempt may have reached the server.
    may_have_reached: bool,
}

impl Attempts<'_> {
    /// Counts the next attempt and returns its number (1-based).
    fn begin(&mut self) -> u32 {
        self.attempt += 1;
        self.attempt
    }

    /// Whether another attempt is allowed after this one. The one resend of
    /// an unverified reply does not use up a retry.
    fn may_retry(&self) -> bool {
        let budget = self
            .max_attempts
            .saturating_add(u32::from(self.unverified.is_some()));
        self.attempt < budget
    }
}

/// What to do after one attempt. Lives for one step of the loop and is moved
/// once, so the reply is not boxed.
#[allow(clippy::large_enum_variant)]
enum Next<C: ErrorCode> {
    /// The call is over.
    Done(Result<VerifiedReply, Error<C>>),
    /// Send the same body again, after waiting this long.
    Again(Option<Duration>),
}

impl Client {
    /// Starts configuring a client for `identity`.
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), wechatpay_transport::ConfigError> {
    /// use std::time::Duration;
    /// use wechatpay_transport::{Client, Identity, RetryPolicy};
    /// let client = Client::builder(Identity::merchant("1900000001"))
    ///     .serial_no("5157F09EFDC096DE15EBE81A47057A7232F1B8E1")
    ///     .private_key_file("apiclient_key.pem")
    ///     .wechatpay_public_key_file("PUB_KEY_ID_0119000000012025010100000000000000", "pub_key.pem")
    ///     .request_timeout(Duration::from_secs(10))
    ///     .retry(RetryPolicy::with_max_retries(3))
    ///     .proxy("http://proxy.internal:3128")
    ///     .build()?;
    /// # let _ = client; Ok(()) }
    /// ```
    pub fn builder(identity: Identity) -> ClientBuilder {
        ClientBuilder::new(identity)
    }

    /// A client for a checked configuration.
    pub fn new(config: ClientConfig) -> Result<Self, ConfigError> {
        let http = match &config.http {
            HttpSource::Shared(parts) => return Ok(Self::sharing(parts.clone(), config)),
            HttpSource::Caller(client) => client.clone(),
            HttpSource::Own { proxy } => {
                let builder = reqwest::Client::builder()
                    .user_agent(USER_AGENT)
                    .connect_timeout(config.connect_timeout)
                    .timeout(config.request_timeout)
                    // WeChat Pay closes idle connections after about 8 s.
                    .pool_idle_timeout(config.pool_idle_timeout)
                    // A redirect would resend a signature made for another URL.
                    .redirect(reqwest::redirect::Policy::none())
                    // Verbose connections log the raw bytes sent at TRACE, Authorization
                    // included; keep them off whatever reqwest's default becomes.
                    .connection_verbose(false);
                // Explicit: the configured proxy, else none. reqwest would
                // otherwise read HTTP(S)_PROXY from the environment.
                let builder = match proxy {
                    Some(url) => {
                        let proxy = reqwest::Proxy::all(url.as_str()).map_err(|e| {
                            ConfigError::InvalidUrl {
                                what: "proxy",
                                url: crate::config::redact_credentials(url.as_str()),
                                reason: e.to_string(),
                            }
                        })?;
                        builder.proxy(proxy)
                    }
                    None => builder.no_proxy(),
                };
                builder
                    .build()
                    .map_err(|e| ConfigError::HttpClient(ErrorChain(&e).to_string()))?
            }
        };
        let callers_http = matches!(config.http, HttpSource::Caller(_));
        Ok(Client {
            inner: Arc::new(Inner {
                hosts: Arc::new(own_hosts(&config)),
                trust: Arc::new(own_trust(&config)),
                http,
                callers_http,
                request_timeout: None,
                config,
            }),
        })
    }

    /// A client on another client's pool (and its failover state and trusted
    /// keys, when those are shared).
    fn sharing(parts: SharedParts, config: ClientConfig) -> Self {
        Client {
            inner: Arc::new(Inner {
                hosts: parts.hosts.unwrap_or_else(|| Arc::new(own_hosts(&config))),
                trust: parts.trust.unwrap_or_else(|| Arc::new(own_trust(&config))),
                http: parts.http,
                callers_http: parts.callers,
                request_timeout: (!parts.callers).then_some(config.request_timeout),
                config,
            }),
        }
    }

    /// What a client built with [`ClientBuilder::share`] takes from this one: the
    /// pool; the failover state if it uses the same `hosts` (main, backup,
    /// cool-down); the trusted keys if `trust`.
    pub(crate) fn parts_to_share(
        &self,
        hosts: (&Url, Option<&Url>, Duration),
        trust: bool,
    ) -> SharedParts {
        let inner = &self.inner;
        SharedParts {
            http: inner.http.clone(),
            callers: inner.callers_http,
            hosts: inner
                .hosts
                .same(hosts.0, hosts.1, hosts.2)
                .then(|| inner.hosts.clone()),
            trust: trust.then(|| inner.trust.clone()),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The keys replies are verified with now: the configured ones plus
    /// downloaded platform certificates.
    pub fn trusted_keys(&self) -> Arc<PublicKeyStore> {
        self.inner.trust.current()
    }

    /// A notification handler trusting this client's keys and clock: the keys as
    /// they are at each delivery, so platform certificates the client downloads
    /// later (on schedule, on an unknown serial, a rotation) verify notifications
    /// too.
    ///
    /// ```no_run
    /// # fn demo(client: wechatpay_transport::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use wechatpay_transport::ApiV3Key;
    /// let handler = client.notification_handler(ApiV3Key::new("0123456789abcdef0123456789abcdef")?);
    /// // In the notify URL's HTTP handler: verify, decrypt and decode one delivery.
    /// # let _ = handler; Ok(()) }
    /// ```
    pub fn notification_handler(&self, api_v3_key: ApiV3Key) -> NotificationHandler {
        let trust = self.inner.trust.clone();
        NotificationHandler::with_live_keys(move || trust.current(), api_v3_key)
            .with_clock(self.inner.config.clock.clone())
    }

    /// Encrypts a sensitive field (RSA-OAEP, SHA-1) with the public key this
    /// client names in `Wechatpay-Serial`; Base64 output.
    pub fn encrypt_sensitive(&self, plaintext: &str) -> Result<String, OaepError> {
        match &self.inner.config.encryptor {
            Some(encryptor) => encryptor.encrypt(plaintext.as_bytes()),
            None => Err(OaepError::NoPublicKey),
        }
    }

    /// Validates, signs, sends, verifies and decodes one typed request; the
    /// operation is the request type's ([`OperationRequest`]), so no turbofish.
    /// The impls that name it are in `wechatpay-endpoints`: a crate that
    /// mentions no item of it needs a `use wechatpay_endpoints as _;` for the
    /// compiler to see them. (A request type shared by several hand-written
    /// endpoints names one explicitly: `client.execute::<_, MyEndpoint>(&request)`.)
    ///
    /// Nothing is sent when validation fails or the endpoint's auth scheme
    /// does not match the configured identity.
    ///
    /// ```no_run
    /// # async fn demo(client: wechatpay_transport::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use wechatpay_endpoints as _; // the operations the request types name
    /// use wechatpay_models::GetStockRequest;
    /// let stock = client.execute(&GetStockRequest::new("1000000013", "1000000013001")).await?;
    /// println!("{}", stock.stock_id);
    /// # Ok(()) }
    /// ```
    pub async fn execute<R, E>(&self, request: &R) -> Result<E::Response, Error<E::ErrorCode>>
    where
        R: OperationRequest<E>,
        E: Endpoint<Request = R>,
    {
        self.typed::<E>(request, None, &CallOptions::default())
            .await
            .map(Response::into_inner)
    }

    /// [`execute`](Self::execute) with per-call [`CallOptions`], returning the
    /// decoded value with its `Request-ID`, status, headers and attempts.
    ///
    /// ```no_run
    /// # async fn demo(client: wechatpay_transport::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use wechatpay_endpoints as _; // the operations the request types name
    /// use wechatpay_models::GetStockRequest;
    /// use wechatpay_transport::CallOptions;
    /// let request = GetStockRequest::new("1000000013", "1000000013001");
    /// let options = CallOptions::new().timeout(Duration::from_secs(3)).keep_raw_body(true);
    /// let stock = client.execute_with(&request, options).await?;
    /// println!("{} (Request-ID {:?}, {} attempt(s))", stock.stock_id, stock.request_id(), stock.attempts());
    /// # Ok(()) }
    /// ```
    pub async fn execute_with<R, E>(
        &self,
        request: &R,
        options: CallOptions,
    ) -> Result<Response<E::Response>, Error<E::ErrorCode>>
    where
        R: OperationRequest<E>,
        E: Endpoint<Request = R>,
    {
        self.typed::<E>(request, None, &options).await
    }

    /// Sends a `multipart/form-data` operation (upload-image): `request` is the JSON
    /// `meta` part, which is what gets signed; `file` is sent beside it. The meta's
    /// file facts (`filename`, `sha256`) must be the file's own (see
    /// [`FilePart::fill_meta`]); a stale digest is refused before anything is sent.
    ///
    /// ```no_run
    /// # async fn demo(client: wechatpay_transport::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use wechatpay_endpoints as _; // the operations the request types name
    /// use wechatpay_models::UploadImageRequest;
    /// use wechatpay_transport::FilePart;
    /// let file = FilePart::new("banner.png", std::fs::read("banner.png")?);
    /// let request = UploadImageRequest::new("banner.png", file.sha256_hex());
    /// let image = client.upload(&request, &file).await?;
    /// println!("{}", image.image_url);
    /// # Ok(()) }
    /// ```
    pub async fn upload<R, E>(
        &self,
        request: &R,
        file: &FilePart,
    ) -> Result<E::Response, Error<E::ErrorCode>>
    where
        R: OperationRequest<E>,
        E: Endpoint<Request = R>,
    {
        self.typed::<E>(request, Some(file), &CallOptions::default())
            .await
            .map(Response::into_inner)
    }

    /// Every item of a list operation, page after page: each page's request carries
    /// the previous reply's next-page token, until a reply has none. An error ends
    /// the stream after it is yielded.
    ///
    /// ```no_run
    /// # async fn demo(client: wechatpay_transport::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use futures_util::TryStreamExt as _;
    /// use wechatpay_endpoints as _; // the operations the request types name
    /// use wechatpay_models::ListAssociatedStoresRequest;
    /// let stores: Vec<_> = client
    ///     .pages(ListAssociatedStoresRequest::new("1000000013", "1000000013001"))
    ///     .try_collect()
    ///     .await?;
    /// println!("{} stores", stores.len());
    /// # Ok(()) }
    /// ```
    pub fn pages<R, E>(
        &self,
        request: R,
    ) -> impl futures_util::Stream<Item = Result<E::Item, Error<E::ErrorCode>>> + '_
    where
        R: OperationRequest<E> + Clone + 'static,
        E: Paginated<Request = R>,
        E::Item: Send,
    {
        use futures_util::stream::{self, StreamExt as _, TryStreamExt as _};
        // State: the next request to send and every token sent so far (a server repeating
        // one would otherwise loop forever); after a repeat, the page's items are still
        // yielded, then the error.
        enum Step<R, C: ErrorCode> {
            Send(R, std::collections::HashSet<String>),
            Fail(Error<C>),
            Done,
        }
        let pages = stream::try_unfold(
            Step::Send(request, Default::default()),
            move |step| async move {
                let (mut request, mut sent) = match step {
                    Step::Send(request, sent) => (request, sent),
                    Step::Fail(error) => return Err(error),
                    Step::Done => return Ok(None),
                };
                let response = self
                    .typed::<E>(&request, None, &CallOptions::default())
                    .await?
                    .into_inner();
                let token = E::next_page_token(&response).map(str::to_owned);
                let items = E::items(response);
                let next = match token {
                    Some(token) if !sent.insert(token.clone()) => {
                        Step::Fail(ErrorKind::RepeatedPageToken { token }.into())
                    }
                    Some(token) => {
                        E::set_page_token(&mut request, Some(token));
                        Step::Send(request, sent)
                    }
                    None => Step::Done,
                };
                Ok(Some((stream::iter(items.into_iter().map(Ok)), next)))
            },
        );
        pages.try_flatten().fuse()
    }

    /// Signs, sends and verifies a request known only at run time (a CLI, a
    /// campaign file).
    ///
    /// `path_and_query` is the already percent-encoded path plus `?query`;
    /// `body` is sent and signed byte for byte (pass an empty body for GET).
    /// `options` as for [`execute_with`](Self::execute_with); a multipart
    /// operation takes its file from [`CallOptions::file`].
    pub async fn execute_raw(
        &self,
        info: &EndpointInfo,
        path_and_query: &str,
        body: Vec<u8>,
        options: CallOptions,
    ) -> Result<VerifiedReply, Error<RawCode>> {
        let call = Call::new(info, &options, None, &self.inner.config);
        self.send_call::<RawCode>(call, path_and_query, body).await
    }

    /// The typed path: validate, build the path, encode, send, decode.
    async fn typed<E: Endpoint>(
        &self,
        request: &E::Request,
        file: Option<&FilePart>,
        options: &CallOptions,
    ) -> Result<Response<E::Response>, Error<E::ErrorCode>> {
        request.validate().map_err(ErrorKind::Validation)?;
        let mut path = E::path(request);
        if let Some(query) = E::query(request).filter(|q| !q.is_empty()) {
            path.push('?');
            path.push_str(&query);
        }
        let body = match E::INFO.body {
            BodyKind::None => Vec::new(),
            _ => serde_json::to_vec(request).map_err(ErrorKind::Encode)?,
        };
        let call = Call::new(E::INFO, options, file, &self.inner.config);
        let reply = self.send_call::<E::ErrorCode>(call, &path, body).await?;
        reply
            .into_response(options.keep_raw_body)
            .map_err(|e| ErrorKind::Decode(e).into())
    }

    /// Downloads the merchant's (or service provider's) platform certificates
    /// (`GET /v3/certificates`, signed with its `mchid`).
    ///
    /// The reply must verify with a key this client already trusts; every
    /// `encrypt_certificate` is decrypted with `api_v3_key`. A
    /// `404 RESOURCE_NOT_EXISTS` is [`CertificateDownload::PublicKeyOnly`].
    /// This does not change which keys the client trusts (see
    /// [`ClientBuilder::platform_certificates_from_api`] for that). It goes
    /// through the same HTTP client as every call, proxy included.
    pub async fn download_certificates(
        &self,
        api_v3_key: &ApiV3Key,
    ) -> Result<CertificateDownload, Error<RawCode>> {
        // A merchant API, which a service provider calls as the merchant it is.
        let auth = match self.inner.config.identity.scheme() {
            AuthScheme::Partner => AuthScheme::Partner,
            _ => AuthScheme::Merchant,
        };
        let call = Call {
            operation_id: certificates::OPERATION_ID,
            method: Method::Get,
            auth,
            request_number_field: None,
            body: BodyKind::None,
            file: None,
            manage_certificates: false,
            timeout: None,
            retry: &self.inner.config.retry,
        };
        // Boxed: a call may download certificates, which is itself a call.
        let sent =
            Box::pin(self.send_call::<RawCode>(call, certificates::CERTIFICATES_PATH, Vec::new()))
                .await;
        match sent {
            Ok(reply) => Ok(CertificateDownload::Certificates(
                certificates::decrypt_certificates(&reply.body, api_v3_key)?,
            )),
            Err(e)
                if e.api_error().is_some_and(|e| {
                    e.status == 404 && e.raw_code == certificates::PUBLIC_KEY_ONLY_CODE
                }) =>
            {
                Ok(CertificateDownload::PublicKeyOnly)
            }
            Err(e) => Err(e),
        }
    }

    /// Downloads the platform certificates now and trusts them, as a client made
    /// with [`ClientBuilder::platform_certificates_from_api`] does before its first
    /// call: for a process that must verify something before it calls anything (a
    /// notify URL). Returns the serials trusted from downloads; none when the
    /// merchant uses public keys only. The download counts as the scheduled one.
    pub async fn update_certificates(&self) -> Result<Vec<String>, Error<RawCode>> {
        let config = &self.inner.config;
        let Some(settings) = &config.certificates else {
            return Err(ConfigError::InvalidValue {
                what: "platform certificate download",
                reason:
                    "is not set up on this client (ClientBuilder::platform_certificates_from_api)",
            }
            .into());
        };
        let trust = &self.inner.trust;
        let _one_at_a_time = trust.refreshing.lock().await;
        let now = config.clock.now_unix();
        trust.attempted(now);
        match self.download_certificates(&settings.api_v3_key).await? {
            CertificateDownload::Certificates(list) => Ok(trust.install(now, list)),
            CertificateDownload::PublicKeyOnly => Ok(Vec::new()),
        }
    }

    /// Downloads platform certificates into the trusted set, when the client
    /// manages them and `wanted` (a check without side effects) says a
    /// download is due. One download at a time: a call that waited for
    /// another's download checks `wanted` again and usually has nothing to do.
    /// A failure is logged and the call goes on with the keys it has.
    async fn refresh_certificates(&self, wanted: impl Fn(&Trust, i64) -> bool) {
        let config = &self.inner.config;
        let Some(settings) = &config.certificates else {
            return;
        };
        let trust = &self.inner.trust;
        if !wanted(trust, config.clock.now_unix()) {
            return;
        }
        let _one_at_a_time = trust.refreshing.lock().await;
        let now = config.clock.now_unix();
        if !wanted(trust, now) {
            return;
        }
        trust.attempted(now);
        match self.download_certificates(&settings.api_v3_key).await {
            Ok(CertificateDownload::Certificates(list)) => {
                let serials = trust.install(now, list);
                tracing::info!(serials = ?serials, "platform certificates downloaded");
            }
            Ok(CertificateDownload::PublicKeyOnly) => {
                tracing::info!(
                    "no platform certificates: the merchant uses WeChat Pay public keys only"
                );
            }
            Err(error) => {
                tracing::warn!(%error, "platform certificate download failed; keeping the keys already trusted");
            }
        }
    }

    /// Checks a reply's signature with the trusted keys; a serial no trusted
    /// key has first triggers a platform certificate download (if managed).
    async fn verify(
        &self,
        call: &Call<'_>,
        reply: &RawReply,
    ) -> Result<SignatureHeaders, VerifyError> {
        let config = &self.inner.config;
        // A reply without Wechatpay-Signature-Type is taken to use the request's scheme.
        let headers =
            SignatureHeaders::from_header_map_assuming(&reply.headers, call.auth.scheme())?;
        let check = |client: &Client| {
            let now = client.inner.config.clock.now_unix();
            verify_signed(&headers, &reply.body, now, &client.inner.trust.current())
        };
        match check(self) {
            Err(VerifyError::UnknownSerial(_))
                if call.manage_certificates && config.certificates.is_some() =>
            {
                let trust = &self.inner.trust;
                // A download another call started may be bringing this serial.
                drop(trust.refreshing.lock().await);
                if check(self).is_ok() {
                    return Ok(headers);
                }
                if trust.look_for(&headers.serial, config.clock.now_unix()) {
                    let serial = headers.serial.clone();
                    self.refresh_certificates(|trust, _| trust.current().kind(&serial).is_none())
                        .await;
                }
                check(self)?;
            }
            other => other?,
        }
        Ok(headers)
    }

    /// Runs one call in its `wechatpay.call` span.
    async fn send_call<C: ErrorCode>(
        &self,
        call: Call<'_>,
        path_and_query: &str,
        body: Vec<u8>,
    ) -> Result<VerifiedReply, Error<C>> {
        let span = tracing::info_span!(
            "wechatpay.call",
            operation = call.operation_id,
            request_no = tracing::field::Empty,
            attempt = tracing::field::Empty,
            request_id = tracing::field::Empty,
        );
        if !span.is_disabled() {
            if let Some(number) = request_number(call.request_number_field, &body) {
                span.record("request_no", number.as_str());
            }
        }
        self.run_call(call, path_and_query, body, &span)
            .instrument(span.clone())
            .await
    }

    /// Pre-flight checks, then attempts until one settles the call.
    async fn run_call<C: ErrorCode>(
        &self,
        call: Call<'_>,
        path_and_query: &str,
        body: Vec<u8>,
        span: &tracing::Span,
    ) -> Result<VerifiedReply, Error<C>> {
        self.preflight(&call, path_and_query, &body)?;
        if call.manage_certificates {
            if let Some(settings) = &self.inner.config.certificates {
                let every = i64::try_from(settings.refresh.as_secs()).unwrap_or(i64::MAX);
                self.refresh_certificates(|trust, now| trust.due(now, every))
                    .await;
            }
        }
        let mut attempts = Attempts {
            attempt: 0,
            max_attempts: call.retry.max_attempts(),
            resend_field: call
                .request_number_field
                .filter(|_| self.inner.config.resend_unverified),
            unverified: None,
            may_have_reached: false,
        };
        loop {
            let attempt = attempts.begin();
            span.record("attempt", attempt);
            let (role, base) = self.inner.hosts.pick();
            let base = base.clone();
            tracing::debug!(
                operation = call.operation_id,
                attempt,
                host = base.as_str(),
                "sending request"
            );
            let next = match self.attempt(&call, &base, path_and_query, &body).await {
                Ok(reply) => self.judge_reply(&call, reply, &mut attempts, span).await,
                Err(error) => self.judge_failure(&call, error, role, &base, &mut attempts),
            };
            match next {
                Next::Done(result) => return result,
                Next::Again(Some(wait)) => tokio::time::sleep(wait).await,
                Next::Again(None) => {}
            }
        }
    }

    /// What is checked before anything is sent: the body matches the
    /// operation's kind, the identity its auth scheme, and the path sends
    /// unchanged (checked against the main host).
    fn preflight<C: ErrorCode>(
        &self,
        call: &Call<'_>,
        path_and_query: &str,
        body: &[u8],
    ) -> Result<(), Error<C>> {
        // A multipart operation needs its file (whose facts its meta part states),
        // only it takes one, and an operation without a body sends none.
        let body_problem = match (call.body, call.file) {
            (BodyKind::Multipart, Some(file)) => file.check_meta(body).err(),
            (BodyKind::Multipart, None) => {
                Some("a multipart operation needs its file (Client::upload)")
            }
            (_, Some(_)) => Some("only a multipart operation takes a file"),
            (BodyKind::None, None) if !body.is_empty() => Some("this operation has no body"),
            _ => None,
        };
        if let Some(reason) = body_problem {
            return Err(ConfigError::InvalidValue {
                what: call.operation_id,
                reason,
            }
            .into());
        }
        let config = &self.inner.config;
        let configured = config.identity.scheme();
        if call.auth != configured {
            return Err(ConfigError::SchemeMismatch {
                operation: call.operation_id,
                needs: call.auth,
                configured,
            }
            .into());
        }
        target_url(&config.base_url, path_and_query).map_err(|reason| ErrorKind::InvalidPath {
            path: truncate(path_and_query, 200),
            reason,
        })?;
        Ok(())
    }

    /// An attempt that got no usable reply: the error, or another attempt
    /// (on the other host without waiting, else after a backoff).
    fn judge_failure<C: ErrorCode>(
        &self,
        call: &Call<'_>,
        error: AttemptError,
        role: HostRole,
        base: &Url,
        attempts: &mut Attempts<'_>,
    ) -> Next<C> {
        let attempt = attempts.attempt;
        let error = match error {
            // reqwest refused to build the request: nothing was sent,
            // and neither another attempt nor another host can help.
            AttemptError::Network(source) if source.is_builder() => {
                ErrorKind::Unsendable { source }.into()
            }
            AttemptError::Network(source) => {
                let (kind, reached) = classify(&source);
                attempts.may_have_reached |= reached;
                self.inner.hosts.network_failure(role);
                if attempts.may_retry() {
                    let (next_role, _) = self.inner.hosts.pick();
                    tracing::warn!(
                        operation = call.operation_id,
                        attempt,
                        %kind,
                        "network error; retrying with the same body"
                    );
                    // Switching hosts needs no backoff: the other city is not the one struggling.
                    return Next::Again((next_role == role).then(|| call.retry.backoff(attempt)));
                }
                match attempts.unverified.take() {
                    Some(first) => first.outcome_unknown(None, attempt),
                    None => ErrorKind::Network(NetworkError {
                        kind,
                        may_have_reached_server: attempts.may_have_reached,
                        host: base.to_string(),
                        attempts: attempt,
                        source,
                    })
                    .into(),
                }
            }
            AttemptError::TooLarge { status, request_id } => ErrorKind::BodyTooLarge {
                limit: self.inner.config.max_reply_bytes,
                status,
                request_id,
            }
            .into(),
            AttemptError::Sign(e) => e.into(),
            AttemptError::Header(what) => ConfigError::InvalidValue {
                what,
                reason: "cannot be sent as a header value",
            }
            .into(),
            AttemptError::Redirected(to) => ErrorKind::Redirected { to }.into(),
        };
        Next::Done(Err(error))
    }

    /// A reply: verified success, a resend of an unverified success, a
    /// retry of a retryable error reply, or the error.
    async fn judge_reply<C: ErrorCode>(
        &self,
        call: &Call<'_>,
        reply: RawReply,
        attempts: &mut Attempts<'_>,
        span: &tracing::Span,
    ) -> Next<C> {
        let attempt = attempts.attempt;
        attempts.may_have_reached = true;
        let request_id = request_id(&reply.headers).map(bounded_request_id);
        if let Some(id) = &request_id {
            span.record("request_id", id.as_str());
        }
        tracing::debug!(
            operation = call.operation_id,
            status = reply.status,
            request_id = request_id.as_deref().unwrap_or(""),
            "reply received"
        );
        let is_success = (200..300).contains(&reply.status);
        let verified = if is_success || SignatureHeaders::any_present(&reply.headers) {
            match self.verify(call, &reply).await {
                Ok(headers) => Some(headers),
                Err(error) => {
                    tracing::warn!(operation = call.operation_id, %error, "reply rejected");
                    if let Some(first) = attempts.unverified.take() {
                        return Next::Done(Err(first.outcome_unknown(Some(error), attempt)));
                    }
                    if let (true, Some(field)) = (is_success, attempts.resend_field) {
                        // WeChat Pay signs a few replies wrongly on purpose
                        // (WECHATPAY/SIGNTEST/ probes): the request took
                        // effect, the answer is not trustworthy. The same
                        // body, so the same request number, is idempotent.
                        tracing::warn!(
                            operation = call.operation_id,
                            status = reply.status,
                            "a success reply did not verify; sending the same body again with a fresh signature"
                        );
                        attempts.unverified = Some(Unverified {
                            error,
                            status: reply.status,
                            request_id,
                            field: field.to_owned(),
                        });
                        return Next::Again(None);
                    }
                    return Next::Done(Err(ErrorKind::Verification {
                        error,
                        status: reply.status,
                        request_id,
                    }
                    .into()));
                }
            }
        } else {
            None
        };
        if let (true, Some(signature)) = (is_success, verified.clone()) {
            return Next::Done(Ok(VerifiedReply {
                status: reply.status,
                headers: reply.headers,
                body: reply.body,
                signature,
                attempts: attempt,
            }));
        }
        let api = api_error::<C>(&reply, request_id, verified.is_some(), attempt);
        if attempts.may_retry() && is_retryable_reply(api.status, &api.code) {
            tracing::warn!(
                operation = call.operation_id,
                attempt,
                status = api.status,
                code = api.raw_code.as_str(),
                "retryable error reply; retrying with the same body"
            );
            return Next::Again(Some(call.retry.backoff(attempt)));
        }
        Next::Done(Err(ErrorKind::Api(api).into()))
    }

    /// One signed request to one host, reading at most `max_reply_bytes`.
    async fn attempt(
        &self,
        call: &Call<'_>,
        base: &Url,
        path_and_query: &str,
        body: &[u8],
    ) -> Result<RawReply, AttemptError> {
        let config = &self.inner.config;
        let (url, signed_url) =
            target_url(base, path_and_query).map_err(|_| AttemptError::Header("request path"))?;
        let method = call.method;
        let nonce = generate_nonce();
        let auth = sign_request(
            config.signer.as_ref(),
            config.identity.scheme(),
            config.identity.id(),
            &config.serial_no,
            &RequestToSign {
                method: method.as_str(),
                url: &signed_url,
                body,
                timestamp: config.clock.now_unix(),
                nonce: &nonce,
            },
        )
        .map_err(AttemptError::Sign)?;
        let mut auth_value = HeaderValue::try_from(auth.header_value())
            .map_err(|_| AttemptError::Header("Authorization"))?;
        auth_value.set_sensitive(true);
        let serial = HeaderValue::try_from(config.wechatpay_serial.as_str())
            .map_err(|_| AttemptError::Header("Wechatpay-Serial"))?;

        let request = self
            .inner
            .http
            .request(reqwest_method(method), url.clone())
            .header(AUTHORIZATION, auth_value)
            // On every request, so that a caller's HTTP client sends it too:
            // WeChat Pay refuses a request without a User-Agent.
            .header(reqwest::header::USER_AGENT, USER_AGENT)
            .header(ACCEPT, "application/json")
            .header(WECHATPAY_SERIAL, serial);
        let request = match call.timeout.or(self.inner.request_timeout) {
            Some(timeout) => request.timeout(timeout),
            None => request,
        };
        // The signed bytes are the JSON body, or the `meta` part of a multipart upload.
        let request = match (call.body, call.file) {
            (BodyKind::Multipart, Some(file)) => {
                request.multipart(file.form(body).map_err(AttemptError::Network)?)
            }
            (BodyKind::None, _) if body.is_empty() => request,
            _ => request
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_vec()),
        };
        let mut response = request.send().await.map_err(AttemptError::Network)?;
        // Only a caller's HTTP client can follow a redirect (this crate's never
        // does): a reply from another URL answers a request that was not signed
        // for it.
        if response.url() != &url {
            return Err(AttemptError::Redirected(truncate(
                response.url().as_str(),
                MAX_REASON_CHARS,
            )));
        }

        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let limit = config.max_reply_bytes;
        let too_large = || AttemptError::TooLarge {
            status,
            request_id: request_id(&headers).map(bounded_request_id),
        };
        if response
            .content_length()
            .is_some_and(|len| len > limit as u64)
        {
            return Err(too_large());
        }
        let mut reply_body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(AttemptError::Network)? {
            if reply_body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            reply_body.extend_from_slice(&chunk);
        }
        Ok(RawReply {
            status,
            headers,
            body: reply_body,
        })
    }
}

/// The failover state of a client with `config`'s hosts.
fn own_hosts(config: &ClientConfig) -> Hosts {
    Hosts::new(
        config.base_url.clone(),
        config.backup_url.clone(),
        config.failover_cooldown,
    )
}

/// The trusted keys of a client with `config`'s keys, nothing downloaded yet.
fn own_trust(config: &ClientConfig) -> Trust {
    let not_before = config
        .certificates
        .as_ref()
        .filter(|c| !c.at_start)
        .map(|_| config.clock.now_unix());
    Trust::new(config.keys.clone(), config.backend, not_before)
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// The URL to send to and the `path?query` to sign, which is exactly what the
/// URL will send; refuses a path the URL parser would change (dot segments,
/// characters needing encoding), since the caller asked for something else.
/// The longest path plus query a request can carry.
const MAX_PATH_AND_QUERY_BYTES: usize = u16::MAX as usize - 1;

fn target_url(base: &Url, path_and_query: &str) -> Result<(Url, String), &'static str> {
    if !path_and_query.starts_with('/') {
        return Err("must start with '/'");
    }
    if path_and_query.contains('#') {
        return Err("must not contain '#'");
    }
    let (path, query) = match path_and_query.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path_and_query, None),
    };
    let full_path = format!("{}{path}", base.path().trim_end_matches('/'));
    // http's `Uri` (under reqwest and hyper) holds at most u16::MAX - 1 bytes; past
    // that reqwest only says "Parsed Url is not a valid Uri".
    if full_path.len() + query.map_or(0, |q| q.len() + 1) > MAX_PATH_AND_QUERY_BYTES {
        return Err("is longer than the 65,534 bytes a request URL can hold (a path or query parameter is too long)");
    }
    let mut url = base.clone();
    url.set_path(&full_path);
    url.set_query(query);
    if url.path() != full_path || url.query() != query {
        return Err(
            "would change when sent (dot segments or characters that need percent-encoding)",
        );
    }
    let mut signed = full_path;
    if let Some(query) = query {
        signed.push('?');
        signed.push_str(query);
    }
    Ok((url, signed))
}

fn reqwest_method(method: Method) -> reqwest::Method {
    match method {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        Method::Delete => reqwest::Method::DELETE,
    }
}

/// The error kind, and whether the request may have reached the server.
fn classify(error: &reqwest::Error) -> (NetworkErrorKind, bool) {
    if error.is_connect() {
        (NetworkErrorKind::Connect, false)
    } else if error.is_timeout() {
        (NetworkErrorKind::Timeout, true)
    } else {
        (NetworkErrorKind::Other, true)
    }
}

/// The request number's value in a JSON body, bounded, for the call's span.
fn request_number(field: Option<&str>, body: &[u8]) -> Option<String> {
    let field = field?;
    let serde_json::Value::Object(mut fields) = serde_json::from_slice(body).ok()? else {
        return None;
    };
    let number = match fields.remove(field)? {
        serde_json::Value::String(s) => s,
        other @ serde_json::Value::Number(_) => other.to_string(),
        _ => return None,
    };
    Some(truncate(&number, 64))
}

fn request_id(headers: &HeaderMap) -> Option<&str> {
    headers.get(REQUEST_ID).and_then(|v| v.to_str().ok())
}

/// A `Request-ID` as errors keep it: bounded, since the server wrote it.
fn bounded_request_id(id: &str) -> String {
    truncate(id, MAX_REASON_CHARS)
}

fn api_error<C: ErrorCode>(
    reply: &RawReply,
    request_id: Option<String>,
    verified: bool,
    attempts: u32,
) -> ApiError<C> {
    let ErrorBody {
        code: raw_code,
        message,
        detail,
    } = ErrorBody::parse(&reply.body);
    let location = (300..400)
        .contains(&reply.status)
        .then(|| reply.headers.get(reqwest::header::LOCATION))
        .flatten()
        .map(|v| truncate(&String::from_utf8_lossy(v.as_bytes()), MAX_REASON_CHARS));
    ApiError {
        location,
        status: reply.status,
        code: C::from_code(&raw_code),
        raw_code,
        message,
        detail,
        request_id,
        verified,
        attempts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(base: &str, path: &str) -> Result<(String, String), String> {
        target_url(&Url::parse(base).unwrap(), path)
            .map(|(u, s)| (u.to_string(), s))
            .map_err(str::to_owned)
    }

    #[test]
    fn signs_the_path_exactly_as_sent_with_base_prefix() {
        assert_eq!(
            target("http://127.0.0.1:9/", "/v3/a%2Fb?x=1&y=%E5%88%B8").unwrap(),
            (
                "http://127.0.0.1:9/v3/a%2Fb?x=1&y=%E5%88%B8".to_owned(),
                "/v3/a%2Fb?x=1&y=%E5%88%B8".to_owned()
            )
        );
        assert_eq!(
            target("http://h/sandbox/", "/v3/x").unwrap().1,
            "/sandbox/v3/x"
        );
    }

    #[test]
    fn refuses_paths_that_would_change() {
        for bad in [
            "v3/x", "/v3/../x", "/v3/a b", "/v3/券", "/v3/x#f", "/v3/./x",
        ] {
            assert!(target("http://h", bad).is_err(), "{bad}");
        }
    }
}
