//! The HTTP/1.1 server (hyper): routing, the order of checks and faults,
//! idempotency, and signing every reply.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use wechatpay_endpoints::Route;
use wechatpay_transport::clock::{Clock, SystemClock};
use wechatpay_transport::headers::REQUEST_ID;
use wechatpay_transport::sign::{generate_nonce, sign_reply};
use wechatpay_transport::EndpointInfo;

use crate::faults::{ErrorFault, Fault, Faults, FAULT_HEADER};
use crate::idempotency::{Key, Lookup, Recorded, Store};
use crate::keys::{random_hex, SandboxKeys};
use crate::replies::{success_body, Rejection};
use crate::stats::Stats;
use crate::validate::{check, Incoming as Received};

/// Bodies larger than this are refused: WeChat Pay's requests are small, except an upload,
/// whose file plus meta part and framing fit.
const MAX_BODY: usize = wechatpay_runtime::meta::MAX_UPLOAD_FILE_BYTES + (64 << 10);

/// The sandbox's shared state.
pub struct SandboxState {
    keys: SandboxKeys,
    default_faults: Faults,
    quiet: bool,
    store: Mutex<Store>,
    stats: Mutex<Stats>,
    issued: AtomicU64,
    clock: Arc<dyn Clock>,
}

impl SandboxState {
    /// State for a sandbox with `keys`, applying `default_faults` to requests without a fault header.
    pub fn new(keys: SandboxKeys, default_faults: Faults, quiet: bool) -> Arc<Self> {
        Arc::new(SandboxState {
            keys,
            default_faults,
            quiet,
            store: Mutex::new(Store::default()),
            stats: Mutex::new(Stats::new()),
            issued: AtomicU64::new(0),
            clock: Arc::new(SystemClock),
        })
    }

    fn stats(&self) -> std::sync::MutexGuard<'_, Stats> {
        self.stats.lock().unwrap_or_else(|e| e.into_inner())
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

/// Accepts connections until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, state: Arc<SandboxState>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                eprintln!("sandbox: accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(state.clone(), req));
            // A dropped connection (client gone, or the drop fault) is routine here.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

type Reply = Response<Full<Bytes>>;

async fn handle(state: Arc<SandboxState>, req: Request<Incoming>) -> Result<Reply, DropConnection> {
    let (parts, body) = req.into_parts();
    let url = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned());
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            let r = Rejection::new(413, "INVALID_REQUEST", "body too large or unreadable");
            return Ok(state.reply_error(&r));
        }
    };
    if parts.uri.path().starts_with("/sandbox/") {
        return Ok(sandbox_endpoint(&state, &parts.method, parts.uri.path()));
    }
    state.stats().requests += 1;
    let outcome = process(&state, &parts, &url, &body).await;
    let (reply, status, operation, note) = match outcome {
        Outcome::Reply {
            reply,
            operation,
            note,
        } => {
            let status = reply.status();
            (reply, status, operation, note)
        }
        Outcome::Drop { operation } => {
            state.log(
                &parts.method,
                &url,
                "dropped (drop-after-receive)",
                operation,
            );
            return Err(DropConnection);
        }
    };
    state.log(
        &parts.method,
        &url,
        &format!("{} {note}", status.as_u16()),
        operation,
    );
    Ok(reply)
}

enum Outcome {
    Reply {
        reply: Reply,
        operation: Option<&'static str>,
        note: String,
    },
    Drop {
        operation: Option<&'static str>,
    },
}

async fn process(
    state: &SandboxState,
    parts: &http::request::Parts,
    url: &str,
    body: &[u8],
) -> Outcome {
    let path = parts.uri.path();
    if path == crate::certificates::PATH {
        let now = state.clock.now_unix();
        let received = Received {
            method: parts.method.as_str(),
            url,
            headers: &parts.headers,
            body,
        };
        let reply = match crate::certificates::answer(&state.keys, &received, now) {
            Ok(list) => state.reply(200, Bytes::from(list), false),
            Err(r) => state.reply_error(&r),
        };
        return Outcome::Reply {
            reply,
            operation: None,
            note: "certificates".into(),
        };
    }
    let (info, params) = match wechatpay_endpoints::route(parts.method.as_str(), path) {
        Route::Found(info, params) => (info, params),
        Route::WrongMethod(info) => {
            state.stats().operation(info.operation_id).requests += 1;
            state.stats().operation(info.operation_id).rejected += 1;
            let r = Rejection::new(
                405,
                "INVALID_REQUEST",
                format!("{path} does not take {}", parts.method),
            );
            return Outcome::Reply {
                reply: state.reply_error(&r),
                operation: Some(info.operation_id),
                note: r.code,
            };
        }
        Route::NotFound => {
            let r = Rejection::new(404, "NOT_FOUND", format!("no operation at {path}"));
            return Outcome::Reply {
                reply: state.reply_error(&r),
                operation: None,
                note: "NOT_FOUND".into(),
            };
        }
    };
    let op = Some(info.operation_id);
    state.stats().operation(info.operation_id).requests += 1;
    let reject = |r: Rejection| {
        state.stats().operation(info.operation_id).rejected += 1;
        Outcome::Reply {
            reply: state.reply_error(&r),
            operation: op,
            note: r.code.clone(),
        }
    };
    let faults = match parts.headers.get(FAULT_HEADER) {
        Some(value) => match value
            .to_str()
            .map_err(|_| "not visible ASCII".to_owned())
            .and_then(Faults::parse)
        {
            Ok(f) => f,
            Err(e) => {
                return reject(Rejection::new(
                    400,
                    "INVALID_REQUEST",
                    format!("{FAULT_HEADER}: {e}"),
                ))
            }
        },
        None => state.default_faults.clone(),
    };
    // An upload's signed body is its JSON meta part.
    let body = match info.body {
        wechatpay_runtime::BodyKind::Multipart => {
            let content_type = parts
                .headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            match crate::multipart::meta_part(content_type, body) {
                Ok(meta) => meta,
                Err(r) => return reject(r),
            }
        }
        _ => body,
    };
    let received = Received {
        method: parts.method.as_str(),
        url,
        headers: &parts.headers,
        body,
    };
    let accepted = match check(
        &state.keys,
        info,
        &params,
        &received,
        state.clock.now_unix(),
    ) {
        Ok(a) => a,
        Err(r) => return reject(r),
    };
    if let Some(delay) = faults.delay() {
        tokio::time::sleep(delay).await;
    }
    if let Some(fault) = faults.error() {
        match fault_rejection(info, fault) {
            Ok(r) | Err(r) => return reject(r),
        }
    }
    let tamper = faults.has(&Fault::TamperSignature);
    let Some(number) = accepted.number.clone() else {
        let seq = state.issued.fetch_add(1, Ordering::SeqCst) + 1;
        state.stats().operation(info.operation_id).issued += 1;
        let body = success_body(info, &accepted.request, seq);
        return Outcome::Reply {
            reply: state.reply(200, Bytes::from(body), tamper),
            operation: op,
            note: "issued".into(),
        };
    };
    let scope_fields = info.request_number.map_or(&[][..], |n| n.unique_within);
    let scope = scope_fields
        .iter()
        .map(|field| {
            accepted
                .request
                .get(*field)
                .map(|v| v.to_string())
                .unwrap_or_default()
        })
        .collect();
    let key = Key {
        operation_id: info.operation_id,
        identity: accepted.identity.clone(),
        scope,
        number,
    };
    let mut store = state.store.lock().unwrap_or_else(|e| e.into_inner());
    let (recorded, fresh) = match store.lookup(&key, &accepted.request) {
        Lookup::Replay(recorded) => (recorded, false),
        Lookup::Conflict => {
            drop(store);
            let field = info.request_number.map_or("request number", |n| n.field);
            let r = Rejection::documented(info, "RESOURCE_ALREADY_EXISTS")
                .unwrap_or_else(|| Rejection::new(400, "INVALID_REQUEST", ""));
            let r = Rejection {
                message: format!(
                    "{field} {:?} was already used with a different request",
                    key.number
                ),
                ..r
            };
            return reject(r.with_detail(serde_json::json!({"field": field, "location": "body"})));
        }
        Lookup::New => {
            let seq = state.issued.fetch_add(1, Ordering::SeqCst) + 1;
            let body = Bytes::from(success_body(info, &accepted.request, seq));
            let recorded = Recorded {
                request: accepted.request.clone(),
                status: 200,
                body,
            };
            (store.record(key, recorded), true)
        }
    };
    drop(store);
    {
        let mut stats = state.stats();
        let counters = stats.operation(info.operation_id);
        if fresh {
            counters.issued += 1;
        } else {
            counters.replayed += 1;
        }
    }
    // Dropped only the first time, so a retry with the same number gets the recorded result.
    if fresh && faults.has(&Fault::DropAfterReceive) {
        return Outcome::Drop { operation: op };
    }
    Outcome::Reply {
        reply: state.reply(recorded.status, recorded.body, tamper),
        operation: op,
        note: if fresh { "issued" } else { "replayed" }.into(),
    }
}

/// The error reply a `error=`/`status=` fault asks for; `Err` when the code is not in the table.
fn fault_rejection(info: &EndpointInfo, fault: ErrorFault<'_>) -> Result<Rejection, Rejection> {
    let injected = serde_json::json!({"sandbox_fault": true});
    match fault {
        ErrorFault::Code(code) => Rejection::documented(info, code)
            .map(|r| r.with_detail(injected.clone()))
            .ok_or_else(|| {
                let mut codes: Vec<&str> = info.errors.iter().map(|r| r.code).collect();
                codes.dedup();
                Rejection::new(
                    400,
                    "INVALID_REQUEST",
                    format!(
                        "{FAULT_HEADER}: error={code} is not in the error table of {} ({})",
                        info.operation_id,
                        codes.join(", ")
                    ),
                )
            }),
        ErrorFault::Status(status) => {
            let r = match status {
                429 => Rejection::documented(info, "FREQUENCY_LIMITED").unwrap_or_else(|| {
                    Rejection::new(429, "FREQUENCY_LIMITED", "请求过于频繁,请稍后重试")
                }),
                500 => Rejection::documented(info, "SYSTEM_ERROR")
                    .unwrap_or_else(|| Rejection::new(500, "SYSTEM_ERROR", "系统异常,请稍后重试")),
                s => info
                    .errors
                    .iter()
                    .find(|row| row.status == s)
                    .map(|row| Rejection::new(row.status, row.code, row.description))
                    .unwrap_or_else(|| {
                        let code = if s >= 500 {
                            "SYSTEM_ERROR"
                        } else {
                            "INVALID_REQUEST"
                        };
                        Rejection::new(s, code, format!("sandbox fault status={s}"))
                    }),
            };
            Ok(Rejection { status, ..r }.with_detail(injected))
        }
    }
}

fn sandbox_endpoint(state: &SandboxState, method: &Method, path: &str) -> Reply {
    match (method, path) {
        (&Method::GET, "/sandbox/stats") => {
            let body = serde_json::to_vec(&*state.stats()).unwrap_or_default();
            plain(StatusCode::OK, body)
        }
        _ => plain(
            StatusCode::NOT_FOUND,
            br#"{"code":"NOT_FOUND","message":"sandbox endpoints: GET /sandbox/stats"}"#.to_vec(),
        ),
    }
}

fn plain(status: StatusCode, body: Vec<u8>) -> Reply {
    let mut reply = Response::new(Full::new(Bytes::from(body)));
    *reply.status_mut() = status;
    reply.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    reply
}

impl SandboxState {
    fn reply_error(&self, rejection: &Rejection) -> Reply {
        self.reply(rejection.status, Bytes::from(rejection.body()), false)
    }

    /// A signed reply: the five `Wechatpay-*` headers and a `Request-ID`.
    fn reply(&self, status: u16, body: Bytes, tamper: bool) -> Reply {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut reply = plain(status, Vec::new());
        let headers = reply.headers_mut();
        if let Ok(v) = http::HeaderValue::from_str(&random_hex(16)) {
            headers.insert(REQUEST_ID, v);
        }
        let nonce = generate_nonce();
        match sign_reply(
            self.keys.reply_signer.as_ref(),
            &self.keys.identity.public_key_id,
            self.clock.now_unix(),
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

    fn log(&self, method: &Method, url: &str, outcome: &str, operation: Option<&str>) {
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
