//! Shared by the notify tests: an in-process sandbox, a real notify server on
//! 127.0.0.1 (the library's `Server`, with or without a confirmer) on a thread of its
//! own, deliveries forged with the sandbox's platform key, and bounded waits.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wechatpay_models::{SendUserProductCouponRequest, SetNotifyConfigRequest};
use wechatpay_notify::server::Server;
use wechatpay_notify::{ConfirmOptions, Confirmer, EventRecord, Journal, Receiver};
use wechatpay_sandbox::{NotifyPolicy, Options, Sandbox};
use wechatpay_transport::notification::encrypt_resource;
use wechatpay_transport::sign::{generate_nonce, sign_reply};
use wechatpay_transport::{ApiV3Key, AuthScheme, Client, Identity, RetryPolicy};

pub const APPID: &str = "wx233544546545989";
pub const PRODUCT_COUPON_ID: &str = "1000000013";
pub const STOCK_ID: &str = "1000000013001";
pub const CONFIRM: &str = "confirm-send-user-product-coupon";

/// How long any one wait in these tests may take.
pub const WAIT: Duration = Duration::from_secs(20);

/// A current-thread runtime for the client side of a test.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A fresh keys directory holding this binary's sandbox keys, generated once (an RSA
/// key pair costs a debug build ~0.3 s) and copied, as the sandbox's own tests do.
pub fn keys() -> tempfile::TempDir {
    static ORIGINAL: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let original = ORIGINAL.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wechatpay-notify-keys");
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

/// A sandbox whose notifications are retried quickly.
pub fn sandbox(keys: &Path) -> Sandbox {
    Sandbox::start(Options {
        notify: NotifyPolicy {
            attempts: 6,
            first_delay: Duration::from_millis(200),
            timeout: Duration::from_secs(3),
        },
        ..Options::new(keys)
    })
    .unwrap()
}

/// A brand client for `sandbox` that never retries by itself (the confirmer resends).
pub fn brand_client(sandbox: &Sandbox) -> Client {
    sandbox
        .client_builder(Identity::brand(sandbox.keys().identity.brand_id.as_str()))
        .retry(RetryPolicy::none())
        .resend_unverified_success(true)
        .build()
        .unwrap()
}

/// A receiver for this sandbox's brand journaling into `journal`.
pub fn receiver(sandbox: &Sandbox, journal: &Path) -> Receiver {
    let client = brand_client(sandbox);
    let id = &sandbox.keys().identity;
    let handler = client.notification_handler(ApiV3Key::new(&id.apiv3_key).unwrap());
    Receiver::builder(handler, Journal::open(journal).unwrap())
        .brand(id.brand_id.clone())
        .appid(APPID)
        .build()
}

/// A notify server on 127.0.0.1 (and a confirmer, if asked) on a thread of its own;
/// stopped gracefully by [`NotifyServer::stop`] or when dropped.
pub struct NotifyServer {
    pub url: String,
    pub receiver: Receiver,
    stop: Option<tokio::sync::watch::Sender<bool>>,
    thread: Option<JoinHandle<()>>,
}

impl NotifyServer {
    pub fn start(sandbox: &Sandbox, journal: &Path, confirm: bool) -> NotifyServer {
        Self::start_with(
            receiver(sandbox, journal),
            confirm.then(|| brand_client(sandbox)).into_iter().collect(),
        )
    }

    /// A server for `receiver`, confirming with `clients` (none: no confirmer).
    pub fn start_with(receiver: Receiver, clients: Vec<Client>) -> NotifyServer {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let (url_tx, url_rx) = std::sync::mpsc::channel();
        let served = receiver.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let server = Server::bind("127.0.0.1:0", "/notify", served.service())
                    .await
                    .unwrap();
                url_tx.send(server.url()).unwrap();
                let until = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
                    let _ = rx.wait_for(|s| *s).await;
                };
                let confirming = (!clients.is_empty()).then(|| {
                    let options = ConfirmOptions {
                        first_retry: Duration::from_millis(200),
                        ..ConfirmOptions::default()
                    };
                    let confirmer = Confirmer::new(&served, clients, options).unwrap();
                    tokio::spawn(confirmer.run(until(stopped.clone())))
                });
                server.serve(until(stopped)).await.unwrap();
                if let Some(task) = confirming {
                    task.await.unwrap().unwrap();
                }
            });
        });
        let url = url_rx.recv_timeout(WAIT).expect("the notify server's URL");
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        NotifyServer {
            url,
            receiver,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Stops serving and confirming; returns once both have finished.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        if let Some(thread) = self.thread.take() {
            thread.join().expect("the notify server thread");
        }
    }
}

impl Drop for NotifyServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Sets the sandbox's notify URL.
pub fn set_notify_url(client: &Client, url: &str) {
    runtime().block_on(async {
        client
            .execute(&SetNotifyConfigRequest::new(url))
            .await
            .unwrap();
    });
}

/// Sends a coupon of the seeded stock to `openid`; its code.
pub fn send_coupon(client: &Client, openid: &str, number: &str) -> String {
    runtime().block_on(async {
        let request =
            SendUserProductCouponRequest::new(openid, PRODUCT_COUPON_ID, STOCK_ID, APPID, number);
        client.execute(&request).await.unwrap().coupon_code
    })
}

/// `GET /sandbox/stats`.
pub fn stats(sandbox: &Sandbox) -> Value {
    runtime().block_on(async {
        let url = format!("{}/sandbox/stats", sandbox.base_url());
        let reply = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .get(url)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .unwrap();
        serde_json::from_slice(&reply.bytes().await.unwrap()).unwrap()
    })
}

/// `(issued, replayed)` of the confirm operation.
pub fn confirms(sandbox: &Sandbox) -> (u64, u64) {
    let s = stats(sandbox);
    let op = &s["operations"][CONFIRM];
    (
        op["issued"].as_u64().unwrap_or(0),
        op["replayed"].as_u64().unwrap_or(0),
    )
}

/// The journal's events (read through a read-only connection, as `report` does).
pub fn events(journal: &Path) -> Vec<EventRecord> {
    if !journal.exists() {
        return Vec::new();
    }
    Journal::open_read_only(journal).unwrap().events().unwrap()
}

/// Polls `check` every 50 ms until it gives `Some`, for at most [`WAIT`].
pub fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until the journal holds `n` events that satisfy `settled`.
pub fn wait_for_events(
    journal: &Path,
    n: usize,
    settled: impl Fn(&EventRecord) -> bool,
) -> Vec<EventRecord> {
    wait_for(
        &format!("{n} settled event(s) in {}", journal.display()),
        || {
            let events = events(journal);
            (events.len() == n && events.iter().all(&settled)).then_some(events)
        },
    )
}

/// A notification envelope as WeChat Pay posts it, its resource encrypted with the
/// sandbox's APIv3 key.
pub fn envelope(sandbox: &Sandbox, id: &str, event_type: &str, payload: &Value) -> Vec<u8> {
    let key = ApiV3Key::new(&sandbox.keys().identity.apiv3_key).unwrap();
    let nonce: String = generate_nonce().chars().take(12).collect();
    let resource = encrypt_resource(
        &key,
        payload.to_string().as_bytes(),
        &nonce,
        "product_coupon",
        "product_coupon",
    )
    .unwrap();
    json!({
        "id": id,
        "create_time": "2025-08-02T10:00:00+08:00",
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": "商品券领券通知",
        "resource": resource,
    })
    .to_string()
    .into_bytes()
}

/// The five `Wechatpay-*` headers for `body`, signed with the sandbox's platform key at
/// `timestamp`, naming `serial`.
pub fn signed_headers(
    sandbox: &Sandbox,
    body: &[u8],
    timestamp: i64,
    serial: &str,
) -> Vec<(String, String)> {
    let mut headers = sign_reply(
        sandbox.keys().reply_signer.as_ref(),
        serial,
        timestamp,
        &generate_nonce(),
        body,
    )
    .unwrap();
    headers.signature_type = AuthScheme::Brand.scheme().to_owned();
    headers
        .pairs()
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

/// Unix seconds now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A delivery correctly signed now.
pub fn signed_now(sandbox: &Sandbox, body: &[u8]) -> Vec<(String, String)> {
    signed_headers(sandbox, body, now(), &sandbox.keys().identity.public_key_id)
}

/// POSTs (or sends `method`) to `url`; the status and body of the answer.
pub fn post(url: &str, method: &str, headers: &[(String, String)], body: Vec<u8>) -> (u16, String) {
    runtime().block_on(async {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let mut request = client
            .request(method.parse().unwrap(), url)
            .timeout(Duration::from_secs(10))
            .header("Content-Type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let reply = request.send().await.unwrap();
        let status = reply.status().as_u16();
        (status, reply.text().await.unwrap_or_default())
    })
}

/// A SEND payload for a coupon code.
pub fn send_payload(code: &str, openid: &str) -> Value {
    json!({
        "coupon_code": code,
        "product_coupon_id": PRODUCT_COUPON_ID,
        "stock_id": STOCK_ID,
        "openid": openid,
        "send_channel": "API",
    })
}
