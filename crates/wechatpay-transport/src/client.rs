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

use crate::config::{ClientBuilder, ClientConfig, Identity, USER_AGENT};
use crate::crypto::SignError;
use crate::endpoint::{BodyKind, Endpoint, EndpointInfo, ErrorCode, Method};
use crate::error::{
    snippet, ApiError, ConfigError, DecodeError, Error, ErrorBody, NetworkError, NetworkErrorKind,
    RawCode, MAX_REASON_CHARS,
};
use crate::headers::{SignatureHeaders, REQUEST_ID, WECHATPAY_SERIAL};
use crate::hosts::Hosts;
use crate::notification::{ApiV3Key, NotificationHandler};
use crate::oaep::OaepError;
use crate::retry::is_retryable_reply;
use crate::sign::{generate_nonce, sign_request, truncate, RequestToSign};
use crate::verify::verify_signed;
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
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, DecodeError> {
        let body: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) {
            b"null"
        } else {
            &self.body
        };
        serde_json::from_slice(body).map_err(|e| DecodeError {
            status: self.status,
            request_id: self.request_id().map(bounded_request_id),
            // serde's messages quote the offending value, which may be long.
            reason: truncate(&e.to_string(), MAX_REASON_CHARS),
            snippet: snippet(&self.body),
        })
    }
}

/// A WeChat Pay APIv3 client for one merchant or brand. Cheap to clone; clones
/// share the connection pool and the failover state.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    config: ClientConfig,
    http: reqwest::Client,
    hosts: Hosts,
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
        Ok(Client {
            inner: Arc::new(Inner {
                config,
                http,
                hosts,
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// A notification handler trusting this client's keys and clock.
    pub fn notification_handler(&self, api_v3_key: ApiV3Key) -> NotificationHandler {
        NotificationHandler::new(self.inner.config.keys.clone(), api_v3_key)
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
        let reply = self.send::<E::ErrorCode>(E::INFO, &path, body).await?;
        reply.json().map_err(Error::Decode)
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

    /// The shared path: sign, send and verify with retries and failover.
    pub async fn send<C: ErrorCode>(
        &self,
        info: &EndpointInfo,
        path_and_query: &str,
        body: Vec<u8>,
    ) -> Result<VerifiedReply, Error<C>> {
        let config = &self.inner.config;
        let configured = config.identity.scheme();
        if info.auth != configured {
            return Err(ConfigError::SchemeMismatch {
                operation: info.operation_id,
                needs: info.auth,
                configured,
            }
            .into());
        }
        // Checked against the main host up front so a bad path sends nothing.
        target_url(&config.base_url, path_and_query).map_err(|reason| Error::InvalidPath {
            path: truncate(path_and_query, 200),
            reason,
        })?;

        let max_attempts = config.retry.max_attempts();
        let mut may_have_reached = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (role, base) = self.inner.hosts.pick();
            let base = base.clone();
            tracing::debug!(
                operation = info.operation_id,
                attempt,
                host = base.as_str(),
                "sending request"
            );
            let outcome = self
                .attempt(info.method, &base, path_and_query, &body)
                .await;
            let reply = match outcome {
                Ok(reply) => reply,
                Err(AttemptError::Network(error)) => {
                    let (kind, reached) = classify(&error);
                    may_have_reached |= reached;
                    self.inner.hosts.network_failure(role);
                    if attempt < max_attempts {
                        let (next_role, _) = self.inner.hosts.pick();
                        tracing::warn!(
                            operation = info.operation_id,
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
                operation = info.operation_id,
                status = reply.status,
                request_id = request_id.as_deref().unwrap_or(""),
                "reply received"
            );
            let now = config.clock.now_unix();
            let is_success = (200..300).contains(&reply.status);
            let verified = if is_success || SignatureHeaders::any_present(&reply.headers) {
                let checked = SignatureHeaders::from_header_map(&reply.headers)
                    .and_then(|h| verify_signed(&h, &reply.body, now, &config.keys).map(|()| h));
                match checked {
                    Ok(headers) => Some(headers),
                    Err(error) => {
                        tracing::warn!(operation = info.operation_id, %error, "reply rejected");
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
            if attempt < max_attempts && is_retryable_reply(api.status, &api.code) {
                tracing::warn!(
                    operation = info.operation_id,
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
        method: Method,
        base: &Url,
        path_and_query: &str,
        body: &[u8],
    ) -> Result<RawReply, AttemptError> {
        let config = &self.inner.config;
        let (url, signed_url) =
            target_url(base, path_and_query).map_err(|_| AttemptError::Header("request path"))?;
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

        let mut response = self
            .inner
            .http
            .request(reqwest_method(method), url)
            .header(AUTHORIZATION, auth_value)
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/json")
            .header(WECHATPAY_SERIAL, serial)
            .body(body.to_vec())
            .send()
            .await
            .map_err(AttemptError::Network)?;

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
    } else if error.is_builder() {
        (NetworkErrorKind::Other, false)
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
    ApiError {
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
