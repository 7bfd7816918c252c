//! The test kit: the shared one (`wechatpay-test-kit`: fixtures, the OpenSSL
//! oracle, an independent `Authorization` parser, signed replies) and what
//! only this crate's tests use: a minimal HTTP/1.1 server on 127.0.0.1, the
//! request check, client builders and hand-written demo endpoints.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use wechatpay_runtime::path::encode_component as encode_path_segment;
use wechatpay_runtime::validation::{check_str, join, Charset, StrRule};
use wechatpay_runtime::{BodyKind, PathTemplate, TypeInfo, Validate, Violation};
use wechatpay_transport::{
    AuthScheme, Client, ClientBuilder, Endpoint, EndpointInfo, ErrorCode, ErrorDoc, ErrorScope,
    Identity, LengthUnit, Method, RetryPolicy,
};

pub use wechatpay_test_kit::*;

// ---------------------------------------------------------------- HTTP server

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path plus `?query`, as on the request line.
    pub target: String,
    /// Header names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn auth(&self) -> AuthParts {
        AuthParts::parse(self.header("authorization").expect("Authorization header"))
    }

    /// The message the client must have signed, rebuilt from the wire.
    pub fn signed_message(&self) -> Vec<u8> {
        let auth = self.auth();
        let mut m = format!(
            "{}\n{}\n{}\n{}\n",
            self.method,
            self.target,
            auth.get("timestamp"),
            auth.get("nonce_str")
        )
        .into_bytes();
        m.extend_from_slice(&self.body);
        m.push(b'\n');
        m
    }
}

type Handler = dyn Fn(&Recorded, usize) -> Reply + Send + Sync;

/// A minimal HTTP/1.1 server (keep-alive, Content-Length bodies) on 127.0.0.1.
pub struct TestServer {
    pub port: u16,
    requests: Arc<Mutex<Vec<Recorded>>>,
    connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl TestServer {
    /// Starts a server; `handler` gets each request and its 0-based index.
    pub async fn start(
        handler: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve(listener, Arc::new(handler))
    }

    /// Starts a server on a given port (to bring a "down" host back).
    pub async fn start_on(
        port: u16,
        handler: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        Self::serve(listener, Arc::new(handler))
    }

    fn serve(listener: TcpListener, handler: Arc<Handler>) -> Self {
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = requests.clone();
        let connections = Arc::new(AtomicUsize::new(0));
        let accepted = connections.clone();
        let task = tokio::spawn(async move {
            // Bounded: a test makes a handful of connections.
            for _ in 0..1000 {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                accepted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(connection(stream, handler.clone(), recorded.clone()));
            }
        });
        TestServer {
            port,
            requests,
            connections,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A port on 127.0.0.1 with nothing listening.
pub async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

async fn connection(
    mut stream: TcpStream,
    handler: Arc<Handler>,
    requests: Arc<Mutex<Vec<Recorded>>>,
) {
    let mut buf = Vec::new();
    // Bounded: at most 100 requests per connection, 10 s idle each.
    for _ in 0..100 {
        let Some(request) = read_request(&mut stream, &mut buf).await else {
            return;
        };
        let index = {
            let mut all = requests.lock().unwrap();
            all.push(request.clone());
            all.len() - 1
        };
        let h = handler.clone();
        let reply = tokio::task::spawn_blocking(move || h(&request, index))
            .await
            .unwrap();
        if !reply.delay.is_zero() {
            tokio::time::sleep(reply.delay).await;
        }
        let mut head = format!("HTTP/1.1 {} X\r\n", reply.status);
        if reply.close_delimited {
            head.push_str("Connection: close\r\n");
        } else {
            head.push_str(&format!("Content-Length: {}\r\n", reply.body.len()));
        }
        for (k, v) in &reply.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        out.extend_from_slice(&reply.body);
        if stream.write_all(&out).await.is_err() || reply.close_delimited {
            let _ = stream.shutdown().await;
            return;
        }
    }
}

async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Recorded> {
    let deadline = Duration::from_secs(10);
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(deadline, stream.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).ok()?;
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let target = request_line.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map(|(_, v)| v.parse().unwrap())
        .unwrap_or(0);
    assert!(
        !headers.iter().any(|(k, _)| k == "transfer-encoding"),
        "chunked bodies are not expected"
    );
    let body_start = head_end + 4;
    while buf.len() < body_start + len {
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(deadline, stream.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = buf[body_start..body_start + len].to_vec();
    buf.drain(..body_start + len);
    Some(Recorded {
        method,
        target,
        headers,
        body,
    })
}

/// Checks a request as WeChat Pay would, with OpenSSL as the verifier: every
/// header, the Authorization format, and the signature over the exact wire bytes.
pub fn check_request(req: &Recorded, scheme: AuthScheme, identity: &str) -> Result<(), String> {
    let expect = |name: &str, want: &str| match req.header(name) {
        Some(v) if v == want => Ok(()),
        other => Err(format!("{name}: expected {want:?}, got {other:?}")),
    };
    expect("accept", "application/json")?;
    // GET pages list no Content-Type: a request without a body carries none.
    if req.body.is_empty() {
        if let Some(ct) = req.header("content-type") {
            return Err(format!("a request without a body has Content-Type {ct:?}"));
        }
    } else {
        expect("content-type", "application/json")?;
    }
    let serial = req
        .header("wechatpay-serial")
        .ok_or("no Wechatpay-Serial")?;
    if serial != PUB_KEY_ID && serial != PLATFORM_SERIAL {
        return Err(format!("unexpected Wechatpay-Serial {serial}"));
    }
    let ua = req.header("user-agent").ok_or("no User-Agent")?;
    if !ua.starts_with(&format!(
        "wechatpay-transport/{}",
        env!("CARGO_PKG_VERSION")
    )) {
        return Err(format!(
            "User-Agent {ua:?} does not name the crate and version"
        ));
    }
    let raw = req.header("authorization").ok_or("no Authorization")?;
    if raw.contains(", ") {
        return Err("Authorization has a space after a comma".into());
    }
    let auth = AuthParts::parse(raw);
    if auth.scheme != scheme.scheme() {
        return Err(format!("scheme {}", auth.scheme));
    }
    let keys: Vec<&str> = auth.fields.iter().map(|(k, _)| k.as_str()).collect();
    let want = [
        scheme.identity_param(),
        "nonce_str",
        "signature",
        "timestamp",
        "serial_no",
    ];
    if keys != want {
        return Err(format!("Authorization fields {keys:?}, want {want:?}"));
    }
    if auth.get(scheme.identity_param()) != identity {
        return Err("identity".into());
    }
    if auth.get("serial_no") != SERIAL_NO {
        return Err("serial_no".into());
    }
    let nonce = auth.get("nonce_str");
    if nonce.len() != 32 || !nonce.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!("nonce {nonce:?} is not 32 base62 characters"));
    }
    let ts: i64 = auth.get("timestamp").parse().map_err(|_| "timestamp")?;
    if (ts - now()).abs() > 5 {
        return Err(format!("timestamp {ts} is not now"));
    }
    if req.method == "GET" && !req.body.is_empty() {
        return Err("GET with a body".into());
    }
    if !openssl_verify(
        "merchant_pub.pem",
        &req.signed_message(),
        auth.get("signature"),
    ) {
        return Err("openssl: signature does not verify".into());
    }
    Ok(())
}

/// A handler that checks each request with [`check_request`] and answers
/// `reply(index)`, or a 401 naming the failed check.
pub fn checking(
    scheme: AuthScheme,
    identity: &'static str,
    reply: impl Fn(usize) -> Reply + Send + Sync + 'static,
) -> impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static {
    move |req, index| match check_request(req, scheme, identity) {
        Ok(()) => reply(index),
        Err(why) => Reply::new(
            401,
            serde_json::json!({"code": "SIGN_ERROR", "message": why}).to_string(),
        ),
    }
}

// ---------------------------------------------------------------- clients

pub fn merchant_builder(base_url: &str) -> ClientBuilder {
    Client::builder(Identity::merchant(MCHID))
        .serial_no(SERIAL_NO)
        .private_key_file(fixture("merchant_key.pem"))
        .wechatpay_public_key_file(PUB_KEY_ID, fixture("wechatpay_pub.pem"))
        .base_url(base_url)
        .retry(fast_retries(2))
}

pub fn brand_builder(base_url: &str) -> ClientBuilder {
    Client::builder(Identity::brand(BRAND_ID))
        .serial_no(SERIAL_NO)
        .private_key_file(fixture("merchant_key_pkcs1.pem"))
        .wechatpay_public_key_file(PUB_KEY_ID, fixture("wechatpay_pub.pem"))
        .base_url(base_url)
        .retry(fast_retries(2))
}

/// A service provider (服务商) signing as its merchant number `MCHID`.
pub fn partner_builder(base_url: &str) -> ClientBuilder {
    Client::builder(Identity::partner(MCHID))
        .serial_no(SERIAL_NO)
        .private_key_file(fixture("merchant_key.pem"))
        .wechatpay_public_key_file(PUB_KEY_ID, fixture("wechatpay_pub.pem"))
        .base_url(base_url)
        .retry(fast_retries(2))
}

pub fn fast_retries(max_retries: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
    }
}

// ---------------------------------------------------------------- demo endpoints

/// A request with one path parameter and two body fields.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoRequest {
    #[serde(skip_serializing)]
    pub openid: String,
    pub out_request_no: String,
    pub note: String,
}

impl DemoRequest {
    pub fn new(openid: &str) -> Self {
        DemoRequest {
            openid: openid.to_owned(),
            out_request_no: "REQ-20250101-0001".to_owned(),
            note: CHINESE_NOTE.to_owned(),
        }
    }
}

impl Validate for DemoRequest {
    fn validate_into(&self, prefix: &str, out: &mut Vec<Violation>) {
        check_str(
            out,
            &|| join(prefix, "openid"),
            &self.openid,
            true,
            &StrRule::NONE,
        );
        check_str(
            out,
            &|| join(prefix, "out_request_no"),
            &self.out_request_no,
            true,
            &StrRule {
                max: Some(32),
                charset: Some(Charset {
                    class: "0-9A-Za-z_-",
                    contains: |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-',
                }),
                ..StrRule::NONE
            },
        );
        check_str(
            out,
            &|| join(prefix, "note"),
            &self.note,
            false,
            &StrRule {
                max: Some(64),
                unit: LengthUnit::Chars,
                ..StrRule::NONE
            },
        );
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DemoResponse {
    pub coupon_code: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DemoCode {
    SystemError,
    FrequencyLimited,
    ParamError,
    Other(String),
}

static DEMO_ERRORS: [ErrorDoc; 3] = [
    ErrorDoc {
        status: 500,
        code: "SYSTEM_ERROR",
        description: "系统错误",
        solution: "使用相同参数重试",
        scope: ErrorScope::Caller,
        key: None,
    },
    ErrorDoc {
        status: 429,
        code: "FREQUENCY_LIMITED",
        description: "频率超限",
        solution: "降低频率后重试",
        scope: ErrorScope::Caller,
        key: None,
    },
    ErrorDoc {
        status: 400,
        code: "PARAM_ERROR",
        description: "参数错误",
        solution: "检查参数",
        scope: ErrorScope::Request,
        key: None,
    },
];

impl ErrorCode for DemoCode {
    fn from_code(code: &str) -> Self {
        match code {
            "SYSTEM_ERROR" => DemoCode::SystemError,
            "FREQUENCY_LIMITED" => DemoCode::FrequencyLimited,
            "PARAM_ERROR" => DemoCode::ParamError,
            other => DemoCode::Other(other.to_owned()),
        }
    }

    fn code(&self) -> &str {
        match self {
            DemoCode::SystemError => "SYSTEM_ERROR",
            DemoCode::FrequencyLimited => "FREQUENCY_LIMITED",
            DemoCode::ParamError => "PARAM_ERROR",
            DemoCode::Other(code) => code,
        }
    }

    const TABLE: &'static [ErrorDoc] = &DEMO_ERRORS;
}

static DEMO_TYPE: TypeInfo = TypeInfo {
    name: "DemoRequest",
    description: "demo",
    fields: &[],
    rules: &[],
    provenance: wechatpay_runtime::Provenance::PAGE,
};

pub const fn info(
    operation_id: &'static str,
    method: Method,
    path_template: &'static str,
    auth: AuthScheme,
) -> EndpointInfo {
    EndpointInfo {
        operation_id,
        title: "demo",
        doc_updated: Some("2025-01-01"),
        pages: &[],
        complete: Some(true),
        notes: &[],
        method,
        path: PathTemplate::new(path_template),
        auth,
        brand_field: None,
        twin_of: None,
        body: match method {
            Method::Get => BodyKind::None,
            _ => BodyKind::Json,
        },
        headers: &[],
        rate_limit_source: None,
        rate_limit: None,
        rate_per_second: None,
        request: &DEMO_TYPE,
        response: &DEMO_TYPE,
        request_number: None,
        pagination: None,
        follow_up: None,
        errors: &DEMO_ERRORS,
        request_examples: &[],
        response_examples: &[],
    }
}

/// Brand: `POST /brand/marketing/product-coupon/users/{openid}/coupons`.
pub struct DemoBrandSend;

/// `DemoRequest` is the request of every demo endpoint: calls name theirs,
/// `client.execute::<_, DemoBrandSend>(&request)`.
impl wechatpay_runtime::OperationRequest<DemoBrandSend> for DemoRequest {}

impl Endpoint for DemoBrandSend {
    type Request = DemoRequest;
    type Response = DemoResponse;
    type ErrorCode = DemoCode;
    const INFO: &'static EndpointInfo = &info(
        "demo-brand-send",
        Method::Post,
        "/brand/marketing/product-coupon/users/{openid}/coupons",
        AuthScheme::Brand,
    );

    fn path(request: &DemoRequest) -> String {
        format!(
            "/brand/marketing/product-coupon/users/{}/coupons",
            encode_path_segment(&request.openid)
        )
    }
}

/// Merchant: `POST /v3/marketing/busifavor/users/{openid}/coupons`.
pub struct DemoMerchantSend;

/// `DemoRequest` is the request of every demo endpoint: calls name theirs,
/// `client.execute::<_, DemoMerchantSend>(&request)`.
impl wechatpay_runtime::OperationRequest<DemoMerchantSend> for DemoRequest {}

impl Endpoint for DemoMerchantSend {
    type Request = DemoRequest;
    type Response = DemoResponse;
    type ErrorCode = DemoCode;
    const INFO: &'static EndpointInfo = &info(
        "demo-merchant-send",
        Method::Post,
        "/v3/marketing/busifavor/users/{openid}/coupons",
        AuthScheme::Merchant,
    );

    fn path(request: &DemoRequest) -> String {
        format!(
            "/v3/marketing/busifavor/users/{}/coupons",
            encode_path_segment(&request.openid)
        )
    }
}

/// Service provider: `POST /v3/marketing/partner/product-coupon/users/{openid}/coupons`.
pub struct DemoPartnerSend;

/// `DemoRequest` is the request of every demo endpoint: calls name theirs,
/// `client.execute::<_, DemoPartnerSend>(&request)`.
impl wechatpay_runtime::OperationRequest<DemoPartnerSend> for DemoRequest {}

impl Endpoint for DemoPartnerSend {
    type Request = DemoRequest;
    type Response = DemoResponse;
    type ErrorCode = DemoCode;
    const INFO: &'static EndpointInfo = &info(
        "demo-partner-send",
        Method::Post,
        "/v3/marketing/partner/product-coupon/users/{openid}/coupons",
        AuthScheme::Partner,
    );

    fn path(request: &DemoRequest) -> String {
        format!(
            "/v3/marketing/partner/product-coupon/users/{}/coupons",
            encode_path_segment(&request.openid)
        )
    }
}

/// Merchant: `GET /v3/marketing/busifavor/users/{openid}/coupons?…` with a query.
pub struct DemoMerchantQuery;

/// `DemoRequest` is the request of every demo endpoint: calls name theirs,
/// `client.execute::<_, DemoMerchantQuery>(&request)`.
impl wechatpay_runtime::OperationRequest<DemoMerchantQuery> for DemoRequest {}

impl Endpoint for DemoMerchantQuery {
    type Request = DemoRequest;
    type Response = DemoResponse;
    type ErrorCode = DemoCode;
    const INFO: &'static EndpointInfo = &info(
        "demo-merchant-query",
        Method::Get,
        "/v3/marketing/busifavor/users/{openid}/coupons",
        AuthScheme::Merchant,
    );

    fn path(request: &DemoRequest) -> String {
        format!(
            "/v3/marketing/busifavor/users/{}/coupons",
            encode_path_segment(&request.openid)
        )
    }

    fn query(request: &DemoRequest) -> Option<String> {
        Some(format!(
            "out_request_no={}&limit=10&note={}",
            encode_path_segment(&request.out_request_no),
            encode_path_segment(&request.note)
        ))
    }
}

/// Merchant: `POST /v3/demo/empty` answering 204 with no body.
pub struct DemoNoContent;

/// `DemoRequest` is the request of every demo endpoint: calls name theirs,
/// `client.execute::<_, DemoNoContent>(&request)`.
impl wechatpay_runtime::OperationRequest<DemoNoContent> for DemoRequest {}

impl Endpoint for DemoNoContent {
    type Request = DemoRequest;
    type Response = ();
    type ErrorCode = DemoCode;
    const INFO: &'static EndpointInfo = &info(
        "demo-no-content",
        Method::Post,
        "/v3/demo/empty",
        AuthScheme::Merchant,
    );

    fn path(_: &DemoRequest) -> String {
        "/v3/demo/empty".to_owned()
    }
}
