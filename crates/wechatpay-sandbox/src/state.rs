//! The sandbox's shared state and how it answers: signed replies (with the
//! `tamper` fault) and the unsigned `/sandbox/…` ones. A leaf under the server,
//! the pipeline and the admin endpoints, which all answer with it.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use wechatpay_transport::clock::{Clock, SystemClock};
use wechatpay_transport::headers::REQUEST_ID;
use wechatpay_transport::sign::{generate_nonce, sign_reply};

use crate::clock::BusinessClock;
use crate::faults::Faults;
use crate::keys::{random_hex, SandboxKeys};
use crate::notify::deliver::Outbox;
use crate::ratelimit::{Limiter, PartnerQuota};
use crate::replies::Rejection;
use crate::stats::Stats;
use crate::store::Store;

/// A reply to one request.
pub(crate) type Reply = Response<Full<Bytes>>;

/// The sandbox's shared state.
pub struct SandboxState {
    pub(crate) keys: SandboxKeys,
    pub(crate) default_faults: Faults,
    pub(crate) quiet: bool,
    pub(crate) store: Arc<Store>,
    pub(crate) outbox: Arc<Outbox>,
    pub(crate) limiter: Limiter,
    /// Whose bucket a provider's call takes from (`Options::partner_quota`).
    pub(crate) partner_quota: PartnerQuota,
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
        partner_quota: PartnerQuota,
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
            partner_quota,
            clock,
            wall: Arc::new(SystemClock),
            stats: Mutex::new(Stats::new()),
            read_timeout,
            confirm_after_notify,
        })
    }
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
