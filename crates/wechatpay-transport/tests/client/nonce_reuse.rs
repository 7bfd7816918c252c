//! WeChat Pay does not promise unique reply nonces: two different replies
//! carrying the same `Wechatpay-Nonce` within the ±300 s window must both
//! verify (the client keeps no nonce cache that would reject the second).
//! `verify_reply` itself is tested in wechatpay-protocol (`tests/protocol/nonce_reuse.rs`).

use crate::support::*;

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
