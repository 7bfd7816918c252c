//! WeChat Pay does not promise unique reply nonces: two different replies
//! carrying the same `Wechatpay-Nonce` within the ±300 s window must both
//! verify (the client keeps no nonce cache that would reject the second).

use crate::support::*;
use http::HeaderValue;
use wechatpay_protocol::verify::verify_reply;
use wechatpay_protocol::PublicKeyStore;

const NONCE: &str = "SAMENONCE0123456789abcdefABCDEF0";

/// A reply signed by OpenSSL with the one nonce.
fn reply_with_nonce(body: &str, timestamp: i64) -> Reply {
    nonce_reply(body, NONCE, timestamp)
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
