//! Signatures are checked against OpenSSL, never only against ourselves. The
//! signing functions themselves are tested in wechatpay-protocol
//! (`tests/protocol/signing_openssl.rs`); here, the client's own requests.

use crate::support::*;

/// The client's own requests, captured on the wire: the signature equals what
/// OpenSSL produces for the message rebuilt from the wire bytes.
#[tokio::test]
async fn client_signatures_equal_openssl_byte_for_byte() {
    let server = TestServer::start(|_, _| ok_reply(r#"{"coupon_code":"C1"}"#)).await;

    let merchant = merchant_builder(&server.url()).build().unwrap();
    let brand = brand_builder(&server.url()).build().unwrap();
    let request = DemoRequest::new("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o");
    merchant
        .execute::<_, DemoMerchantSend>(&request)
        .await
        .unwrap();
    brand.execute::<_, DemoBrandSend>(&request).await.unwrap();
    merchant
        .execute::<_, DemoMerchantQuery>(&request)
        .await
        .unwrap();

    let seen = server.requests();
    assert_eq!(seen.len(), 3);
    let schemes = [
        ("WECHATPAY2-SHA256-RSA2048", "mchid", MCHID),
        ("WECHATPAY-BRAND-SHA256-RSA2048", "brand_id", BRAND_ID),
        ("WECHATPAY2-SHA256-RSA2048", "mchid", MCHID),
    ];
    for (req, (scheme, param, id)) in seen.iter().zip(schemes) {
        let auth = req.auth();
        assert_eq!(auth.scheme, scheme);
        assert_eq!(auth.get(param), id);
        let ours = auth.get("signature");
        // merchant_key_pkcs1.pem is the same key in PKCS#1 form.
        let openssl = openssl_sign("merchant_key.pem", &req.signed_message());
        assert_eq!(ours, openssl, "{} {}", req.method, req.target);
    }
    // The POST body is the Chinese JSON, sent and signed as is.
    assert_eq!(
        String::from_utf8(seen[0].body.clone()).unwrap(),
        format!("{{\"out_request_no\":\"REQ-20250101-0001\",\"note\":\"{CHINESE_NOTE}\"}}")
    );
    // The GET carries the query in the signed URL and no body.
    assert_eq!(seen[2].method, "GET");
    assert!(seen[2].body.is_empty());
    assert_eq!(
        seen[2].target,
        format!(
            "/v3/marketing/busifavor/users/oUpF8uMuAJO_M2pxb1Q9zNjWeS6o/coupons?out_request_no=REQ-20250101-0001&limit=10&note={}",
            wechatpay_runtime::path::encode_component(CHINESE_NOTE)
        )
    );
    assert!(seen[2]
        .signed_message()
        .starts_with(format!("GET\n{}\n", seen[2].target).as_bytes()));
}
