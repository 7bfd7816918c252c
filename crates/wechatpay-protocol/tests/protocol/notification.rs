//! Notification resources against vectors made by a second implementation
//! (RustCrypto's `aes-gcm`, dev-dependency only), and whole notifications
//! signed with OpenSSL.

use std::sync::Arc;

use crate::support::*;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::Deserialize;
use wechatpay_protocol::notification::{decrypt_resource, encrypt_resource, EncryptedResource};
use wechatpay_protocol::{
    ApiV3Key, HeaderError, ManualClock, NotificationError, NotificationHandler, PublicKeyStore,
    VerifyError,
};

const API_V3_KEY: &str = "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb";
const NONCE: &str = "8IQLCe1NOCNl";
const EVENT_ID: &str = "EV-2018022511223320873";
const AD: &str = "product_coupon";
const PLAINTEXT: &str = r#"{"event":"PRODUCT_COUPON.SEND","coupon_code":"券-123","openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}"#;

/// A resource encrypted by the second implementation.
fn vector(plaintext: &str, key: &str, nonce: &str, ad: &str) -> EncryptedResource {
    let cipher = Aes256Gcm::new_from_slice(key.as_bytes()).unwrap();
    let ciphertext = cipher
        .encrypt(
            Nonce::from_slice(nonce.as_bytes()),
            Payload {
                msg: plaintext.as_bytes(),
                aad: ad.as_bytes(),
            },
        )
        .unwrap();
    assert_eq!(ciphertext.len(), plaintext.len() + 16, "tag appended");
    EncryptedResource {
        algorithm: "AEAD_AES_256_GCM".into(),
        ciphertext: BASE64.encode(ciphertext),
        nonce: nonce.into(),
        associated_data: ad.into(),
        original_type: "product_coupon".into(),
    }
}

fn key() -> ApiV3Key {
    ApiV3Key::new(API_V3_KEY).unwrap()
}

#[test]
fn decrypts_vectors_from_a_second_implementation() {
    let plain = decrypt_resource(&key(), &vector(PLAINTEXT, API_V3_KEY, NONCE, AD)).unwrap();
    assert_eq!(&plain[..], PLAINTEXT.as_bytes());
    let empty_ad = decrypt_resource(&key(), &vector(PLAINTEXT, API_V3_KEY, NONCE, "")).unwrap();
    assert_eq!(&empty_ad[..], PLAINTEXT.as_bytes());
}

#[test]
fn our_encryption_decrypts_with_the_second_implementation() {
    let ours = encrypt_resource(&key(), PLAINTEXT.as_bytes(), NONCE, AD, "product_coupon").unwrap();
    assert_eq!(ours, vector(PLAINTEXT, API_V3_KEY, NONCE, AD));
}

#[test]
fn tampering_wrong_keys_and_wrong_associated_data_are_rejected() {
    let good = vector(PLAINTEXT, API_V3_KEY, NONCE, AD);

    let mut raw = BASE64.decode(&good.ciphertext).unwrap();
    raw[3] ^= 1;
    let tampered = EncryptedResource {
        ciphertext: BASE64.encode(&raw),
        ..good.clone()
    };
    assert_eq!(
        decrypt_resource(&key(), &tampered),
        Err(NotificationError::Decrypt)
    );

    let mut raw = BASE64.decode(&good.ciphertext).unwrap();
    let last = raw.len() - 1;
    raw[last] ^= 0x80;
    let bad_tag = EncryptedResource {
        ciphertext: BASE64.encode(&raw),
        ..good.clone()
    };
    assert_eq!(
        decrypt_resource(&key(), &bad_tag),
        Err(NotificationError::Decrypt)
    );

    let wrong_key = ApiV3Key::new("b7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb").unwrap();
    assert_eq!(
        decrypt_resource(&wrong_key, &good),
        Err(NotificationError::Decrypt)
    );

    let wrong_ad = EncryptedResource {
        associated_data: "transaction".into(),
        ..good.clone()
    };
    assert_eq!(
        decrypt_resource(&key(), &wrong_ad),
        Err(NotificationError::Decrypt)
    );

    assert_eq!(
        ApiV3Key::new("a7cde1ZJB1kG2e7VfTs3jQzaWizur8G").unwrap_err(),
        NotificationError::KeyLength { len: 31 }
    );
    assert_eq!(
        ApiV3Key::new("a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gbx").unwrap_err(),
        NotificationError::KeyLength { len: 33 }
    );
    // 32 characters but not 32 bytes.
    assert_eq!(
        ApiV3Key::new("券7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb").unwrap_err(),
        NotificationError::KeyLength { len: 34 }
    );

    let not_base64 = EncryptedResource {
        ciphertext: "%%%".into(),
        ..good
    };
    assert_eq!(
        decrypt_resource(&key(), &not_base64),
        Err(NotificationError::BadBase64)
    );
}

#[derive(Debug, Deserialize, PartialEq)]
struct CouponEvent {
    event: String,
    coupon_code: String,
    openid: String,
}

fn handler() -> NotificationHandler {
    let mut keys = PublicKeyStore::new();
    keys.add_public_key_pem(PUB_KEY_ID, fixture_text("wechatpay_pub.pem"))
        .unwrap();
    NotificationHandler::new(keys, key())
}

#[test]
fn signed_notifications_verify_then_decrypt_into_the_callers_type() {
    let body = notification_body(EVENT_ID, &vector(PLAINTEXT, API_V3_KEY, NONCE, AD));
    let signed = signed_reply(200, &body, "wechatpay_key.pem", PUB_KEY_ID, now());
    let event = handler()
        .handle::<CouponEvent>(&header_map(&signed), body.as_bytes())
        .unwrap();
    assert_eq!(event.notification.event_type, "PRODUCT_COUPON.SEND");
    assert_eq!(event.notification.id, "EV-2018022511223320873");
    assert_eq!(
        event.resource,
        CouponEvent {
            event: "PRODUCT_COUPON.SEND".into(),
            coupon_code: "券-123".into(),
            openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into(),
        }
    );
}

#[test]
fn notifications_follow_the_reply_rules_before_any_decryption() {
    let body = notification_body(EVENT_ID, &vector(PLAINTEXT, API_V3_KEY, NONCE, AD));
    let signed = signed_reply(200, &body, "wechatpay_key.pem", PUB_KEY_ID, now());
    let h = handler();

    let tampered = body.replace("EV-2018", "EV-2019");
    assert_eq!(
        h.handle::<CouponEvent>(&header_map(&signed), tampered.as_bytes())
            .unwrap_err(),
        NotificationError::Verify(VerifyError::BadSignature)
    );
    let stale = signed_reply(200, &body, "wechatpay_key.pem", PUB_KEY_ID, now() - 301);
    assert!(matches!(
        h.handle::<CouponEvent>(&header_map(&stale), body.as_bytes()),
        Err(NotificationError::Verify(VerifyError::TimestampSkew { .. }))
    ));
    let unknown = signed_reply(200, &body, "wechatpay_key.pem", "PUB_KEY_ID_X", now());
    assert!(matches!(
        h.handle::<CouponEvent>(&header_map(&unknown), body.as_bytes()),
        Err(NotificationError::Verify(VerifyError::UnknownSerial(_)))
    ));
    for header in ["Wechatpay-Nonce", "Wechatpay-Signature-Type"] {
        let dropped = signed.clone().without_header(header);
        assert_eq!(
            h.handle::<CouponEvent>(&header_map(&dropped), body.as_bytes())
                .unwrap_err(),
            NotificationError::Verify(VerifyError::Header(HeaderError::Missing(
                if header == "Wechatpay-Nonce" {
                    "Wechatpay-Nonce"
                } else {
                    "Wechatpay-Signature-Type"
                }
            )))
        );
    }
    let probe = signed
        .clone()
        .set_header("Wechatpay-Signature", "WECHATPAY/SIGNTEST/abc");
    assert_eq!(
        h.handle::<CouponEvent>(&header_map(&probe), body.as_bytes())
            .unwrap_err(),
        NotificationError::Verify(VerifyError::ProbeSignature)
    );

    // Signed correctly but encrypted with another key: a decryption error.
    let other = notification_body(
        EVENT_ID,
        &vector(PLAINTEXT, "b7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb", NONCE, AD),
    );
    let signed_other = signed_reply(200, &other, "wechatpay_key.pem", PUB_KEY_ID, now());
    assert_eq!(
        h.handle::<CouponEvent>(&header_map(&signed_other), other.as_bytes())
            .unwrap_err(),
        NotificationError::Decrypt
    );

    // A payload of the wrong shape names no plaintext value.
    let wrong = notification_body(
        EVENT_ID,
        &vector(
            r#"{"coupon_code":"SECRET-PHONE-138"}"#,
            API_V3_KEY,
            NONCE,
            AD,
        ),
    );
    let signed_wrong = signed_reply(200, &wrong, "wechatpay_key.pem", PUB_KEY_ID, now());
    let err = h
        .handle::<CouponEvent>(&header_map(&signed_wrong), wrong.as_bytes())
        .unwrap_err();
    assert!(matches!(err, NotificationError::Payload { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("SECRET-PHONE"));
}

#[test]
fn the_injected_clock_decides_freshness() {
    let body = notification_body(EVENT_ID, &vector(PLAINTEXT, API_V3_KEY, NONCE, AD));
    let signed = signed_reply(200, &body, "wechatpay_key.pem", PUB_KEY_ID, 1_700_000_000);
    let clock = Arc::new(ManualClock::new(1_700_000_299));
    let h = handler().with_clock(clock.clone());
    h.handle::<CouponEvent>(&header_map(&signed), body.as_bytes())
        .unwrap();
    clock.set(1_700_000_300);
    assert!(matches!(
        h.handle::<CouponEvent>(&header_map(&signed), body.as_bytes()),
        Err(NotificationError::Verify(VerifyError::TimestampSkew {
            skew_secs: 300,
            ..
        }))
    ));
}

/// A whole notification of `event_type` around `plaintext`, signed with OpenSSL.
fn event_delivery(
    event_type: &str,
    plaintext: &str,
) -> (wechatpay_protocol::SignatureHeaders, String) {
    let mut envelope: serde_json::Value = serde_json::from_str(&notification_body(
        EVENT_ID,
        &vector(plaintext, API_V3_KEY, NONCE, AD),
    ))
    .unwrap();
    envelope["event_type"] = serde_json::Value::String(event_type.to_owned());
    let body = envelope.to_string();
    let signed = signed_reply(200, &body, "wechatpay_key.pem", PUB_KEY_ID, now());
    let headers =
        wechatpay_protocol::SignatureHeaders::from_header_map(&header_map(&signed)).unwrap();
    (headers, body)
}

#[test]
fn events_decode_into_the_schemas_typed_payloads_and_unknown_types_stay_raw() {
    use wechatpay_models::{Event as _, ProductCouponEvent};
    let payload = r#"{"coupon_code":"Code_123456","stock_id":"1000000013001","openid":"o1","send_channel":"API"}"#;
    let (headers, body) = event_delivery("PRODUCT_COUPON.SEND", payload);
    let event = handler()
        .receive_event::<ProductCouponEvent>(&headers, body.as_bytes())
        .unwrap()
        .fresh()
        .unwrap()
        .resource;
    let ProductCouponEvent::ProductCouponSend(send) = &event else {
        panic!("{event:?}");
    };
    assert_eq!(send.coupon_code.as_deref(), Some("Code_123456"));
    assert_eq!(event.event_type(), "PRODUCT_COUPON.SEND");

    // An event type this SDK does not know: kept raw, never rejected.
    let (headers, body) = event_delivery("PRODUCT_COUPON.EXPIRE", payload);
    let event = handler()
        .receive_event::<ProductCouponEvent>(&headers, body.as_bytes())
        .unwrap()
        .fresh()
        .unwrap()
        .resource;
    assert_eq!(
        event,
        ProductCouponEvent::Unknown {
            event_type: "PRODUCT_COUPON.EXPIRE".into(),
            plaintext: payload.into()
        }
    );

    // A documented type whose payload does not fit the (uncertain) payload type is kept raw
    // too: refusing it would only make WeChat Pay redeliver the same body forever.
    let (headers, body) = event_delivery("PRODUCT_COUPON.SEND", r#"{"coupon_code": 5}"#);
    let event = handler()
        .receive_event::<ProductCouponEvent>(&headers, body.as_bytes())
        .unwrap()
        .fresh()
        .unwrap()
        .resource;
    assert!(
        matches!(event, ProductCouponEvent::Unknown { ref event_type, .. } if event_type == "PRODUCT_COUPON.SEND")
    );
}

/// A service provider's notification of `event_type`: the partner examples'
/// `associated_data` and `original_type`, signed with the platform certificate's
/// key (a provider may verify with platform certificates, P2), all by OpenSSL and
/// RustCrypto.
fn partner_delivery(
    event_type: &str,
    plaintext: &str,
    associated_data: &str,
) -> (wechatpay_protocol::SignatureHeaders, String) {
    let mut resource = vector(plaintext, API_V3_KEY, NONCE, "product_coupon_sp");
    resource.original_type = "coupon".into();
    resource.associated_data = associated_data.into();
    let mut envelope: serde_json::Value =
        serde_json::from_str(&notification_body(EVENT_ID, &resource)).unwrap();
    envelope["event_type"] = serde_json::Value::String(event_type.to_owned());
    envelope["summary"] = serde_json::Value::String("商品券领券通知".into());
    let body = envelope.to_string();
    let signed = signed_reply(200, &body, "platform_key.pem", PLATFORM_SERIAL, now());
    let headers =
        wechatpay_protocol::SignatureHeaders::from_header_map(&header_map(&signed)).unwrap();
    (headers, body)
}

fn partner_handler() -> NotificationHandler {
    let mut keys = PublicKeyStore::new();
    keys.add_public_key_pem(PUB_KEY_ID, fixture_text("wechatpay_pub.pem"))
        .unwrap();
    let serial = keys
        .add_certificate_pem(fixture_text("platform_cert.pem"))
        .unwrap();
    assert_eq!(serial, PLATFORM_SERIAL);
    NotificationHandler::new(keys, key())
}

#[test]
fn partner_events_decode_with_the_envelopes_associated_data() {
    use wechatpay_models::{
        Event as _, ImageGenerationTaskState, ProductCouponEvent, UserProductCouponSendChannel,
    };
    let send = r#"{"brand_id":"120344","coupon_code":"Code_123456","product_coupon_id":"1000000013","stock_id":"1000000013001","appid":"wx233544546545989","openid":"oh-394z-6CGkNoJrsDLTTUKiAnp4","valid_begin_time":"2025-01-01T00:00:00+08:00","valid_end_time":"2025-12-31T23:59:59+08:00","receive_time":"2025-01-01T13:29:35+08:00","send_request_no":"MCHSEND202003101234","send_channel":"API","attach":"any"}"#;
    let (headers, body) = partner_delivery("PRODUCT_COUPON_SP.SEND", send, "product_coupon_sp");
    let delivered = partner_handler()
        .receive_event::<ProductCouponEvent>(&headers, body.as_bytes())
        .unwrap()
        .fresh()
        .unwrap();
    assert_eq!(delivered.notification.resource.original_type, "coupon");
    let ProductCouponEvent::ProductCouponSpSend(sent) = &delivered.resource else {
        panic!("{:?}", delivered.resource);
    };
    assert_eq!(sent.brand_id, "120344");
    assert_eq!(sent.coupon_code, "Code_123456");
    assert_eq!(sent.appid, "wx233544546545989");
    assert_eq!(sent.send_channel, UserProductCouponSendChannel::Api);
    assert_eq!(delivered.resource.event_type(), "PRODUCT_COUPON_SP.SEND");
    assert_eq!(
        ProductCouponEvent::follow_up("PRODUCT_COUPON_SP.SEND").map(|f| f.operation_id),
        Some("partner-confirm-send-user-product-coupon")
    );

    let image = r#"{"brand_id":"120344","task_id":"T1","image_generation_type":"CUT_OUT","task_state":"SUCCESS","cut_out_result":{"image_url":"https://wxpaylogo.qpic.cn/x.png"}}"#;
    let (headers, body) = partner_delivery(
        "PRODUCT_COUPON_SP.IMAGE_GENERATION",
        image,
        "product_coupon_sp",
    );
    let event = partner_handler()
        .receive_event::<ProductCouponEvent>(&headers, body.as_bytes())
        .unwrap()
        .fresh()
        .unwrap()
        .resource;
    let ProductCouponEvent::ProductCouponSpImageGeneration(task) = &event else {
        panic!("{event:?}");
    };
    assert_eq!(
        (task.brand_id.as_str(), task.task_id.as_str()),
        ("120344", "T1")
    );
    assert_eq!(task.task_state, ImageGenerationTaskState::Success);
    assert_eq!(
        task.cut_out_result.as_ref().map(|r| r.image_url.as_str()),
        Some("https://wxpaylogo.qpic.cn/x.png")
    );
    assert!(ProductCouponEvent::follow_up("PRODUCT_COUPON_SP.IMAGE_GENERATION").is_none());

    // A partner type this SDK does not know stays raw.
    let (headers, body) = partner_delivery("PRODUCT_COUPON_SP.USE", send, "product_coupon_sp");
    let event = partner_handler()
        .receive_event::<ProductCouponEvent>(&headers, body.as_bytes())
        .unwrap()
        .fresh()
        .unwrap()
        .resource;
    assert_eq!(
        event,
        ProductCouponEvent::Unknown {
            event_type: "PRODUCT_COUPON_SP.USE".into(),
            plaintext: send.into()
        }
    );

    // The associated data is the envelope's: one that differs from what the resource
    // was sealed with (the brand capture's value) does not decrypt.
    let (headers, body) = partner_delivery("PRODUCT_COUPON_SP.SEND", send, "product_coupon");
    assert_eq!(
        partner_handler()
            .receive_event::<ProductCouponEvent>(&headers, body.as_bytes())
            .unwrap_err(),
        NotificationError::Decrypt
    );
}
