//! The HTTP/1.1 server (hyper): connections with read deadlines, the
//! `/sandbox/…` endpoints, and signing every reply.
//!
//! A connection must deliver each request's head within `read_timeout` of
//! waiting for it (so an idle keep-alive connection or a half-sent head is
//! closed after that long), and its body within `read_timeout` of the head.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use wechatpay_transport::clock::{Clock, SystemClock};
use wechatpay_transport::headers::REQUEST_ID;
use wechatpay_transport::sign::{generate_nonce, sign_reply};

use crate::clock::BusinessClock;
use crate::faults::Faults;
use crate::keys::{random_hex, SandboxKeys};
use crate::notify::deliver::Outbox;
use crate::pipeline::{process, Outcome};
use crate::ratelimit::Limiter;
use crate::replies::Rejection;
use crate::stats::Stats;
use crate::store::Store;

/// Bodies larger than this are refused: WeChat Pay's requests are small, except an upload,
/// whose file plus meta part and framing fit.
const MAX_BODY: usize = wechatpay_runtime::meta::MAX_UPLOAD_FILE_BYTES + (64 << 10);

/// The sandbox's shared state.
pub struct SandboxState {
    pub(crate) keys: SandboxKeys,
    pub(crate) default_faults: Faults,
    pub(crate) quiet: bool,
    pub(crate) store: Arc<Store>,
    pub(crate) outbox: Arc<Outbox>,
    pub(crate) limiter: Limiter,
    /// Coupon time (validity, expiry, daily budgets).
    pub(crate) clock: BusinessClock,
    /// Signature time (requests, replies).
    pub(crate) wall: Arc<dyn Clock>,
    pub(crate) stats: Mutex<Stats>,
    pub(crate) read_timeout: Duration,
    /// `Options::confirm_after_notify`.
    pub(crate) confirm_after_notify: bool,
}

impl fmt::Debug for SandboxState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxState").finish_non_exhaustive()
    }
}

impl SandboxState {
    pub(crate) fn stats(&self) -> std::sync::MutexGuard<'_, Stats> {
        self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An unsigned, empty-state builder is not offered: see [`crate::bind`].
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        keys: SandboxKeys,
        default_faults: Faults,
        quiet: bool,
        store: Arc<Store>,
        outbox: Arc<Outbox>,
        limiter: Limiter,
        clock: BusinessClock,
        read_timeout: Duration,
        confirm_after_notify: bool,
    ) -> Arc<Self> {
        Arc::new(SandboxState {
            keys,
            default_faults,
            quiet,
            store,
            outbox,
            limiter,
            clock,
            wall: Arc::new(SystemClock),
            stats: Mutex::new(Stats::new()),
            read_timeout,
            confirm_after_notify,
        })
    }
}

/// Returned by the service to make hyper close the connection without a reply.
#[derive(Debug)]
struct DropConnection;

impl fmt::Display for DropConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("drop-after-receive fault: connection closed without a reply")
    }
}

impl std::error::Error for DropConnection {}

/// Accepts connections until the future is dropped.
pub async fn serve(listener: tokio::net::TcpListener, state: Arc<SandboxState>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                eprintln!("sandbox: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let state = state.clone();
        tokio::spawn(async move {
            let timeout = state.read_timeout;
            let service = service_fn(move |req| handle(state.clone(), req));
            // A dropped connection (client gone, deadline, or the drop fault) is routine here.
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(timeout)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

pub(crate) type Reply = Response<Full<Bytes>>;

async fn handle(state: Arc<SandboxState>, req: Request<Incoming>) -> Result<Reply, DropConnection> {
    let (parts, body) = req.into_parts();
    let url = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned());
    let collected =
        tokio::time::timeout(state.read_timeout, Limited::new(body, MAX_BODY).collect());
    let body = match collected.await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(_)) => {
            let r = Rejection::new(413, "INVALID_REQUEST", "body too large or unreadable");
            return Ok(closing(state.reply_error(&r, false)));
        }
        Err(_) => {
            let r = Rejection::new(
                400,
                "INVALID_REQUEST",
                format!(
                    "the request body did not arrive within {} s",
                    state.read_timeout.as_secs_f32()
                ),
            );
            return Ok(closing(state.reply_error(&r, false)));
        }
    };
    if parts.uri.path().starts_with("/sandbox/") {
        return Ok(crate::admin::answer(
            &state,
            &parts.method,
            parts.uri.path(),
            &body,
        ));
    }
    state.stats().requests += 1;
    match process(&state, &parts, &url, &body).await {
        Outcome::Reply {
            reply,
            operation,
            note,
        } => {
            let status = reply.status().as_u16();
            state.log(&parts.method, &url, &format!("{status} {note}"), operation);
            Ok(reply)
        }
        Outcome::Drop { operation } => {
            state.log(
                &parts.method,
                &url,
                "dropped (drop-after-receive)",
                operation,
            );
            Err(DropConnection)
        }
    }
}

/// Asks hyper to close the connection after this reply.
fn closing(mut reply: Reply) -> Reply {
    reply.headers_mut().insert(
        http::header::CONNECTION,
        http::HeaderValue::from_static("close"),
    );
    reply
}

/// An unsigned JSON reply (the `/sandbox/…` endpoints).
pub(crate) fn plain(status: StatusCode, body: Vec<u8>) -> Reply {
    let mut reply = Response::new(Full::new(Bytes::from(body)));
    *reply.status_mut() = status;
    reply.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    reply
}

impl SandboxState {
    pub(crate) fn reply_error(&self, rejection: &Rejection, tamper: bool) -> Reply {
        self.reply(
            rejection.status,
            Bytes::from(rejection.body()),
            tamper,
            rejection.trouble,
        )
    }

    /// A signed reply: the five `Wechatpay-*` headers and a `Request-ID` ending in
    /// `-<troubleshooting code>` when one applies.
    pub(crate) fn reply(
        &self,
        status: u16,
        body: Bytes,
        tamper: bool,
        trouble: Option<u32>,
    ) -> Reply {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut reply = plain(status, Vec::new());
        let headers = reply.headers_mut();
        let request_id = match trouble {
            Some(code) => format!("{}-{code}", random_hex(16)),
            None => random_hex(16),
        };
        if let Ok(v) = http::HeaderValue::from_str(&request_id) {
            headers.insert(REQUEST_ID, v);
        }
        let nonce = generate_nonce();
        match sign_reply(
            self.keys.reply_signer.as_ref(),
            &self.keys.identity.public_key_id,
            self.wall.now_unix(),
            &nonce,
            &body,
        ) {
            Ok(mut signed) => {
                if tamper {
                    signed.signature = tamper_signature(&signed.signature);
                }
                for (name, value) in signed.pairs() {
                    if let Ok(v) = http::HeaderValue::from_str(value) {
                        headers.insert(name, v);
                    }
                }
            }
            Err(e) => eprintln!("sandbox: cannot sign the reply: {e}"),
        }
        *reply.body_mut() = Full::new(body);
        reply
    }

    pub(crate) fn log(
        &self,
        method: &http::Method,
        url: &str,
        outcome: &str,
        operation: Option<&str>,
    ) {
        if !self.quiet {
            eprintln!(
                "sandbox: {method} {url} [{}] -> {outcome}",
                operation.unwrap_or("-")
            );
        }
    }
}

/// A signature that is still Base64 of the right length but does not verify.
fn tamper_signature(signature: &str) -> String {
    match BASE64.decode(signature) {
        Ok(mut raw) if !raw.is_empty() => {
            raw[0] ^= 0x01;
            BASE64.encode(raw)
        }
        _ => format!("{signature}x"),
    }
}
