//! Each finding of the hostile run against the earlier sandbox, as a request
//! that got the wrong answer then: idle and half-sent connections held open,
//! a repeated Authorization or Wechatpay-Serial (the first one won), an empty
//! nonce_str, invalid UTF-8 in a path parameter, an undocumented `--fault`
//! code, a fault list of which one fault was dropped, and every pre-send
//! answered with the same token. (Key pairs that do not match: `keys.rs`.)

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{addr, brand_authorization, raw, runtime, signed_head};
use wechatpay_models::{PreSendUserProductCouponBundleRequest, PreSendUserProductCouponRequest};
use wechatpay_sandbox::{Options, Sandbox};
use wechatpay_transport::headers::SignatureHeaders;
use wechatpay_transport::keystore::PublicKeyStore;
use wechatpay_transport::verify::verify_signed;

const GET_COUPON: &str = "/brand/marketing/product-coupon/users/o-h/coupons/C1?appid=wx1&product_coupon_id=1000000013&stock_id=1000000013001";

fn sandbox(dir: &std::path::Path) -> Sandbox {
    sandbox_with_read_timeout(dir, Duration::from_secs(1))
}

fn sandbox_with_read_timeout(dir: &std::path::Path, read_timeout: Duration) -> Sandbox {
    Sandbox::start(Options {
        read_timeout,
        ..Options::new(dir)
    })
    .unwrap()
}

/// How long the sandbox keeps a connection that sent `bytes` and then nothing.
fn held_for(sandbox: &Sandbox, bytes: &[u8]) -> (Duration, Vec<u8>) {
    let mut stream = TcpStream::connect_timeout(&addr(sandbox), Duration::from_secs(5)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(8)))
        .unwrap();
    stream.write_all(bytes).unwrap();
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                panic!(
                    "still open after {:?} (sent {:?})",
                    started.elapsed(),
                    String::from_utf8_lossy(bytes)
                )
            }
            Err(_) => break, // reset: closed
        }
    }
    (started.elapsed(), got)
}

#[test]
fn idle_and_half_sent_connections_are_closed_after_the_read_timeout() {
    let keys = common::keys();
    // Four connections wait the timeout out one after the other: keep it short.
    let sb = sandbox_with_read_timeout(keys.path(), Duration::from_millis(400));
    let (idle, _) = held_for(&sb, b"");
    let (head, _) = held_for(&sb, b"GET /sandbox/stats HTTP/1.1\r\nHost: sandbox\r\n");
    let (body, reply) = held_for(
        &sb,
        b"POST /sandbox/clock HTTP/1.1\r\nHost: sandbox\r\nContent-Length: 100\r\n\r\n{\"advance",
    );
    for (what, held) in [
        ("idle", idle),
        ("half-sent head", head),
        ("half-sent body", body),
    ] {
        assert!(held < Duration::from_secs(4), "{what}: held {held:?}");
    }
    let reply = String::from_utf8_lossy(&reply);
    assert!(
        reply.starts_with("HTTP/1.1 400") && reply.contains("did not arrive"),
        "{reply}"
    );
    // A keep-alive connection that finished a request is closed once idle too.
    let (after, reply) = held_for(&sb, b"GET /sandbox/stats HTTP/1.1\r\nHost: sandbox\r\n\r\n");
    assert!(String::from_utf8_lossy(&reply).starts_with("HTTP/1.1 200"));
    assert!(
        after < Duration::from_secs(4),
        "idle keep-alive held {after:?}"
    );
}

#[test]
fn repeated_authorization_or_wechatpay_serial_headers_are_refused() {
    let keys = common::keys();
    let sb = sandbox(keys.path());
    let serial = format!("Wechatpay-Serial: {}\r\n", sb.keys().identity.public_key_id);
    // The control: one of each is served (404: the coupon does not exist).
    let once = raw(&sb, &signed_head(&sb, "GET", GET_COUPON, b"", &serial), b"").unwrap();
    assert_eq!(once.status, 404, "{:?}", once.json());
    let auth = brand_authorization(
        &sb,
        "GET",
        GET_COUPON,
        b"",
        "nonce0nce0nce0nce0nce0nce0nce012",
    );
    let twice = format!("{serial}Authorization: {auth}\r\n");
    let reply = raw(&sb, &signed_head(&sb, "GET", GET_COUPON, b"", &twice), b"").unwrap();
    assert_eq!(
        (reply.status, reply.json()["code"].as_str()),
        (401, Some("SIGN_ERROR")),
        "{:?}",
        reply.json()
    );
    assert!(reply.json()["message"]
        .as_str()
        .unwrap()
        .contains("2 times"));
    let two_serials = format!("{serial}Wechatpay-Serial: PUB_KEY_ID_0000000000\r\n");
    let reply = raw(
        &sb,
        &signed_head(&sb, "GET", GET_COUPON, b"", &two_serials),
        b"",
    )
    .unwrap();
    assert_eq!(
        (reply.status, reply.json()["code"].as_str()),
        (400, Some("PARAM_ERROR"))
    );
    assert_eq!(reply.json()["detail"]["field"], "Wechatpay-Serial");
}

#[test]
fn an_empty_nonce_str_is_a_sign_error() {
    let keys = common::keys();
    let sb = sandbox(keys.path());
    let auth = brand_authorization(&sb, "GET", GET_COUPON, b"", "");
    assert!(auth.contains("nonce_str=\"\""), "{auth}");
    let head = format!(
        "GET {GET_COUPON} HTTP/1.1\r\nHost: s\r\nConnection: close\r\nAuthorization: {auth}\r\nWechatpay-Serial: {}\r\n\r\n",
        sb.keys().identity.public_key_id
    );
    let reply = raw(&sb, &head, b"").unwrap();
    assert_eq!(
        (reply.status, reply.json()["code"].as_str()),
        (401, Some("SIGN_ERROR"))
    );
    assert!(
        reply.json()["message"]
            .as_str()
            .unwrap()
            .contains("nonce_str"),
        "{:?}",
        reply.json()
    );
}

#[test]
fn invalid_utf8_in_a_path_parameter_is_a_param_error_naming_it() {
    let keys = common::keys();
    let sb = sandbox(keys.path());
    let serial = format!("Wechatpay-Serial: {}\r\n", sb.keys().identity.public_key_id);
    for url in [
        GET_COUPON.replace("/o-h/", "/%FF%FE/"),
        "/brand/marketing/product-coupon/users/%FF%FE/coupons".to_owned(),
    ] {
        let body: &[u8] = if url.ends_with("coupons") {
            br#"{"product_coupon_id":"1000000013","stock_id":"1000000013001","appid":"wx1","send_request_no":"HOSTILE_1"}"#
        } else {
            b""
        };
        let method = if body.is_empty() { "GET" } else { "POST" };
        let reply = raw(&sb, &signed_head(&sb, method, &url, body, &serial), body).unwrap();
        let json = reply.json();
        assert_eq!(
            (reply.status, json["code"].as_str()),
            (400, Some("PARAM_ERROR")),
            "{url}: {json}"
        );
        assert_eq!(json["detail"]["field"], "openid", "{json}");
    }
}

#[test]
fn fault_lists_apply_every_fault_or_are_refused() {
    let keys = common::keys();
    let e = Sandbox::start(Options {
        fault: Some("error=NOPE".into()),
        ..Options::new(keys.path())
    })
    .err()
    .expect("an undocumented code is refused at start");
    assert!(e.to_string().contains("NOPE"), "{e}");
    assert!(Sandbox::start(Options {
        fault: Some("error=SYSTEM_ERROR;status=429".into()),
        ..Options::new(keys.path())
    })
    .is_err());

    // error= with tamper-signature: the error reply's signature does not verify.
    let sb = sandbox(keys.path());
    let serial = format!(
        "Wechatpay-Serial: {}\r\nX-Sandbox-Fault: error=SYSTEM_ERROR;tamper-signature\r\n",
        sb.keys().identity.public_key_id
    );
    let reply = raw(&sb, &signed_head(&sb, "GET", GET_COUPON, b"", &serial), b"").unwrap();
    assert_eq!(
        (reply.status, reply.json()["code"].as_str()),
        (500, Some("SYSTEM_ERROR"))
    );
    let mut trusted = PublicKeyStore::new();
    trusted
        .add_public_key_pem(
            sb.keys().identity.public_key_id.clone(),
            std::fs::read(sb.keys().dir.join(wechatpay_sandbox::keys::WXP_PUB_FILE)).unwrap(),
        )
        .unwrap();
    let headers = SignatureHeaders::from_lookup(|n| reply.header(n)).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        verify_signed(&headers, &reply.body, now, &trusted).is_err(),
        "the signature was not tampered"
    );
}

#[test]
fn every_pre_send_gets_its_own_token() {
    let keys = common::keys();
    let sb = sandbox(keys.path());
    let client = common::brand_client(&sb);
    runtime().block_on(async {
        let single = |n: &str| {
            PreSendUserProductCouponRequest::new("o-p", "1000000013", "1000000013001", "wx1", n)
        };
        let bundle = |n: &str| {
            PreSendUserProductCouponBundleRequest::new("o-p", "200000001", "100232301", "wx1", n)
        };
        let a = client.execute(&single("PRESEND_1")).await.unwrap().token;
        let b = client.execute(&single("PRESEND_2")).await.unwrap().token;
        let c = client.execute(&bundle("PRESEND_3")).await.unwrap().token;
        let d = client.execute(&bundle("PRESEND_4")).await.unwrap().token;
        let again = client.execute(&single("PRESEND_1")).await.unwrap().token;
        assert_eq!(again, a, "the same request number keeps its token");
        let mut all = vec![&a, &b, &c, &d];
        all.dedup();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 4, "{a} {b} {c} {d}");
    });
}
