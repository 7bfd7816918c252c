//! The client: validate → build path → serialize once → (sign → send →
//! verify)* with retries and failover → decode.
//!
//! [`Client::execute`] (typed) and [`Client::execute_raw`] (an operation id
//! known only at run time) share [`Client::send`], so both sign, retry, fail
//! over and verify the same way.

use std::fmt;
use std::sync::Arc;

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Url;
use serde::de::DeserializeOwned;

use crate::certificates::{self, CertificateDownload, Trust};
use crate::config::{ClientBuilder, ClientConfig, Identity, USER_AGENT};
use crate::crypto::SignError;
use crate::endpoint::{AuthScheme, BodyKind, Endpoint, EndpointInfo, ErrorCode, Method, Paginated};
use crate::error::{
    cause_chain, ApiError, ConfigError, DecodeError, Error, ErrorBody, NetworkError,
    NetworkErrorKind, RawCode, MAX_REASON_CHARS,
};
use crate::headers::{SignatureHeaders, REQUEST_ID, WECHATPAY_SERIAL};
use crate::hosts::Hosts;
use crate::keystore::PublicKeyStore;
use crate::multipart::{FilePart, MultipartForm as _};
use crate::notification::{ApiV3Key, NotificationHandler};
use crate::oaep::OaepError;
use crate::retry::is_retryable_reply;
use crate::sign::{generate_nonce, sign_request, truncate, RequestToSign};
use crate::verify::{verify_signed, VerifyError};
use wechatpay_runtime::Validate;

/// A 2xx reply whose signature checked out: the raw body, status and headers.
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
        self.decode().map_err(|reason| {
            let mut reply = self;
            let body = std::mem::take(&mut reply.body);
            reply.decode_error(reason, body)
        })
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

/// Per-call facts the transport needs beyond [`EndpointInfo`].
///
/// Today this is the request-number field: [`CallOptions::for_endpoint`] takes
/// it from the schema ([`EndpointInfo::request_number`]), which is what
/// [`Client::execute`] does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallOptions<'a> {
    /// The body field holding the operation's request number
    /// (`out_request_no`, `send_request_no`), if it has one: sending the same
    /// body again is then idempotent, which is what makes resending a reply
    /// that did not verify safe (see
    /// [`ClientBuilder::resend_unverified_success`]).
    pub request_number_field: Option<&'a str>,
    /// The file part of a `multipart/form-data` operation (upload-image); the body
    /// is then its signed JSON `meta` part.
    pub file: Option<&'a FilePart>,
}

impl<'a> CallOptions<'a> {
    /// The options for an operation whose request number is in `field`.
    pub fn with_request_number(field: &'a str) -> Self {
        CallOptions {
            request_number_field: Some(field),
            file: None,
        }
    }

    /// The options the schema implies for `info`: its declared request number.
    pub fn for_endpoint(info: &EndpointInfo) -> Self {
        CallOptions {
            request_number_field: info.request_number.map(|n| n.field),
            file: None,
        }
    }
}

/// What `send` needs to know about the operation.
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
}

impl<'a> Call<'a> {
    fn new(info: &EndpointInfo, options: CallOptions<'a>) -> Self {
        Call {
            operation_id: info.operation_id,
            method: info.method,
            auth: info.auth,
            request_number_field: options.request_number_field,
            body: info.body,
            file: options.file,
            manage_certificates: true,
        }
    }
}

/// A WeChat Pay APIv3 client for one merchant or brand. Cheap to clone; clones
/// share the connection pool, the failover state and downloaded certificates.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    config: ClientConfig,
    http: reqwest::Client,
    hosts: Hosts,
    trust: Trust,
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
        Error::OutcomeUnknown {
            error: error.unwrap_or(self.error),
            status: self.status,
            request_id: self.request_id,
            request_number_field: self.field,
            attempts,
        }
    }
}

impl Client {
    /// Starts configuring a client for `identity`.
    pub fn builder(identity: Identity) -> ClientBuilder {
        ClientBuilder::new(identity)
    }

    /// A client for a checked configuration.
    pub fn new(config: ClientConfig) -> Result<Self, ConfigError> {
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            // WeChat Pay closes idle connections after about 8 s.
            .pool_idle_timeout(config.pool_idle_timeout)
            // A redirect would resend a signature made for another URL.
            .redirect(reqwest::redirect::Policy::none())
            // Verbose connections log the raw bytes sent at TRACE, Authorization
            // included; keep them off whatever reqwest's default becomes.
            .connection_verbose(false)
            .build()
            .map_err(|e| ConfigError::HttpClient(e.to_string()))?;
        let hosts = Hosts::new(
            config.base_url.clone(),
            config.backup_url.clone(),
            config.failover_cooldown,
        );
        let not_before = config
            .certificates
            .as_ref()
            .filter(|c| !c.at_start)
            .map(|_| config.clock.now_unix());
        let trust = Trust::new(config.keys.clone(), config.backend, not_before);
        Ok(Client {
            inner: Arc::new(Inner {
                config,
                http,
                hosts,
                trust,
            }),
        })
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

    /// A notification handler trusting this client's keys (downloaded
    /// platform certificates included, as of now) and clock.
    pub fn notification_handler(&self, api_v3_key: ApiV3Key) -> NotificationHandler {
        NotificationHandler::new((*self.trusted_keys()).clone(), api_v3_key)
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

    /// Validates, signs, sends, verifies and decodes one typed request.
    ///
    /// Nothing is sent when validation fails or the endpoint's auth scheme
    /// does not match the configured identity.
    pub async fn execute<E: Endpoint>(
        &self,
        request: &E::Request,
    ) -> Result<E::Response, Error<E::ErrorCode>> {
        self.execute_with::<E>(request, CallOptions::for_endpoint(E::INFO))
            .await
    }

    /// [`execute`](Self::execute) with per-call options (the request-number field).
    pub async fn execute_with<E: Endpoint>(
        &self,
        request: &E::Request,
        options: CallOptions<'_>,
    ) -> Result<E::Response, Error<E::ErrorCode>> {
        request.validate().map_err(Error::Validation)?;
        let mut path = E::path(request);
        if let Some(query) = E::query(request).filter(|q| !q.is_empty()) {
            path.push('?');
            path.push_str(&query);
        }
        let body = match E::INFO.body {
            BodyKind::None => Vec::new(),
            _ => serde_json::to_vec(request).map_err(|e| Error::Encode(e.to_string()))?,
        };
        let reply = self
            .send_call::<E::ErrorCode>(Call::new(E::INFO, options), &path, body)
            .await?;
        reply.into_json().map_err(Error::Decode)
    }

    /// Sends a `multipart/form-data` operation (upload-image): `request` is the JSON
    /// `meta` part, which is what gets signed; `file` is sent beside it. The meta's
    /// file facts (`filename`, `sha256`) must be the file's own (see
    /// [`FilePart::fill_meta`]); a stale digest is refused before anything is sent.
    pub async fn upload<E: Endpoint>(
        &self,
        request: &E::Request,
        file: &FilePart,
    ) -> Result<E::Response, Error<E::ErrorCode>> {
        let options = CallOptions {
            file: Some(file),
            ..CallOptions::for_endpoint(E::INFO)
        };
        self.execute_with::<E>(request, options).await
    }

    /// Every item of a list operation, page after page: each page's request carries
    /// the previous reply's next-page token, until a reply has none. An error ends
    /// the stream after it is yielded.
    pub fn pages<E>(
        &self,
        request: E::Request,
    ) -> impl futures_util::Stream<Item = Result<E::Item, Error<E::ErrorCode>>> + '_
    where
        E: Paginated,
        E::Request: Clone,
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
                let response = self.execute::<E>(&request).await?;
                let token = E::next_page_token(&response).map(str::to_owned);
                let items = E::items(response);
                let next = match token {
                    Some(token) if !sent.insert(token.clone()) => {
                        Step::Fail(Error::RepeatedPageToken { token })
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

    /// Signs, sends and verifies a request known only at run time (a CLI).
    ///
    /// `path_and_query` is the already percent-encoded path plus `?query`;
    /// `body` is sent and signed byte for byte (pass an empty body for GET).
    pub async fn execute_raw(
        &self,
        info: &EndpointInfo,
        path_and_query: &str,
        body: Vec<u8>,
    ) -> Result<VerifiedReply, Error<RawCode>> {
        self.send::<RawCode>(info, path_and_query, body).await
    }

    /// [`execute_raw`](Self::execute_raw) with per-call options (the request-number field).
    pub async fn execute_raw_with(
        &self,
        info: &EndpointInfo,
        path_and_query: &str,
        body: Vec<u8>,
        options: CallOptions<'_>,
    ) -> Result<VerifiedReply, Error<RawCode>> {
        self.send_call::<RawCode>(Call::new(info, options), path_and_query, body)
            .await
    }

    /// The shared path: sign, send and verify with retries and failover.
    pub async fn send<C: ErrorCode>(
        &self,
        info: &EndpointInfo,
        path_and_query: &str,
        body: Vec<u8>,
    ) -> Result<VerifiedReply, Error<C>> {
        let options = CallOptions::for_endpoint(info);
        self.send_call::<C>(Call::new(info, options), path_and_query, body)
            .await
    }

    /// Downloads the merchant's platform certificates (`GET /v3/certificates`).
    ///
    /// The reply must verify with a key this client already trusts; every
    /// `encrypt_certificate` is decrypted with `api_v3_key`. A
    /// `404 RESOURCE_NOT_EXISTS` is [`CertificateDownload::PublicKeyOnly`].
    /// This does not change which keys the client trusts (see
    /// [`ClientBuilder::platform_certificates_from_api`] for that).
    pub async fn download_certificates(
        &self,
        api_v3_key: &ApiV3Key,
    ) -> Result<CertificateDownload, Error<RawCode>> {
        let call = Call {
            operation_id: certificates::OPERATION_ID,
            method: Method::Get,
            auth: AuthScheme::Merchant,
            request_number_field: None,
            body: BodyKind::None,
            file: None,
            manage_certificates: false,
        };
        // Boxed: a call may download certificates, which is itself a call.
        let sent =
            Box::pin(self.send_call::<RawCode>(call, certificates::CERTIFICATES_PATH, Vec::new()))
                .await;
        match sent {
            Ok(reply) => Ok(CertificateDownload::Certificates(
                certificates::decrypt_certificates(&reply.body, api_v3_key)?,
            )),
            Err(Error::Api(e))
                if e.status == 404 && e.raw_code == certificates::PUBLIC_KEY_ONLY_CODE =>
            {
                Ok(CertificateDownload::PublicKeyOnly)
            }
            Err(e) => Err(e),
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

    async fn send_call<C: ErrorCode>(
        &self,
        call: Call<'_>,
        path_and_query: &str,
        body: Vec<u8>,
    ) -> Result<VerifiedReply, Error<C>> {
        // What the body is, checked for every entry point: a multipart operation needs
        // its file (whose facts its meta part states), only it takes one, and an
        // operation without a body sends none.
        let body_problem = match (call.body, call.file) {
            (BodyKind::Multipart, Some(file)) => file.check_meta(&body).err(),
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
        // Checked against the main host up front so a bad path sends nothing.
        target_url(&config.base_url, path_and_query).map_err(|reason| Error::InvalidPath {
            path: truncate(path_and_query, 200),
            reason,
        })?;
        if call.manage_certificates {
            if let Some(settings) = &config.certificates {
                let every = i64::try_from(settings.refresh.as_secs()).unwrap_or(i64::MAX);
                self.refresh_certificates(|trust, now| trust.due(now, every))
                    .await;
            }
        }

        let max_attempts = config.retry.max_attempts();
        let resend_field = call
            .request_number_field
            .filter(|_| config.resend_unverified);
        // Set once a 2xx reply failed verification and the request was sent again.
        let mut unverified: Option<Unverified> = None;
        let mut may_have_reached = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            // The one resend of an unverified reply does not use up a retry.
            let budget = max_attempts.saturating_add(u32::from(unverified.is_some()));
            let (role, base) = self.inner.hosts.pick();
            let base = base.clone();
            tracing::debug!(
                operation = call.operation_id,
                attempt,
                host = base.as_str(),
                "sending request"
            );
            let outcome = self.attempt(&call, &base, path_and_query, &body).await;
            let reply = match outcome {
                Ok(reply) => reply,
                Err(AttemptError::Network(error)) if error.is_builder() => {
                    // reqwest refused to build the request: nothing was sent,
                    // and neither another attempt nor another host can help.
                    return Err(Error::Unsendable {
                        reason: cause_chain(&error),
                    });
                }
                Err(AttemptError::Network(error)) => {
                    let (kind, reached) = classify(&error);
                    may_have_reached |= reached;
                    self.inner.hosts.network_failure(role);
                    if attempt < budget {
                        let (next_role, _) = self.inner.hosts.pick();
                        tracing::warn!(
                            operation = call.operation_id,
                            attempt,
                            %kind,
                            "network error; retrying with the same body"
                        );
                        // Switching hosts needs no backoff: the other city is not the one struggling.
                        if next_role == role {
                            tokio::time::sleep(config.retry.backoff(attempt)).await;
                        }
                        continue;
                    }
                    if let Some(first) = unverified {
                        return Err(first.outcome_unknown(None, attempt));
                    }
                    return Err(Error::Network(NetworkError {
                        kind,
                        may_have_reached_server: may_have_reached,
                        host: base.to_string(),
                        attempts: attempt,
                        source: error,
                    }));
                }
                Err(AttemptError::TooLarge { status, request_id }) => {
                    return Err(Error::BodyTooLarge {
                        limit: config.max_reply_bytes,
                        status,
                        request_id,
                    })
                }
                Err(AttemptError::Sign(e)) => return Err(Error::Sign(e)),
                Err(AttemptError::Header(what)) => {
                    return Err(ConfigError::InvalidValue {
                        what,
                        reason: "cannot be sent as a header value",
                    }
                    .into())
                }
            };
            may_have_reached = true;
            let request_id = request_id(&reply.headers).map(bounded_request_id);
            tracing::debug!(
                operation = call.operation_id,
                status = reply.status,
                request_id = request_id.as_deref().unwrap_or(""),
                "reply received"
            );
            let is_success = (200..300).contains(&reply.status);
            let verified = if is_success || SignatureHeaders::any_present(&reply.headers) {
                match self.verify(&call, &reply).await {
                    Ok(headers) => Some(headers),
                    Err(error) => {
                        tracing::warn!(operation = call.operation_id, %error, "reply rejected");
                        if let Some(first) = unverified {
                            return Err(first.outcome_unknown(Some(error), attempt));
                        }
                        if let (true, Some(field)) = (is_success, resend_field) {
                            // WeChat Pay signs a few replies wrongly on purpose
                            // (WECHATPAY/SIGNTEST/ probes): the request took
                            // effect, the answer is not trustworthy. The same
                            // body, so the same request number, is idempotent.
                            tracing::warn!(
                                operation = call.operation_id,
                                status = reply.status,
                                "a success reply did not verify; sending the same body again with a fresh signature"
                            );
                            unverified = Some(Unverified {
                                error,
                                status: reply.status,
                                request_id,
                                field: field.to_owned(),
                            });
                            continue;
                        }
                        return Err(Error::Verification {
                            error,
                            status: reply.status,
                            request_id,
                        });
                    }
                }
            } else {
                None
            };
            if let (true, Some(signature)) = (is_success, verified.clone()) {
                return Ok(VerifiedReply {
                    status: reply.status,
                    headers: reply.headers,
                    body: reply.body,
                    signature,
                    attempts: attempt,
                });
            }
            let api = api_error::<C>(&reply, request_id, verified.is_some(), attempt);
            if attempt < budget && is_retryable_reply(api.status, &api.code) {
                tracing::warn!(
                    operation = call.operation_id,
                    attempt,
                    status = api.status,
                    code = api.raw_code.as_str(),
                    "retryable error reply; retrying with the same body"
                );
                tokio::time::sleep(config.retry.backoff(attempt)).await;
                continue;
            }
            return Err(Error::Api(api));
        }
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
            .request(reqwest_method(method), url)
            .header(AUTHORIZATION, auth_value)
            .header(ACCEPT, "application/json")
            .header(WECHATPAY_SERIAL, serial);
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
