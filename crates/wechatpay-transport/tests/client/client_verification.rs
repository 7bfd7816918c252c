//! The client against a local server that checks every request with OpenSSL
//! and answers signed with OpenSSL; then tampered replies, each rejected with
//! the right error.

use std::sync::{Arc, Mutex};

use crate::support::*;
use wechatpay_transport::ErrorKind;
use wechatpay_transport::{
    AuthScheme, ConfigError, HeaderError, ManualClock, RetryPolicy, VerifyError,
};

const OK_BODY: &str = r#"{"coupon_code":"COUPON-券-001"}"#;

#[tokio::test]
async fn verified_round_trip_decodes_the_response() {
    let server =
        TestServer::start(checking(AuthScheme::Brand, BRAND_ID, |_| ok_reply(OK_BODY))).await;
    let client = brand_builder(&server.url()).build().unwrap();
    let reply = client
        .execute::<_, DemoBrandSend>(&DemoRequest::new("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"))
        .await
        .unwrap();
    assert_eq!(reply.coupon_code, "COUPON-券-001");
    assert_eq!(server.count(), 1);
    assert_eq!(
        server.requests()[0].header("wechatpay-serial"),
        Some(PUB_KEY_ID)
    );

    // The raw entry point returns the verified bytes, status and headers.
    let raw = client
        .execute_raw(
            <DemoBrandSend as wechatpay_transport::Endpoint>::INFO,
            "/brand/marketing/product-coupon/users/abc/coupons",
            br#"{"out_request_no":"R1"}"#.to_vec(),
            Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(raw.status, 200);
    assert_eq!(raw.body, OK_BODY.as_bytes());
    assert_eq!(
        raw.request_id(),
        Some("08F4D8A1B2C3D4E5F6A7B8C9D0E1F2A3B4C5D6")
    );
    assert_eq!(raw.signature.serial, PUB_KEY_ID);
    assert_eq!(server.requests()[1].body, br#"{"out_request_no":"R1"}"#);
}

/// How the server spoils a good reply.
#[derive(Debug, Clone)]
enum Spoil {
    TamperBody,
    ShiftTimestamp(i64),
    Drop(&'static str),
    UnknownSerial,
    Probe,
    BadBase64,
    WrongKey,
    BadTimestamp,
    SignatureType,
}

fn spoiled(spoil: &Spoil) -> Reply {
    let now = now();
    match spoil {
        Spoil::TamperBody => {
            let mut r = ok_reply(OK_BODY);
            r.body = br#"{"coupon_code":"COUPON-EVIL"}"#.to_vec();
            r
        }
        Spoil::ShiftTimestamp(by) => {
            signed_reply(200, OK_BODY, "wechatpay_key.pem", PUB_KEY_ID, now + by)
        }
        Spoil::Drop(header) => ok_reply(OK_BODY).without_header(header),
        Spoil::UnknownSerial => {
            signed_reply(200, OK_BODY, "wechatpay_key.pem", "PUB_KEY_ID_UNKNOWN", now)
        }
        Spoil::Probe => ok_reply(OK_BODY).set_header(
            "Wechatpay-Signature",
            "WECHATPAY/SIGNTEST/8E7C1F4A2B0D9E6C3A5F7B1D2E4C6A8F",
        ),
        Spoil::BadBase64 => ok_reply(OK_BODY).set_header("Wechatpay-Signature", "not*base64!"),
        Spoil::WrongKey => signed_reply(200, OK_BODY, "merchant_key.pem", PUB_KEY_ID, now),
        Spoil::BadTimestamp => ok_reply(OK_BODY).set_header("Wechatpay-Timestamp", "17e8"),
        Spoil::SignatureType => {
            ok_reply(OK_BODY).set_header("Wechatpay-Signature-Type", "WECHATPAY2-SM2-WITH-SM3")
        }
    }
}

#[tokio::test]
async fn every_spoiled_reply_is_rejected_with_the_check_that_failed() {
    type Check = fn(&VerifyError) -> bool;
    let cases: Vec<(Spoil, Check)> = vec![
        (Spoil::TamperBody, |e| *e == VerifyError::BadSignature),
        // The server stamps and the client checks on the wall clock, so a second may tick in between.
        (Spoil::ShiftTimestamp(301), |e| {
            matches!(
                e,
                VerifyError::TimestampSkew {
                    skew_secs: 300..=301,
                    ..
                }
            )
        }),
        (Spoil::ShiftTimestamp(-301), |e| {
            matches!(
                e,
                VerifyError::TimestampSkew {
                    skew_secs: 301..=310,
                    ..
                }
            )
        }),
        (Spoil::Drop("Wechatpay-Timestamp"), |e| {
            *e == VerifyError::Header(HeaderError::Missing("Wechatpay-Timestamp"))
        }),
        (Spoil::Drop("Wechatpay-Nonce"), |e| {
            *e == VerifyError::Header(HeaderError::Missing("Wechatpay-Nonce"))
        }),
        (Spoil::Drop("Wechatpay-Signature"), |e| {
            *e == VerifyError::Header(HeaderError::Missing("Wechatpay-Signature"))
        }),
        (Spoil::Drop("Wechatpay-Serial"), |e| {
            *e == VerifyError::Header(HeaderError::Missing("Wechatpay-Serial"))
        }),
        // A missing Wechatpay-Signature-Type is not a spoiled reply: the
        // request's scheme is assumed (see real_replies.rs).
        (Spoil::UnknownSerial, |e| {
            *e == VerifyError::UnknownSerial("PUB_KEY_ID_UNKNOWN".into())
        }),
        (Spoil::Probe, |e| *e == VerifyError::ProbeSignature),
        (Spoil::BadBase64, |e| *e == VerifyError::BadBase64),
        (Spoil::WrongKey, |e| *e == VerifyError::BadSignature),
        (Spoil::BadTimestamp, |e| {
            matches!(
                e,
                VerifyError::Header(HeaderError::Malformed {
                    header: "Wechatpay-Timestamp",
                    ..
                })
            )
        }),
        (Spoil::SignatureType, |e| {
            matches!(e, VerifyError::UnsupportedSignatureType(_))
        }),
    ];
    let current = Arc::new(Mutex::new(Spoil::TamperBody));
    let shared = current.clone();
    let server = TestServer::start(checking(AuthScheme::Merchant, MCHID, move |_| {
        spoiled(&shared.lock().unwrap())
    }))
    .await;
    let client = merchant_builder(&server.url()).build().unwrap();
    // Control: an unspoiled reply passes through the same server.
    let good =
        TestServer::start(checking(AuthScheme::Merchant, MCHID, |_| ok_reply(OK_BODY))).await;
    let good_client = merchant_builder(&good.url()).build().unwrap();
    good_client
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
        .unwrap();

    for (spoil, check) in cases {
        *current.lock().unwrap() = spoil.clone();
        let before = server.count();
        let err = client
            .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
            .await
            .unwrap_err();
        match err.kind() {
            ErrorKind::Verification {
                error, status: 200, ..
            } if check(error) => {}
            other => panic!("{spoil:?}: unexpected {other:?}"),
        }
        // A reply that fails verification is never retried or decoded.
        assert_eq!(server.count(), before + 1, "{spoil:?}");
        assert!(!err.nothing_sent());
    }
}

/// The client's clock decides freshness: a reply signed "now" is stale for a
/// client whose clock is 301 s ahead, and fresh at 299 s.
#[tokio::test]
async fn freshness_follows_the_injected_clock() {
    let server = TestServer::start(|_, _| ok_reply(OK_BODY)).await;
    let clock = Arc::new(ManualClock::new(now() + 301));
    let client = merchant_builder(&server.url())
        .clock(clock.clone())
        .build()
        .unwrap();
    let err = client
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Verification {
                error: VerifyError::TimestampSkew { .. },
                ..
            }
        ),
        "{err:?}"
    );
    clock.set(now() + 295);
    client
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
        .unwrap();
    // The request timestamp comes from the same clock.
    let auth = server.requests()[1].auth();
    let ts: i64 = auth.get("timestamp").parse().unwrap();
    assert!((ts - (now() + 295)).abs() <= 2);
}

/// Public key id and platform certificate configured at once (migration).
#[tokio::test]
async fn both_key_kinds_at_once_verify_replies_signed_by_either() {
    let by_cert = Arc::new(Mutex::new(false));
    let flag = by_cert.clone();
    let server = TestServer::start(checking(AuthScheme::Merchant, MCHID, move |_| {
        if *flag.lock().unwrap() {
            signed_reply(200, OK_BODY, "platform_key.pem", PLATFORM_SERIAL, now())
        } else {
            ok_reply(OK_BODY)
        }
    }))
    .await;
    let client = merchant_builder(&server.url())
        .platform_certificate_file(fixture("platform_cert.pem"))
        .build()
        .unwrap();
    assert_eq!(client.config().wechatpay_serial(), PUB_KEY_ID);
    client
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
        .unwrap();
    *by_cert.lock().unwrap() = true;
    client
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
        .unwrap();

    // A certificate-only merchant names the certificate serial on requests.
    let cert_only =
        wechatpay_transport::Client::builder(wechatpay_transport::Identity::merchant(MCHID))
            .serial_no(SERIAL_NO)
            .private_key_file(fixture("merchant_key.pem"))
            .platform_certificate_pem(fixture_text("platform_cert.pem"))
            .base_url(server.url())
            .build()
            .unwrap();
    cert_only
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
        .unwrap();
    assert_eq!(
        server.requests()[2].header("wechatpay-serial"),
        Some(PLATFORM_SERIAL)
    );
}

#[tokio::test]
async fn error_replies_become_api_errors_with_typed_codes() {
    let body = r#"{"code":"PARAM_ERROR","message":"openid 不合法","detail":{"field":"openid"}}"#;
    let server = TestServer::start(move |_, i| match i {
        0 => signed_reply(400, body, "wechatpay_key.pem", PUB_KEY_ID, now()),
        1 => {
            Reply::new(404, r#"{"code":"NOT_FOUND","message":"x"}"#).header("Request-ID", "RID-404")
        }
        2 => {
            let mut r = signed_reply(400, body, "wechatpay_key.pem", PUB_KEY_ID, now());
            r.body = br#"{"code":"PARAM_ERROR","message":"forged"}"#.to_vec();
            r
        }
        _ => Reply::new(502, "<html>bad gateway</html>"),
    })
    .await;
    let client = merchant_builder(&server.url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let request = DemoRequest::new("o1");
    let call = || client.execute::<_, DemoMerchantSend>(&request);

    let ErrorKind::Api(api) = call().await.unwrap_err().into_kind() else {
        panic!("expected an API error")
    };
    assert_eq!(api.status, 400);
    assert_eq!(api.code, DemoCode::ParamError);
    assert_eq!(api.raw_code, "PARAM_ERROR");
    assert_eq!(api.message, "openid 不合法");
    assert_eq!(api.detail, Some(serde_json::json!({"field": "openid"})));
    assert_eq!(
        api.request_id.as_deref(),
        Some("08F4D8A1B2C3D4E5F6A7B8C9D0E1F2A3B4C5D6")
    );
    assert!(api.verified);

    // Unsigned error replies are reported, marked unverified.
    let err = call().await.unwrap_err();
    assert_eq!(err.request_id(), Some("RID-404"));
    let ErrorKind::Api(api) = err.into_kind() else {
        panic!()
    };
    assert_eq!(api.code, DemoCode::Other("NOT_FOUND".into()));
    assert!(!api.verified);

    // An error reply whose signature does not match is a verification failure.
    let err = call().await.unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Verification {
                error: VerifyError::BadSignature,
                status: 400,
                ..
            }
        ),
        "{err:?}"
    );

    // A non-JSON error body keeps a snippet as the message.
    let ErrorKind::Api(api) = call().await.unwrap_err().into_kind() else {
        panic!()
    };
    assert_eq!(api.status, 502);
    assert_eq!(api.raw_code, "");
    assert_eq!(api.message, "<html>bad gateway</html>");
}

#[tokio::test]
async fn undecodable_verified_replies_are_decode_errors_with_a_bounded_snippet() {
    let long = format!(r#"{{"unexpected":"{}"}}"#, "x".repeat(2000));
    let server = TestServer::start(move |_, _| ok_reply(&long)).await;
    let client = merchant_builder(&server.url()).build().unwrap();
    let err = client
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
        .unwrap_err();
    let ErrorKind::Decode(decode) = err.kind() else {
        panic!("{err:?}")
    };
    assert!(
        decode.reason().contains("coupon_code"),
        "{}",
        decode.reason()
    );
    assert!(decode.snippet().starts_with(r#"{"unexpected":"xxx"#));
    assert!(decode.snippet().len() < 300);
    assert!(err.to_string().len() < 600);
    assert!(format!("{err:?}").len() < 800);
}

/// A signed 2xx reply of a real operation that lacks a field its response type
/// requires: the request took effect, so the error hands back the whole
/// verified body, byte for byte, while its messages stay bounded.
#[tokio::test]
async fn a_verified_reply_missing_a_required_field_keeps_its_whole_body() {
    use wechatpay_endpoints::{brand::SendUserProductCoupon, Endpoint as _};
    use wechatpay_models::SendUserProductCouponRequest;

    let mut entity: serde_json::Value =
        serde_json::from_str(SendUserProductCoupon::INFO.response_examples[0].body).unwrap();
    assert!(entity
        .as_object_mut()
        .unwrap()
        .remove("coupon_code")
        .is_some());
    // Long, non-ASCII and oddly spaced, so that only the exact bytes compare equal.
    entity["attach"] = "附加信息·".repeat(200).into();
    let body = format!("  {}\n", serde_json::to_string_pretty(&entity).unwrap());
    let served = body.clone();
    let server = TestServer::start(move |_, _| ok_reply(&served)).await;
    let client = brand_builder(&server.url()).build().unwrap();
    let request = SendUserProductCouponRequest::new(
        "oh-394z-6CGkNoJrsDLTTUKiAnp4",
        "1000000013",
        "1000000013001",
        "wx233544546545989",
        "DECODE_BODY_1",
    );
    let err = client.execute(&request).await.unwrap_err();
    assert_eq!(server.count(), 1, "a verified reply is never sent again");
    let ErrorKind::Decode(decode) = err.kind() else {
        panic!("{err:?}")
    };
    assert_eq!(decode.verified_body(), body.as_bytes());
    assert_eq!(decode.status(), 200);
    assert_eq!(
        decode.request_id(),
        Some("08F4D8A1B2C3D4E5F6A7B8C9D0E1F2A3B4C5D6")
    );
    assert_eq!(err.request_id(), decode.request_id());
    assert!(
        decode.reason().contains("missing field `coupon_code`"),
        "{}",
        decode.reason()
    );
    // What was answered can still be read from the verified body.
    let answered: serde_json::Value = serde_json::from_slice(decode.verified_body()).unwrap();
    assert_eq!(answered["coupon_state"], entity["coupon_state"]);
    // Display and Debug quote a snippet, never the whole body.
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(shown.len() < 1_000, "{}", shown.len());
        assert!(!shown.contains(&"附加信息·".repeat(200)), "{shown}");
    }
    assert!(err.to_string().contains(&format!("({} bytes)", body.len())));
    let ErrorKind::Decode(decode) = err.into_kind() else {
        unreachable!()
    };
    assert_eq!(decode.into_verified_body(), body.into_bytes());
}

#[tokio::test]
async fn empty_204_replies_decode_into_unit() {
    let server = TestServer::start(|_, _| {
        let mut r = signed_reply(204, "", "wechatpay_key.pem", PUB_KEY_ID, now());
        r.headers.retain(|(k, _)| k != "Content-Type");
        r
    })
    .await;
    let client = merchant_builder(&server.url()).build().unwrap();
    client
        .execute::<_, DemoNoContent>(&DemoRequest::new("o1"))
        .await
        .unwrap();
}

#[tokio::test]
async fn reply_bodies_past_the_limit_are_refused() {
    let big = format!(r#"{{"coupon_code":"{}"}}"#, "y".repeat(10_000));
    let server = TestServer::start(move |_, _| ok_reply(&big)).await;
    let client = merchant_builder(&server.url())
        .max_reply_bytes(4096)
        .build()
        .unwrap();
    let err = client
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::BodyTooLarge {
                limit: 4096,
                status: 200,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("4096"));

    // Without a Content-Length the limit is enforced while reading.
    let big = format!(r#"{{"coupon_code":"{}"}}"#, "z".repeat(10_000));
    let streamed = TestServer::start(move |_, _| {
        let mut reply = ok_reply(&big);
        reply.close_delimited = true;
        reply
    })
    .await;
    let client = merchant_builder(&streamed.url())
        .max_reply_bytes(4096)
        .build()
        .unwrap();
    let err = client
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::BodyTooLarge {
                limit: 4096,
                status: 200,
                ..
            }
        ),
        "{err:?}"
    );
    // Under the limit the same close-delimited reply is read whole and verified.
    let roomy = merchant_builder(&streamed.url()).build().unwrap();
    let reply = roomy
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
        .unwrap();
    assert_eq!(reply.coupon_code.len(), 10_000);
}

#[tokio::test]
async fn invalid_requests_send_nothing_and_list_every_violation() {
    let server = TestServer::start(|_, _| ok_reply(OK_BODY)).await;
    let client = merchant_builder(&server.url()).build().unwrap();
    let mut request = DemoRequest::new("");
    request.out_request_no = "has space and is far too long for the rule".into();
    let err = client
        .execute::<_, DemoMerchantSend>(&request)
        .await
        .unwrap_err();
    let ErrorKind::Validation(violations) = err.kind() else {
        panic!("{err:?}")
    };
    assert!(violations.has_path("openid"));
    assert!(violations.has_path("out_request_no"));
    assert_eq!(violations.as_slice().len(), 3, "{violations}");
    assert!(err.nothing_sent());
    assert_eq!(server.count(), 0);
}

#[tokio::test]
async fn scheme_mismatch_is_a_configuration_error_and_sends_nothing() {
    let server = TestServer::start(|_, _| ok_reply(OK_BODY)).await;
    let merchant = merchant_builder(&server.url()).build().unwrap();
    let err = merchant
        .execute::<_, DemoBrandSend>(&DemoRequest::new("o1"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Config(ConfigError::SchemeMismatch {
                needs: AuthScheme::Brand,
                configured: AuthScheme::Merchant,
                ..
            })
        ),
        "{err:?}"
    );
    let brand = brand_builder(&server.url()).build().unwrap();
    let err = brand
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("is a merchant API"), "{err}");
    assert_eq!(server.count(), 0);
}

/// A service provider signs with the merchant scheme and its mchid, yet the partner
/// family is a family of its own: the same wire scheme does not make a merchant
/// operation callable from a partner client, nor the other way round.
#[tokio::test]
async fn partner_and_merchant_are_different_families_on_one_wire_scheme() {
    let server =
        TestServer::start(checking(AuthScheme::Partner, MCHID, |_| ok_reply(OK_BODY))).await;
    let partner = partner_builder(&server.url()).build().unwrap();
    let merchant = merchant_builder(&server.url()).build().unwrap();
    let err = partner
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Config(ConfigError::SchemeMismatch {
                needs: AuthScheme::Merchant,
                configured: AuthScheme::Partner,
                ..
            })
        ),
        "{err:?}"
    );
    assert!(err.nothing_sent());
    let err = merchant
        .execute::<_, DemoPartnerSend>(&DemoRequest::new("o1"))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "demo-partner-send is a partner API but the client is configured for a merchant (mchid)"
    );
    assert_eq!(server.count(), 0);
    // Its own family goes out as WeChat Pay expects it (checked with OpenSSL).
    let sent = partner
        .execute::<_, DemoPartnerSend>(&DemoRequest::new("o1"))
        .await
        .unwrap();
    assert_eq!(sent.coupon_code, "COUPON-券-001");
    let request = &server.requests()[0];
    assert_eq!(request.auth().scheme, "WECHATPAY2-SHA256-RSA2048");
    assert_eq!(request.auth().get("mchid"), MCHID);
}

#[tokio::test]
async fn path_parameters_are_percent_encoded_and_signed_as_sent() {
    let server =
        TestServer::start(checking(AuthScheme::Brand, BRAND_ID, |_| ok_reply(OK_BODY))).await;
    let client = brand_builder(&server.url()).build().unwrap();
    client
        .execute::<_, DemoBrandSend>(&DemoRequest::new("o/b c?d#券%+"))
        .await
        .unwrap();
    assert_eq!(
        server.requests()[0].target,
        "/brand/marketing/product-coupon/users/o%2Fb%20c%3Fd%23%E5%88%B8%25%2B/coupons"
    );
    // Dot segments would be resolved away by the URL; refused, nothing sent.
    let err = client
        .execute::<_, DemoBrandSend>(&DemoRequest::new(".."))
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::InvalidPath { .. }),
        "{err:?}"
    );
    assert_eq!(server.count(), 1);
}

#[test]
fn brand_clients_need_a_public_key_not_only_certificates() {
    let err = wechatpay_transport::Client::builder(wechatpay_transport::Identity::brand(BRAND_ID))
        .serial_no(SERIAL_NO)
        .private_key_file(fixture("merchant_key.pem"))
        .platform_certificate_file(fixture("platform_cert.pem"))
        .build()
        .unwrap_err();
    assert_eq!(err, ConfigError::BrandNeedsPublicKey);

    let err = merchant_builder("http://127.0.0.1:1")
        .wechatpay_serial("PUB_KEY_ID_OTHER")
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        ConfigError::UnknownRequestSerial("PUB_KEY_ID_OTHER".into())
    );

    let err = merchant_builder("http://127.0.0.1:1")
        .private_key_pem("not a pem")
        .build()
        .unwrap_err();
    assert!(err.to_string().starts_with("private key"), "{err}");

    let err = wechatpay_transport::Client::builder(wechatpay_transport::Identity::merchant(MCHID))
        .private_key_file(fixture("merchant_key.pem"))
        .build()
        .unwrap_err();
    assert_eq!(err, ConfigError::Missing("serial_no"));
}
