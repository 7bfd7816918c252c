//! WeChat Pay does not promise unique reply nonces: two different replies
//! carrying the same `Wechatpay-Nonce` within the ±300 s window must both
//! verify (the client keeps no nonce cache that would reject the second).

use crate::support::*;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use wechatpay_transport::verify::verify_reply;
use wechatpay_transport::PublicKeyStore;

const NONCE: &str = "SAMENONCE0123456789abcdefABCDEF0";

/// A reply signed by OpenSSL with a chosen nonce.
fn reply_with_nonce(body: &str, timestamp: i64) -> Reply {
    let message = format!("{timestamp}\n{NONCE}\n{body}\n");
    Reply::new(200, body.as_bytes().to_vec())
        .header("Wechatpay-Timestamp", timestamp.to_string())
        .header("Wechatpay-Nonce", NONCE)
        .header(
            "Wechatpay-Signature",
            openssl_sign("wechatpay_key.pem", message.as_bytes()),
        )
        .header("Wechatpay-Serial", PUB_KEY_ID)
        .header("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048")
}

fn header_map(reply: &Reply) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in &reply.headers {
        map.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    map
}

#[test]
fn verify_reply_accepts_two_different_replies_with_the_same_nonce() {
    let mut keys = PublicKeyStore::new();
    keys.add_public_key_pem(PUB_KEY_ID, fixture_text("wechatpay_pub.pem"))
        .unwrap();
    let t = 1_700_000_000;
    let first = reply_with_nonce(r#"{"coupon_code":"A"}"#, t);
    let second = reply_with_nonce(r#"{"coupon_code":"B"}"#, t + 200);
    let a = verify_reply(&header_map(&first), &first.body, t + 10, &keys).unwrap();
    let b = verify_reply(&header_map(&second), &second.body, t + 210, &keys).unwrap();
    assert_eq!(a.nonce, b.nonce);
    assert_ne!(first.body, second.body);
    // The same reply verified twice (a retry answered identically) passes too.
    verify_reply(&header_map(&first), &first.body, t + 20, &keys).unwrap();
    // Still a real check: the nonce is part of the signed message.
    let mut swapped = header_map(&second);
    swapped.insert("Wechatpay-Nonce", HeaderValue::from_static("OTHER"));
    assert!(verify_reply(&swapped, &second.body, t + 210, &keys).is_err());
}

#[tokio::test]
async fn the_client_accepts_replies_that_reuse_a_nonce() {
    let server =
        TestServer::start(|_, i| reply_with_nonce(&format!(r#"{{"coupon_code":"C{i}"}}"#), now()))
            .await;
    let client = merchant_builder(&server.url()).build().unwrap();
    for i in 0..3 {
        let reply = client
            .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
            .await
            .unwrap();
        assert_eq!(reply.coupon_code, format!("C{i}"));
    }
}
