//! The call API: what a successful call reports (`Response`), per-call
//! options, sending through an HTTP proxy or the caller's HTTP client, and
//! the size of the error type. (The `wechatpay.call` span is checked in the
//! `secrets` binary, which captures tracing output.)

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wechatpay_transport::{AuthScheme, CallOptions, Error, RawCode, RetryPolicy};

use crate::support::*;

const OK_BODY: &str = r#"{"coupon_code":"C-1"}"#;
const REQUEST_ID: &str = "08F4D8A1B2C3D4E5F6A7B8C9D0E1F2A3B4C5D6";

#[tokio::test]
async fn execute_with_returns_the_value_with_its_request_id_status_attempts_and_raw_body() {
    let server = TestServer::start(checking(AuthScheme::Merchant, MCHID, |i| {
        if i == 0 {
            Reply::new(500, r#"{"code":"SYSTEM_ERROR","message":"busy"}"#)
        } else {
            ok_reply(OK_BODY)
        }
    }))
    .await;
    let client = merchant_builder(&server.url()).build().unwrap();
    let request = DemoRequest::new("o1");
    let response = client
        .execute_with::<_, DemoMerchantSend>(&request, CallOptions::new().keep_raw_body(true))
        .await
        .unwrap();
    assert_eq!(response.coupon_code, "C-1", "derefs to the value");
    assert_eq!(response.request_id(), Some(REQUEST_ID));
    assert_eq!(response.status(), 200);
    assert_eq!(response.attempts(), 2);
    assert_eq!(response.raw_body(), Some(OK_BODY.as_bytes()));
    assert!(response.headers().contains_key("wechatpay-signature"));
    assert_eq!(response.into_inner().coupon_code, "C-1");

    // Without asking, no copy of the body is kept; a per-call retry policy applies.
    let server = TestServer::start(|_, _| Reply::new(500, r#"{"code":"SYSTEM_ERROR"}"#)).await;
    let client = merchant_builder(&server.url()).build().unwrap();
    let err = client
        .execute_with::<_, DemoMerchantSend>(
            &request,
            CallOptions::new().retry(RetryPolicy::none()),
        )
        .await
        .unwrap_err();
    assert_eq!(err.api_error().unwrap().attempts, 1);
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn a_per_call_timeout_bounds_each_attempt() {
    let server = TestServer::start(|_, _| {
        let mut reply = ok_reply(OK_BODY);
        reply.delay = Duration::from_secs(5);
        reply
    })
    .await;
    let client = merchant_builder(&server.url()).build().unwrap();
    let started = std::time::Instant::now();
    let err = client
        .execute_with::<_, DemoMerchantSend>(
            &DemoRequest::new("o1"),
            CallOptions::new()
                .timeout(Duration::from_millis(200))
                .retry(RetryPolicy::none()),
        )
        .await
        .unwrap_err();
    assert!(err.network_error().is_some(), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn an_error_is_at_most_24_bytes() {
    use std::mem::size_of;
    use wechatpay_endpoints::brand::SendUserProductCouponErrorCode;
    // Was 160 bytes with the API error inline.
    assert!(size_of::<Error<RawCode>>() <= 24);
    assert!(size_of::<Error<SendUserProductCouponErrorCode>>() <= 24);
    assert!(size_of::<Result<(), Error<SendUserProductCouponErrorCode>>>() <= 24);
}

/// What the proxy received on each connection: the bytes of the request as
/// the client sent them.
type Seen = Arc<Mutex<Vec<Vec<u8>>>>;

/// A minimal HTTP forward proxy on 127.0.0.1: reads one absolute-form
/// request (`POST http://host:port/path HTTP/1.1`), records its bytes,
/// forwards it in origin form to `host:port` and splices the reply back.
/// Bounded: 10 connections, 10 s per read.
async fn forward_proxy() -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let record = seen.clone();
    tokio::spawn(async move {
        for _ in 0..10 {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            let record = record.clone();
            tokio::spawn(async move {
                let _ = tokio::time::timeout(Duration::from_secs(10), relay(client, record)).await;
            });
        }
    });
    (url, seen)
}

async fn relay(mut client: TcpStream, seen: Seen) -> Option<()> {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        let mut chunk = [0u8; 4096];
        let n = client.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 64 * 1024 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).ok()?;
    let length: usize = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.trim().parse().unwrap_or(0));
    while buf.len() < head_end + length {
        let mut chunk = [0u8; 4096];
        let n = client.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    seen.lock().unwrap().push(buf.clone());
    // `POST http://127.0.0.1:PORT/path HTTP/1.1` → connect to 127.0.0.1:PORT, send `POST /path HTTP/1.1`.
    let (request_line, rest) = head.split_once("\r\n")?;
    let mut parts = request_line.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    let authority_and_path = target.strip_prefix("http://")?;
    let (authority, path) = match authority_and_path.find('/') {
        Some(i) => authority_and_path.split_at(i),
        None => (authority_and_path, "/"),
    };
    let mut upstream = TcpStream::connect(authority).await.ok()?;
    let mut forwarded = format!("{method} {path} {version}\r\n{rest}").into_bytes();
    forwarded.extend_from_slice(&buf[head_end..]);
    upstream.write_all(&forwarded).await.ok()?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream)
        .await
        .ok()?;
    Some(())
}

#[tokio::test]
async fn a_proxy_carries_the_signed_request_unchanged_and_the_reply_verifies() {
    let server =
        TestServer::start(checking(AuthScheme::Merchant, MCHID, |_| ok_reply(OK_BODY))).await;
    let (proxy, seen) = forward_proxy().await;
    // An explicit proxy, so HTTP(S)_PROXY / NO_PROXY in the environment play no part.
    let client = merchant_builder(&server.url())
        .proxy(proxy.as_str())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let reply = client
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
        .unwrap();
    assert_eq!(
        reply.coupon_code, "C-1",
        "the reply verified through the proxy"
    );

    let at_proxy = seen.lock().unwrap().clone();
    assert_eq!(at_proxy.len(), 1, "the request went through the proxy");
    let at_proxy = String::from_utf8(at_proxy[0].clone()).unwrap();
    let at_server = &server.requests()[0];
    // The proxy saw the absolute-form request for the server…
    assert!(
        at_proxy.starts_with(&format!(
            "POST {}/v3/marketing/busifavor/users/o1/coupons HTTP/1.1\r\n",
            server.url()
        )),
        "{at_proxy}"
    );
    // …with the very Authorization header and body the server received (and checked).
    let authorization = at_server.header("authorization").unwrap();
    assert!(
        at_proxy
            .lines()
            .any(|l| l.eq_ignore_ascii_case(&format!("authorization: {authorization}"))),
        "{at_proxy}"
    );
    assert!(at_proxy.as_bytes().ends_with(&at_server.body), "{at_proxy}");
}

#[test]
fn a_bad_proxy_url_is_a_configuration_error_naming_it_without_its_password() {
    let err = merchant_builder("http://127.0.0.1:9")
        .proxy("127.0.0.1:3128")
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("proxy") && err.contains("must start with http://"),
        "{err}"
    );
    let err = merchant_builder("http://127.0.0.1:9")
        .proxy("ftp://user:hunter2@proxy:21")
        .build()
        .unwrap_err()
        .to_string();
    assert!(err.contains("proxy") && !err.contains("hunter2"), "{err}");
    // The caller's HTTP client carries its own proxy: both at once is refused.
    let err = merchant_builder("http://127.0.0.1:9")
        .http_client(reqwest::Client::new())
        .proxy("http://127.0.0.1:3128")
        .build()
        .unwrap_err()
        .to_string();
    assert!(err.contains("http_client"), "{err}");
}

#[tokio::test]
async fn the_callers_http_client_is_used() {
    let server =
        TestServer::start(checking(AuthScheme::Merchant, MCHID, |_| ok_reply(OK_BODY))).await;
    let (proxy, seen) = forward_proxy().await;
    // The caller's client, with its own proxy: the requests go where it says.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .proxy(reqwest::Proxy::all(proxy.as_str()).unwrap())
        .build()
        .unwrap();
    let client = merchant_builder(&server.url())
        .http_client(http)
        .build()
        .unwrap();
    let reply = client
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
        .unwrap();
    assert_eq!(reply.coupon_code, "C-1");
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn the_platform_certificate_download_goes_through_the_proxy_too() {
    let server = TestServer::start(|_, _| {
        Reply::new(404, r#"{"code":"RESOURCE_NOT_EXISTS","message":"x"}"#)
    })
    .await;
    let (proxy, seen) = forward_proxy().await;
    let client = merchant_builder(&server.url())
        .proxy(proxy.as_str())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let key = wechatpay_transport::ApiV3Key::new("a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb").unwrap();
    let download = client.download_certificates(&key).await.unwrap();
    assert!(matches!(
        download,
        wechatpay_transport::CertificateDownload::PublicKeyOnly
    ));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert!(
        seen[0]
            .starts_with(format!("GET {}/v3/certificates HTTP/1.1\r\n", server.url()).as_bytes()),
        "{}",
        String::from_utf8_lossy(&seen[0])
    );
}

#[tokio::test]
async fn a_callers_client_that_follows_redirects_fails_the_call_instead_of_trusting_the_reply() {
    // The signed reply at the redirect target would verify: only where it came
    // from gives the redirect away.
    let server = TestServer::start(|request, _| {
        if request.target.ends_with("/elsewhere") {
            ok_reply(OK_BODY)
        } else {
            Reply::new(307, "").header("Location", "/elsewhere")
        }
    })
    .await;
    let client = merchant_builder(&server.url())
        .http_client(reqwest::Client::new())
        .build()
        .unwrap();
    let err = client
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), wechatpay_transport::ErrorKind::Redirected { to } if to.ends_with("/elsewhere")),
        "{err:?}"
    );
    assert!(!err.nothing_sent());
    assert_eq!(server.count(), 2, "followed once, not retried");
}
