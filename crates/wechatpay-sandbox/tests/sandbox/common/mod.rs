//! Shared by the sandbox's integration tests: an in-process sandbox with a
//! brand client, the sandbox's own endpoints, and a notification receiver on
//! 127.0.0.1 — each started and stopped by the test, every wait bounded.

#![allow(dead_code)]

pub mod examples;
pub mod partner;

use std::collections::VecDeque;
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Response};
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use wechatpay_sandbox::{Options, Sandbox};
use wechatpay_transport::keystore::PublicKeyStore;
use wechatpay_transport::notification::{ApiV3Key, NotificationHandler};
use wechatpay_transport::{ApiError, Client, Error, ErrorCode, ErrorKind, Identity, RetryPolicy};

/// A current-thread runtime for the client side of a test.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A brand client for `sandbox` that never retries (tests look at every answer).
pub fn brand_client(sandbox: &Sandbox) -> Client {
    sandbox
        .client_builder(Identity::brand(sandbox.keys().identity.brand_id.as_str()))
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// A handler that verifies and decrypts this sandbox's notifications.
pub fn notification_handler(sandbox: &Sandbox) -> NotificationHandler {
    let id = &sandbox.keys().identity;
    let mut keys = PublicKeyStore::new();
    keys.add_public_key_pem(
        id.public_key_id.clone(),
        std::fs::read(
            sandbox
                .keys()
                .dir
                .join(wechatpay_sandbox::keys::WXP_PUB_FILE),
        )
        .unwrap(),
    )
    .unwrap();
    NotificationHandler::new(keys, ApiV3Key::new(&id.apiv3_key).unwrap())
}

/// `GET` or `POST` on one of the sandbox's own endpoints.
pub async fn admin(sandbox: &Sandbox, method: &str, path: &str, body: Option<Value>) -> Value {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let url = format!("{}{path}", sandbox.base_url());
    let request = match method {
        "POST" => client.post(url).body(body.unwrap_or_default().to_string()),
        _ => client.get(url),
    };
    let reply = request.send().await.unwrap();
    assert!(
        reply.status().is_success(),
        "{method} {path}: {}",
        reply.status()
    );
    serde_json::from_slice(&reply.bytes().await.unwrap()).unwrap()
}

/// `POST /sandbox/pre-sends/claim` (the user takes a pre-sent coupon): status and body.
pub async fn claim(sandbox: &Sandbox, token: &str) -> (u16, Value) {
    let reply = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
        .post(format!("{}/sandbox/pre-sends/claim", sandbox.base_url()))
        .body(serde_json::json!({ "token": token }).to_string())
        .send()
        .await
        .unwrap();
    let status = reply.status().as_u16();
    (
        status,
        serde_json::from_slice(&reply.bytes().await.unwrap()).unwrap(),
    )
}

/// The wall clock now at +08:00: a `use_time` the sandbox accepts for a coupon
/// received before it (while the business clock has not been moved).
pub fn now() -> wechatpay_runtime::DateTime {
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    wechatpay_runtime::DateTime::from_unix(unix, 480)
}

/// The API error of a failed call (panics on success or another failure).
pub fn api_error<T: std::fmt::Debug, C: ErrorCode>(result: Result<T, Error<C>>) -> ApiError<C> {
    match result.map_err(Error::into_kind) {
        Err(ErrorKind::Api(e)) => e,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// Asserts status, code and the troubleshooting code ending the Request-ID.
pub fn assert_answer<C: ErrorCode>(e: &ApiError<C>, status: u16, code: &str, trouble: Option<u32>) {
    assert_eq!((e.status, e.raw_code.as_str()), (status, code), "{e}");
    let suffix = e
        .request_id
        .as_deref()
        .and_then(|id| id.rsplit_once('-'))
        .map(|(_, s)| s.to_owned());
    assert_eq!(suffix, trouble.map(|t| t.to_string()), "Request-ID of {e}");
}

/// A fresh keys directory holding this binary's sandbox keys, generated
/// once (an RSA key pair costs a debug build ~0.3 s) and copied, so each
/// test still has a directory of its own to start a sandbox on or write to.
pub fn keys() -> tempfile::TempDir {
    static ORIGINAL: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    let original = ORIGINAL.get_or_init(|| {
        let dir =
            std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wechatpay-sandbox-keys");
        wechatpay_sandbox::keys::SandboxKeys::load_or_create(&dir).expect("sandbox keys");
        dir
    });
    let copy = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(original).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), copy.path().join(entry.file_name())).unwrap();
    }
    copy
}

/// Options for a sandbox with its keys in `dir`.
pub fn options(dir: &std::path::Path) -> Options {
    Options::new(dir)
}

/// How the receiver answers one delivery.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    pub status: u16,
    pub delay: Duration,
}

impl Answer {
    pub fn status(status: u16) -> Self {
        Answer {
            status,
            delay: Duration::ZERO,
        }
    }
}

/// One delivery as received.
pub struct Delivery {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// A notify URL on 127.0.0.1: records every delivery and answers the scripted
/// answers in order, then 200. Stops when dropped.
pub struct Receiver {
    pub url: String,
    deliveries: mpsc::Receiver<Delivery>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    pub fn start(script: Vec<Answer>) -> Receiver {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}/notify", listener.local_addr().unwrap());
        let (tx, deliveries) = mpsc::channel();
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let thread = std::thread::spawn(move || {
            runtime().block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let stream = tokio::select! {
                        accepted = listener.accept() => match accepted {
                            Ok((s, _)) => s,
                            Err(_) => continue,
                        },
                        _ = &mut stopped => break,
                    };
                    let (tx, script) = (tx.clone(), script.clone());
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(
                            move |req: http::Request<hyper::body::Incoming>| {
                                let (tx, script) = (tx.clone(), script.clone());
                                async move {
                                    let (parts, body) = req.into_parts();
                                    let body = body
                                        .collect()
                                        .await
                                        .map(|b| b.to_bytes())
                                        .unwrap_or_default();
                                    let _ = tx.send(Delivery {
                                        headers: parts.headers,
                                        body: body.to_vec(),
                                    });
                                    let answer = script
                                        .lock()
                                        .unwrap()
                                        .pop_front()
                                        .unwrap_or(Answer::status(200));
                                    tokio::time::sleep(answer.delay).await;
                                    let mut reply = Response::new(Full::new(Bytes::new()));
                                    *reply.status_mut() =
                                        http::StatusCode::from_u16(answer.status).unwrap();
                                    Ok::<_, std::convert::Infallible>(reply)
                                }
                            },
                        );
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
        });
        Receiver {
            url,
            deliveries,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The next delivery, waiting at most `timeout`.
    pub fn next(&self, timeout: Duration) -> Option<Delivery> {
        self.deliveries.recv_timeout(timeout).ok()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A reply read off a raw socket.
#[derive(Debug)]
pub struct RawReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// The `host:port` of the sandbox.
pub fn addr(sandbox: &Sandbox) -> std::net::SocketAddr {
    sandbox
        .base_url()
        .trim_start_matches("http://")
        .parse()
        .unwrap()
}

/// One request written as `head` + `body` on a fresh connection; the reply
/// (`Connection: close`), or `None` if the connection closed without one.
pub fn raw(sandbox: &Sandbox, head: &str, body: &[u8]) -> Option<RawReply> {
    use std::io::{Read, Write};
    let mut stream =
        std::net::TcpStream::connect_timeout(&addr(sandbox), Duration::from_secs(5)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes);
    let split = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Some(RawReply {
        status,
        headers,
        body: bytes[split + 4..].to_vec(),
    })
}

/// An `Authorization` value for a brand request, signed with the sandbox's client key.
pub fn brand_authorization(
    sandbox: &Sandbox,
    method: &str,
    url: &str,
    body: &[u8],
    nonce: &str,
) -> String {
    use wechatpay_transport::crypto::signer_from_pem;
    use wechatpay_transport::sign::{sign_request, RequestToSign};
    let id = &sandbox.keys().identity;
    let pem = std::fs::read(
        sandbox
            .keys()
            .dir
            .join(wechatpay_sandbox::keys::CLIENT_KEY_FILE),
    )
    .unwrap();
    let signer = signer_from_pem(pem).unwrap();
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    sign_request(
        signer.as_ref(),
        wechatpay_transport::AuthScheme::Brand,
        &id.brand_id,
        &id.serial_no,
        &RequestToSign {
            method,
            url,
            body,
            timestamp,
            nonce,
        },
    )
    .unwrap()
    .header_value()
}

/// A signed brand request as raw HTTP, with `extra` header lines (each ending in CRLF).
pub fn signed_head(sandbox: &Sandbox, method: &str, url: &str, body: &[u8], extra: &str) -> String {
    let auth = brand_authorization(
        sandbox,
        method,
        url,
        body,
        &wechatpay_transport::sign::generate_nonce(),
    );
    format!(
        "{method} {url} HTTP/1.1\r\nHost: sandbox\r\nConnection: close\r\nAccept: application/json\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nAuthorization: {auth}\r\n{extra}\r\n",
        body.len()
    )
}
