//! Signatures are checked against OpenSSL, never only against ourselves.

use std::process::Command;

use crate::support::*;
use wechatpay_transport::crypto::{signer_from_pem, verifier_from_pem, Backend};
use wechatpay_transport::sign::{
    authorization_header, reply_message, request_message, sign_reply, sign_request, RequestToSign,
};
use wechatpay_transport::verify::{verify_request, verify_signed};
use wechatpay_transport::{
    AuthScheme, Authorization, Certificate, PrivateKeyDer, PublicKeyDer, PublicKeyStore,
    VerifyError,
};

fn backends() -> Vec<Backend> {
    #[allow(unused_mut)]
    let mut all = vec![Backend::AwsLc];
    #[cfg(feature = "rsa-backend")]
    all.push(Backend::RsaCrate);
    all
}

#[test]
fn signatures_equal_openssl_for_pkcs8_and_pkcs1_keys_and_every_backend() {
    let message = request_message(
        "POST",
        "/v3/marketing/busifavor/product-coupons/send",
        "1554208460",
        "593BEC0C930BF1AFEB40B4A08C8FB242",
        format!("{{\"note\":\"{CHINESE_NOTE}\"}}").as_bytes(),
    );
    let expected = openssl_sign("merchant_key.pem", &message);
    assert_eq!(expected.len(), 344, "a 2048-bit signature in Base64");
    for file in ["merchant_key.pem", "merchant_key_pkcs1.pem"] {
        let key = PrivateKeyDer::from_pem(fixture_text(file)).unwrap();
        for backend in backends() {
            let signer = backend.signer(&key).unwrap();
            let auth = sign_request(
                signer.as_ref(),
                AuthScheme::Merchant,
                MCHID,
                SERIAL_NO,
                &RequestToSign {
                    method: "POST",
                    url: "/v3/marketing/busifavor/product-coupons/send",
                    body: format!("{{\"note\":\"{CHINESE_NOTE}\"}}").as_bytes(),
                    timestamp: 1554208460,
                    nonce: "593BEC0C930BF1AFEB40B4A08C8FB242",
                },
            )
            .unwrap();
            assert_eq!(auth.signature, expected, "{file} with {}", backend.name());
        }
    }
}

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

#[test]
fn reply_signatures_from_sign_reply_verify_with_openssl() {
    let signer = signer_from_pem(fixture_text("wechatpay_key.pem")).unwrap();
    let body = format!("{{\"coupon_code\":\"{CHINESE_NOTE}\"}}");
    let headers = sign_reply(
        signer.as_ref(),
        PUB_KEY_ID,
        1_700_000_000,
        "n0nce",
        body.as_bytes(),
    )
    .unwrap();
    assert_eq!(headers.serial, PUB_KEY_ID);
    assert_eq!(headers.signature_type, "WECHATPAY2-SHA256-RSA2048");
    let message = reply_message("1700000000", "n0nce", body.as_bytes());
    assert!(openssl_verify(
        "wechatpay_pub.pem",
        &message,
        &headers.signature
    ));
    assert_eq!(
        headers.signature,
        openssl_sign("wechatpay_key.pem", &message)
    );

    // And a client's verification accepts it.
    let mut keys = PublicKeyStore::new();
    keys.add_public_key_pem(PUB_KEY_ID, fixture_text("wechatpay_pub.pem"))
        .unwrap();
    assert_eq!(
        verify_signed(&headers, body.as_bytes(), 1_700_000_100, &keys),
        Ok(())
    );
}

/// Server side: a request signed by OpenSSL verifies with ours; tampering does not.
#[test]
fn verify_request_accepts_openssl_signed_requests() {
    let body = format!("{{\"note\":\"{CHINESE_NOTE}\"}}");
    let url = "/brand/marketing/product-coupon/users/o%2Fx/coupons";
    let ts = "1700000000";
    let nonce = "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6";
    let message = request_message("POST", url, ts, nonce, body.as_bytes());
    let signature = openssl_sign("merchant_key.pem", &message);
    let header = authorization_header(
        AuthScheme::Brand,
        BRAND_ID,
        SERIAL_NO,
        nonce,
        ts,
        &signature,
    );
    let auth = Authorization::parse(&header).unwrap();
    assert_eq!(auth.scheme, AuthScheme::Brand);
    assert_eq!(auth.identity, BRAND_ID);
    assert_eq!(auth.serial_no, SERIAL_NO);

    for backend in backends() {
        let verifier = backend
            .verifier(&PublicKeyDer::from_pem(fixture_text("merchant_pub.pem")).unwrap())
            .unwrap();
        let v = verifier.as_ref();
        assert_eq!(
            verify_request(&auth, "POST", url, body.as_bytes(), 1_700_000_010, v),
            Ok(())
        );
        assert_eq!(
            verify_request(&auth, "POST", url, b"{}", 1_700_000_010, v),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            verify_request(&auth, "PUT", url, body.as_bytes(), 1_700_000_010, v),
            Err(VerifyError::BadSignature)
        );
        assert!(matches!(
            verify_request(&auth, "POST", url, body.as_bytes(), 1_700_000_300, v),
            Err(VerifyError::TimestampSkew { skew_secs: 300, .. })
        ));
    }
    // A verifier built from a certificate works too.
    let cert_verifier = verifier_from_pem(fixture_text("platform_cert.pem")).unwrap();
    let platform_sig = openssl_sign("platform_key.pem", &message);
    let auth = Authorization {
        signature: platform_sig,
        ..auth
    };
    assert_eq!(
        verify_request(
            &auth,
            "POST",
            url,
            body.as_bytes(),
            1_700_000_000,
            cert_verifier.as_ref()
        ),
        Ok(())
    );
}

fn openssl_serial(cert_pem: &std::path::Path) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-serial", "-in"])
        .arg(cert_pem)
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .trim_start_matches("serial=")
        .to_owned()
}

#[test]
fn certificate_serials_match_openssl() {
    let cert = Certificate::from_pem(fixture_text("platform_cert.pem")).unwrap();
    assert_eq!(cert.serial, openssl_serial(&fixture("platform_cert.pem")));
    assert_eq!(cert.serial, PLATFORM_SERIAL);

    // A serial with the high bit set is DER-encoded with a leading zero byte.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cert.pem");
    let status = Command::new("openssl")
        .args(["req", "-x509", "-new", "-key"])
        .arg(fixture("platform_key.pem"))
        .args([
            "-subj",
            "/CN=high bit",
            "-days",
            "1",
            "-set_serial",
            "0x8A0000000000000000000000000000000000000F",
            "-out",
        ])
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    let cert = Certificate::from_pem(std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(cert.serial, openssl_serial(&path));
    assert_eq!(cert.serial, "8A0000000000000000000000000000000000000F");
}

#[test]
fn key_loading_errors_name_what_is_wrong() {
    let err = PrivateKeyDer::from_pem(fixture_text("wechatpay_pub.pem")).unwrap_err();
    assert!(err.to_string().contains("found: PUBLIC KEY"), "{err}");
    let err = PublicKeyDer::from_pem(fixture_text("merchant_key.pem")).unwrap_err();
    assert!(err.to_string().contains("public key"), "{err}");
    let err = PrivateKeyDer::from_pem_file("/nonexistent/key.pem").unwrap_err();
    assert!(err.to_string().contains("/nonexistent/key.pem"), "{err}");
    // A DER blob that is not a key is rejected by the backend, not a panic.
    let junk = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    let err = signer_from_pem(junk).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("private key: the key was rejected"),
        "{err}"
    );
}
