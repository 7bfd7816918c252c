//! Property tests: the parsers and checks that see untrusted input never
//! panic, never accept what is not validly signed or encrypted, and keep what
//! they report bounded. (Error bodies and the client on the wire are
//! wechatpay-transport's `tests/client/properties.rs`.)
//!
//! Failing inputs proptest finds are saved in `tests/protocol/properties.proptest-regressions`
//! and replayed first; each one that exposed a bug also has a named test at
//! the end of this file.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use crate::support::props::*;
use crate::support::*;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use serde_json::{json, Value};
use wechatpay_protocol::headers::{SignatureHeaders, SIGNATURE_HEADERS, SIGNATURE_TYPE};
use wechatpay_protocol::notification::{
    decrypt_resource, encrypt_resource, EncryptedResource, Notification,
};
use wechatpay_protocol::sign::sign_reply;
use wechatpay_protocol::verify::{verify_reply, verify_signed};
use wechatpay_protocol::{
    ApiV3Key, AuthScheme, Authorization, Delivery, HeaderError, ManualClock, NotificationError,
    NotificationHandler, PublicKeyStore,
};

// ---------------------------------------------------------------- shared fixtures
// (NOW, the signers, `config`, `still_valid`, `header_mut` and `json_value`
// are the test kit's `props`, shared with wechatpay-transport's properties.)

static KEYS: LazyLock<PublicKeyStore> = LazyLock::new(|| {
    let mut keys = PublicKeyStore::new();
    keys.add_public_key_pem(PUB_KEY_ID, fixture_text("wechatpay_pub.pem"))
        .unwrap();
    keys
});

/// Signs `body` as WeChat Pay does, `skew` seconds away from [`NOW`].
fn sign(body: &[u8], nonce: &str, skew: i64) -> SignatureHeaders {
    sign_reply(
        WECHATPAY_SIGNER.as_ref(),
        PUB_KEY_ID,
        NOW + skew,
        nonce,
        body,
    )
    .unwrap()
}

// ---------------------------------------------------------------- strategies

/// Strings that look like header values, including ones near the real thing.
fn header_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        2 => "[ -~]{0,40}",
        1 => "[0-9]{1,20}",
        1 => Just(PUB_KEY_ID.to_owned()),
        1 => Just(SIGNATURE_TYPE.to_owned()),
        1 => Just("WECHATPAY/SIGNTEST/abc".to_owned()),
        1 => prop::collection::vec(any::<u8>(), 0..300).prop_map(|b| BASE64.encode(b)),
        1 => (-400i64..400).prop_map(|d| (NOW + d).to_string()),
    ]
}

// ---------------------------------------------------------------- Authorization

proptest! {
    #![proptest_config(config(3000))]

    #[test]
    fn authorization_parse_never_panics(
        value in prop_oneof![
            any::<String>(),
            "(WECHATPAY2-SHA256-RSA2048|WECHATPAY-BRAND-SHA256-RSA2048) [a-z_=\", ]{0,80}",
            ("(WECHATPAY2-SHA256-RSA2048|WECHATPAY-BRAND-SHA256-RSA2048) ", any::<String>())
                .prop_map(|(a, b)| a + &b),
        ]
    ) {
        if let Ok(auth) = Authorization::parse(&value) {
            // What parses re-formats to a header that parses to the same parts.
            prop_assert_eq!(Authorization::parse(&auth.header_value()), Ok(auth.clone()));
            // Debug never shows the signature.
            let debug = format!("{auth:?}");
            prop_assert!(debug.contains("signature: \"<redacted>\""), "{}", debug);
        }
    }

    #[test]
    fn a_built_authorization_header_parses_back_to_the_same_parts(
        brand in any::<bool>(),
        identity in "[^\"]{0,40}",
        nonce in "[^\"]{0,40}",
        timestamp in "[^\"]{0,20}",
        serial_no in "[^\"]{0,50}",
        signature in "[^\"]{0,400}",
    ) {
        let auth = Authorization {
            scheme: if brand { AuthScheme::Brand } else { AuthScheme::Merchant },
            identity,
            nonce,
            timestamp,
            serial_no,
            signature,
        };
        prop_assert_eq!(Authorization::parse(&auth.header_value()), Ok(auth));
    }
}

// ---------------------------------------------------------------- signature headers

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn signature_headers_from_lookup_never_panics_and_keeps_values(
        values in prop::array::uniform5(prop::option::weighted(0.9, header_text())),
    ) {
        let lookup = |name: &'static str| {
            let i = SIGNATURE_HEADERS.iter().position(|n| *n == name).unwrap();
            values[i].as_deref()
        };
        match SignatureHeaders::from_lookup(lookup) {
            Ok(h) => {
                let got = [&h.timestamp, &h.nonce, &h.signature, &h.serial, &h.signature_type];
                for (value, got) in values.iter().zip(got) {
                    prop_assert_eq!(value.as_deref(), Some(got.as_str()));
                    prop_assert!(!got.trim().is_empty());
                }
            }
            Err(HeaderError::Missing(name)) => {
                let i = SIGNATURE_HEADERS.iter().position(|n| *n == name).unwrap();
                prop_assert!(values[i].is_none());
            }
            Err(HeaderError::Malformed { header, .. }) => {
                let i = SIGNATURE_HEADERS.iter().position(|n| *n == header).unwrap();
                prop_assert!(values[i].as_deref().is_some_and(|v| v.trim().is_empty()));
            }
            Err(other) => prop_assert!(false, "unexpected {other:?}"),
        }
    }

    #[test]
    fn verify_signed_never_accepts_arbitrary_headers(
        timestamp in header_text(),
        nonce in header_text(),
        signature in header_text(),
        serial in header_text(),
        signature_type in header_text(),
        body in prop::collection::vec(any::<u8>(), 0..256),
        now in prop_oneof![Just(NOW), any::<i64>()],
    ) {
        let headers = SignatureHeaders { timestamp, nonce, signature, serial, signature_type };
        let result = verify_signed(&headers, &body, now, &KEYS);
        prop_assert!(result.is_err(), "accepted {headers:?}");
        // Untrusted values are cut to 64 characters and Debug-escaped (up to 10
        // bytes each): bounded, though not short (see fuzz_regressions.rs).
        prop_assert!(result.unwrap_err().to_string().chars().count() < 1024);
    }

    #[test]
    fn verify_reply_never_accepts_arbitrary_header_maps(
        entries in prop::collection::vec(
            (0usize..7, prop::collection::vec(any::<u8>(), 0..80)),
            0..12,
        ),
        body in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let mut map = HeaderMap::new();
        for (name, value) in entries {
            let name = match name {
                0..=4 => HeaderName::from_static(
                    ["wechatpay-timestamp", "wechatpay-nonce", "wechatpay-signature",
                     "wechatpay-serial", "wechatpay-signature-type"][name],
                ),
                5 => HeaderName::from_static("request-id"),
                _ => HeaderName::from_static("x-other"),
            };
            if let Ok(value) = HeaderValue::from_bytes(&value) {
                map.append(name, value);
            }
        }
        prop_assert!(verify_reply(&map, &body, NOW, &KEYS).is_err());
    }
}

/// A change to one part of a validly signed reply.
#[derive(Debug, Clone)]
enum Tamper {
    /// XOR one body byte with a non-zero mask.
    BodyByte(prop::sample::Index, u8),
    /// Drop the last bytes, or append some.
    Truncate(prop::sample::Index),
    Append(Vec<u8>),
    /// Replace one of the five header values.
    Header(usize, String),
    /// Change one character of one of the five header values.
    HeaderEdit(usize, prop::sample::Index, char),
    /// Sign with another key.
    WrongKey,
}

fn tamper() -> impl Strategy<Value = Tamper> {
    prop_oneof![
        4 => (any::<prop::sample::Index>(), 1u8..=255).prop_map(|(i, x)| Tamper::BodyByte(i, x)),
        1 => any::<prop::sample::Index>().prop_map(Tamper::Truncate),
        1 => prop::collection::vec(any::<u8>(), 1..8).prop_map(Tamper::Append),
        4 => (0usize..5, header_text()).prop_map(|(i, v)| Tamper::Header(i, v)),
        // Small edits of a header value: one character changed.
        2 => (0usize..5, any::<prop::sample::Index>(), any::<char>())
            .prop_map(|(i, at, c)| Tamper::HeaderEdit(i, at, c)),
        1 => Just(Tamper::WrongKey),
    ]
}

proptest! {
    #![proptest_config(config(1500))]

    #[test]
    fn a_valid_reply_verifies_and_any_change_is_rejected(
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 1..400),
            json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        ],
        nonce in "[0-9A-Za-z]{1,32}",
        skew in -299i64..=299,
        tamper in tamper(),
    ) {
        let original = sign(&body, &nonce, skew);
        prop_assert_eq!(verify_signed(&original, &body, NOW, &KEYS), Ok(()));

        let mut headers = original.clone();
        let mut sent = body.clone();
        match &tamper {
            Tamper::BodyByte(i, x) => sent[i.index(body.len())] ^= *x,
            Tamper::Truncate(i) => sent.truncate(i.index(body.len())),
            Tamper::Append(extra) => sent.extend_from_slice(extra),
            Tamper::Header(i, value) => *header_mut(&mut headers, *i) = value.clone(),
            Tamper::HeaderEdit(i, at, c) => {
                let slot = header_mut(&mut headers, *i);
                let mut chars: Vec<char> = slot.chars().collect();
                let at = at.index(chars.len());
                chars[at] = *c;
                *slot = chars.into_iter().collect();
            }
            Tamper::WrongKey => {
                headers = sign_reply(WRONG_SIGNER.as_ref(), PUB_KEY_ID, NOW + skew, &nonce, &body)
                    .unwrap();
            }
        }
        let changed = sent != body || !still_valid(&original, &headers)
            || matches!(tamper, Tamper::WrongKey);
        let result = verify_signed(&headers, &sent, NOW, &KEYS);
        if changed {
            prop_assert!(result.is_err(), "{tamper:?} accepted");
        } else {
            prop_assert_eq!(result, Ok(()));
        }

        // The same through an http header map (the wire representation).
        let mut map = HeaderMap::new();
        let mut representable = true;
        for (name, value) in headers.pairs() {
            match HeaderValue::from_str(value) {
                Ok(v) => { map.insert(name, v); }
                Err(_) => representable = false,
            }
        }
        if representable {
            let result = verify_reply(&map, &sent, NOW, &KEYS);
            prop_assert_eq!(result.is_ok(), !changed, "{:?}", result);
        }
    }
}

// ---------------------------------------------------------------- notifications

fn api_v3_key() -> ApiV3Key {
    ApiV3Key::new("a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb").unwrap()
}

fn arbitrary_resource() -> impl Strategy<Value = EncryptedResource> {
    (
        prop_oneof![Just("AEAD_AES_256_GCM".to_owned()), any::<String>()],
        prop_oneof![
            any::<String>(),
            prop::collection::vec(any::<u8>(), 0..200).prop_map(|b| BASE64.encode(b)),
        ],
        prop_oneof!["[ -~]{12}", any::<String>()],
        any::<String>(),
        any::<String>(),
    )
        .prop_map(
            |(algorithm, ciphertext, nonce, associated_data, original_type)| EncryptedResource {
                algorithm,
                ciphertext,
                nonce,
                associated_data,
                original_type,
            },
        )
}

fn notification_json() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        (json_value(), json_value(), arbitrary_resource()).prop_map(|(id, event, resource)| {
            serde_json::to_vec(&json!({
                "id": id, "event_type": event, "create_time": "2025-01-01T00:00:00+08:00",
                "resource_type": "encrypt-resource", "summary": "s", "resource": resource,
            }))
            .unwrap()
        }),
        (".{0,40}", arbitrary_resource()).prop_map(|(id, resource)| {
            serde_json::to_vec(
                &json!({"id": id, "event_type": "PRODUCT_COUPON.SEND", "resource": resource}),
            )
            .unwrap()
        }),
    ]
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn envelope_and_decrypt_never_panic_nor_accept_arbitrary_resources(
        body in notification_json(),
        resource in arbitrary_resource(),
    ) {
        if let Ok(notification) = serde_json::from_slice::<Notification>(&body) {
            prop_assert!(decrypt_resource(&api_v3_key(), &notification.resource).is_err());
        }
        let error = decrypt_resource(&api_v3_key(), &resource).unwrap_err();
        prop_assert!(error.to_string().chars().count() < 200);
    }
}

/// A change to a valid encrypted resource.
#[derive(Debug, Clone)]
enum Spoil {
    FlipByte(prop::sample::Index, u8),
    Truncate(prop::sample::Index),
    Append(Vec<u8>),
    AssociatedData(String),
    Nonce(String),
    Key([u8; 32]),
    Algorithm(String),
}

proptest! {
    #![proptest_config(config(2500))]

    #[test]
    fn a_valid_resource_decrypts_and_any_mutation_is_rejected(
        key_bytes in prop::array::uniform32(any::<u8>()),
        plaintext in prop::collection::vec(any::<u8>(), 0..300),
        nonce in "[ -~]{12}",
        associated_data in ".{0,40}",
        spoil in prop_oneof![
            4 => (any::<prop::sample::Index>(), 1u8..=255).prop_map(|(i, x)| Spoil::FlipByte(i, x)),
            1 => any::<prop::sample::Index>().prop_map(Spoil::Truncate),
            1 => prop::collection::vec(any::<u8>(), 1..20).prop_map(Spoil::Append),
            1 => ".{0,40}".prop_map(Spoil::AssociatedData),
            1 => prop_oneof!["[ -~]{12}", ".{0,20}"].prop_map(Spoil::Nonce),
            1 => prop::array::uniform32(any::<u8>()).prop_map(Spoil::Key),
            1 => ".{0,20}".prop_map(Spoil::Algorithm),
        ],
    ) {
        let key = ApiV3Key::from_bytes(&key_bytes).unwrap();
        let good = encrypt_resource(&key, &plaintext, &nonce, &associated_data, "t").unwrap();
        prop_assert_eq!(&decrypt_resource(&key, &good).unwrap()[..], &plaintext[..]);

        let mut raw = BASE64.decode(&good.ciphertext).unwrap();
        let mut spoiled = good.clone();
        let mut with_key = key.clone();
        let changed = match &spoil {
            Spoil::FlipByte(i, x) => {
                let at = i.index(raw.len());
                raw[at] ^= x;
                true
            }
            Spoil::Truncate(i) => {
                raw.truncate(i.index(raw.len()));
                true
            }
            Spoil::Append(extra) => {
                raw.extend_from_slice(extra);
                true
            }
            Spoil::AssociatedData(ad) => {
                spoiled.associated_data = ad.clone();
                *ad != associated_data
            }
            Spoil::Nonce(n) => {
                spoiled.nonce = n.clone();
                *n != nonce
            }
            Spoil::Key(k) => {
                with_key = ApiV3Key::from_bytes(k).unwrap();
                *k != key_bytes
            }
            Spoil::Algorithm(a) => {
                spoiled.algorithm = a.clone();
                a != "AEAD_AES_256_GCM"
            }
        };
        spoiled.ciphertext = BASE64.encode(&raw);
        let result = decrypt_resource(&with_key, &spoiled);
        if changed {
            prop_assert!(result.is_err(), "{spoil:?} accepted");
        } else {
            prop_assert_eq!(&result.unwrap()[..], &plaintext[..]);
        }
    }
}

proptest! {
    #![proptest_config(config(1000))]

    /// Validly signed bodies of any shape get past verification, so the
    /// envelope, decryption, decoding and dedup are exercised for real.
    #[test]
    fn the_handler_never_panics_on_signed_bodies_and_dedups_what_it_accepts(
        body in prop_oneof![
            notification_json(),
            (".{0,40}", json_value()).prop_map(|(id, payload)| {
                let resource = encrypt_resource(
                    &api_v3_key(),
                    &serde_json::to_vec(&payload).unwrap(),
                    "8IQLCe1NOCNl",
                    "product_coupon",
                    "product_coupon",
                )
                .unwrap();
                serde_json::to_vec(&json!({"id": id, "event_type": "E", "resource": resource}))
                    .unwrap()
            }),
        ],
        nonce in "[0-9A-Za-z]{32}",
    ) {
        let headers = sign(&body, &nonce, 0);
        let handler = NotificationHandler::new(KEYS.clone(), api_v3_key())
            .with_clock(Arc::new(ManualClock::new(NOW)))
            .with_dedup(16, Duration::from_secs(3600));
        match handler.receive_signed::<Value>(&headers, &body) {
            Ok(Delivery::Fresh(n)) => {
                match handler.receive_signed::<Value>(&headers, &body) {
                    Ok(Delivery::Duplicate { id }) => prop_assert_eq!(id, n.notification.id),
                    other => prop_assert!(false, "second delivery: {other:?}"),
                }
            }
            Ok(Delivery::Duplicate { .. }) => prop_assert!(false, "first delivery a duplicate"),
            Err(e) => {
                prop_assert!(!matches!(e, NotificationError::Verify(_)), "{e:?}");
                prop_assert!(e.to_string().chars().count() < 400, "{}", e);
                // A rejected delivery recorded nothing.
                let debug = format!("{handler:?}");
                prop_assert!(debug.contains("len: 0"), "{}", debug);
            }
        }
    }
}

// ---------------------------------------------------------------- regressions

/// Found in review: the envelope error of a verified notification quoted the
/// offending value whole as well.
#[test]
fn regression_envelope_errors_are_bounded() {
    let body = serde_json::to_vec(&json!({
        "id": "EV-1",
        "event_type": "E",
        "resource": "r".repeat(100_000),
    }))
    .unwrap();
    let headers = sign(&body, "n", 0);
    let handler = NotificationHandler::new(KEYS.clone(), api_v3_key())
        .with_clock(Arc::new(ManualClock::new(NOW)));
    let err = handler
        .verify_and_decrypt::<Value>(&headers, &body)
        .unwrap_err();
    let NotificationError::Envelope { reason } = &err else {
        panic!("{err:?}")
    };
    assert!(reason.starts_with("invalid type: string"), "{reason}");
    assert!(err.to_string().chars().count() < 400);
}
