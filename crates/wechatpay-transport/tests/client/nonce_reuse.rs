//! WeChat Pay does not promise unique reply nonces: two different replies
//! carrying the same `Wechatpay-Nonce` within the ±300 s window must both
//! verify (the client keeps no nonce cache that would reject the second).
//! `verify_reply` itself is tested in wechatpay-protocol (`tests/protocol/nonce_reuse.rs`).

use crate::support::*;

const NONCE: &str = "SAMENONCE0123456789abcdefABCDEF0";

/// A reply signed by OpenSSL with the one nonce.
fn reply_with_nonce(body: &str, timestamp: i64) -> Reply {
    nonce_reply(body, NONCE, timestamp)
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
