//! The fuzz harness, shared by `fuzz/` (libFuzzer) and `tests/fuzz_regressions.rs`
//! (which replays saved inputs under `cargo test`).
//!
//! Reply verification + decoding, error bodies, notification parsing,
//! decryption and dedup, and `Authorization` parsing, on arbitrary bytes.
//!
//! Input: `[mode, flags, part0, 0xFF, part1, 0xFF, …]`. The invariants that
//! would make a crash: nothing panics; nothing verifies under the real
//! WeChat Pay key unless it is the one reply signed at start-up (or an
//! equivalent spelling of its headers); a notification accepted fresh is a
//! duplicate the second time; bounded error messages stay bounded.
//!
//! A second, mock key (`MOCK`, accepting the signature `b2s=`, i.e. "ok")
//! lets the fuzzer past signature checks so decoding and notification
//! handling are exercised on arbitrary bodies.

#![allow(dead_code)]

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use wechatpay_transport::crypto::signer_from_pem;
use wechatpay_transport::error::{MAX_CODE_CHARS, MAX_MESSAGE_CHARS, SNIPPET_LEN};
use wechatpay_transport::headers::{SignatureHeaders, SIGNATURE_HEADERS, SIGNATURE_TYPE};
use wechatpay_transport::notification::{decrypt_resource, encrypt_resource, Notification};
use wechatpay_transport::sign::sign_reply;
use wechatpay_transport::verify::{verify_reply, verify_signed};
use wechatpay_transport::{
    ApiV3Key, Authorization, Delivery, ErrorBody, KeyKind, ManualClock, NotificationHandler,
    PublicKeyStore, VerifiedReply, Verifier,
};

const NOW: i64 = 1_700_000_000;
/// The longest a verification or notification error may print: untrusted
/// values are cut to 64 characters (200 for decoder messages) and
/// Debug-escaped, so at most 10 bytes a character plus the fixed text.
pub const MAX_ERROR_CHARS: usize = 1024;
const REAL: &str = "PUB_KEY_ID_0119000000012025010100000000000000";
const MOCK: &str = "MOCK";
const ACCEPTED_TYPES: [&str; 2] = [
    "WECHATPAY2-SHA256-RSA2048",
    "WECHATPAY-BRAND-SHA256-RSA2048",
];

#[derive(Debug)]
struct MockVerifier;

impl Verifier for MockVerifier {
    fn verify(&self, _message: &[u8], signature: &[u8]) -> bool {
        signature == b"ok"
    }
}

struct Fixture {
    keys: PublicKeyStore,
    api_v3_key: ApiV3Key,
    /// One reply validly signed by the real key.
    signed_body: Vec<u8>,
    signed: SignatureHeaders,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let mut keys = PublicKeyStore::new();
    keys.add_public_key_pem(
        REAL,
        include_str!("../../../wechatpay-test-kit/fixtures/wechatpay_pub.pem"),
    )
    .unwrap();
    keys.insert_verifier(MOCK, KeyKind::PublicKey, Arc::new(MockVerifier))
        .expect("a fresh serial");
    let signer = signer_from_pem(include_str!(
        "../../../wechatpay-test-kit/fixtures/wechatpay_key.pem"
    ))
    .unwrap();
    let signed_body = br#"{"coupon_code":"C-1","stock_id":"1212"}"#.to_vec();
    let signed = sign_reply(signer.as_ref(), REAL, NOW, "NONCE0123456789", &signed_body).unwrap();
    Fixture {
        keys,
        api_v3_key: ApiV3Key::new("a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb").unwrap(),
        signed_body,
        signed,
    }
});

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn headers_from(parts: &[&[u8]]) -> SignatureHeaders {
    let part = |i: usize| text(parts.get(i).copied().unwrap_or_default());
    SignatureHeaders {
        timestamp: part(0),
        nonce: part(1),
        signature: part(2),
        serial: part(3),
        signature_type: part(4),
    }
}

/// A verified reply decodes (or fails to) without panicking, boundedly.
fn decode(body: &[u8]) {
    let reply = VerifiedReply {
        status: 200,
        headers: HeaderMap::new(),
        body: body.to_vec(),
        signature: FIXTURE.signed.clone(),
        attempts: 1,
    };
    let _ = reply.json::<Value>();
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Coupon {
        coupon_code: String,
        stock_id: Option<u64>,
    }
    serde_json_bound_check(reply.json::<Coupon>().err());
}

fn serde_json_bound_check(err: Option<wechatpay_transport::DecodeError>) {
    if let Some(e) = err {
        assert!(
            e.to_string().chars().count() < 2 * 1024,
            "unbounded decode error"
        );
    }
}

fn error_body(body: &[u8]) {
    let parsed = ErrorBody::parse(body);
    assert!(parsed.code.chars().count() <= MAX_CODE_CHARS + 1);
    assert!(parsed.message.chars().count() <= MAX_MESSAGE_CHARS.max(SNIPPET_LEN) + 1);
}

fn still_valid(h: &SignatureHeaders, body: &[u8]) -> bool {
    let o = &FIXTURE.signed;
    body == FIXTURE.signed_body.as_slice()
        && h.timestamp == o.timestamp
        && h.nonce == o.nonce
        && h.signature == o.signature
        && h.serial.eq_ignore_ascii_case(&o.serial)
        && ACCEPTED_TYPES.contains(&h.signature_type.as_str())
}

/// Runs one input; panics when an invariant breaks.
pub fn run(data: &[u8]) {
    let fx = &*FIXTURE;
    let (mode, flags, rest) = match data {
        [mode, flags, rest @ ..] => (*mode, *flags, rest),
        _ => return,
    };
    let parts: Vec<&[u8]> = rest.split(|&b| b == 0xFF).collect();
    let last = parts.last().copied().unwrap_or_default();
    match mode % 7 {
        // Arbitrary signature headers and body against both keys.
        0 => {
            let mut headers = headers_from(&parts);
            if flags & 1 != 0 {
                headers.timestamp = (NOW + i64::from(flags >> 1) - 64).to_string();
            }
            if flags & 0x80 != 0 {
                headers.signature_type = SIGNATURE_TYPE.to_owned();
            }
            let body = parts.get(5).copied().unwrap_or_default();
            let result = verify_signed(&headers, body, NOW, &fx.keys);
            if let Err(e) = &result {
                assert!(e.to_string().chars().count() < MAX_ERROR_CHARS, "{e}");
            }
            if result.is_ok() {
                if fx.keys.kind(&headers.serial).is_some()
                    && !headers.serial.eq_ignore_ascii_case(MOCK)
                {
                    assert!(
                        still_valid(&headers, body),
                        "forged reply verified: {headers:?}"
                    );
                } else {
                    assert_eq!(BASE64.decode(&headers.signature).unwrap(), b"ok");
                }
                decode(body);
                error_body(body);
            }
        }
        // The http header-map path: arbitrary names (from a list) and raw values.
        1 => {
            let mut map = HeaderMap::new();
            for part in &parts {
                let Some((&which, value)) = part.split_first() else {
                    continue;
                };
                let name = match which % 7 {
                    i @ 0..=4 => HeaderName::from_static(match i {
                        0 => "wechatpay-timestamp",
                        1 => "wechatpay-nonce",
                        2 => "wechatpay-signature",
                        3 => "wechatpay-serial",
                        _ => "wechatpay-signature-type",
                    }),
                    5 => HeaderName::from_static("request-id"),
                    _ => HeaderName::from_static("x-other"),
                };
                if let Ok(value) = HeaderValue::from_bytes(value) {
                    map.append(name, value);
                }
            }
            if let Ok(h) = verify_reply(&map, last, NOW, &fx.keys) {
                assert!(
                    h.serial.eq_ignore_ascii_case(MOCK) || still_valid(&h, last),
                    "forged reply verified: {h:?}"
                );
            }
            let _ = SignatureHeaders::from_header_map(&map);
            let _ = SignatureHeaders::from_lookup(|name| {
                let i = SIGNATURE_HEADERS.iter().position(|n| *n == name).unwrap();
                parts.get(i).and_then(|p| std::str::from_utf8(p).ok())
            });
        }
        // The one validly signed reply with one field replaced by fuzz bytes.
        2 => {
            let mut headers = fx.signed.clone();
            let mut body = fx.signed_body.clone();
            let replacement = text(last);
            match flags % 7 {
                0 => headers.timestamp = replacement,
                1 => headers.nonce = replacement,
                2 => headers.signature = replacement,
                3 => headers.serial = replacement,
                4 => headers.signature_type = replacement,
                5 => body = last.to_vec(),
                _ => {
                    if let [at, x, ..] = *last {
                        let at = usize::from(at) % body.len();
                        body[at] ^= x;
                    }
                }
            }
            let ok = verify_signed(&headers, &body, NOW, &fx.keys).is_ok();
            assert_eq!(ok, still_valid(&headers, &body), "{headers:?}");
        }
        // Error bodies and verified-reply decoding on raw bytes.
        3 => {
            error_body(rest);
            decode(rest);
        }
        // Notification envelopes through a handler (mock-signed, so they
        // get past verification) and straight into the decrypter.
        4 => {
            let headers = SignatureHeaders {
                timestamp: NOW.to_string(),
                nonce: "n".into(),
                signature: BASE64.encode(b"ok"),
                serial: MOCK.into(),
                signature_type: SIGNATURE_TYPE.into(),
            };
            let handler = NotificationHandler::new(fx.keys.clone(), fx.api_v3_key.clone())
                .with_clock(Arc::new(ManualClock::new(NOW)))
                .with_dedup(4, Duration::from_secs(60));
            match handler.receive_signed::<Value>(&headers, rest) {
                Ok(Delivery::Fresh(_)) => {
                    let again = handler.receive_signed::<Value>(&headers, rest);
                    assert!(matches!(again, Ok(Delivery::Duplicate { .. })), "{again:?}");
                }
                Ok(Delivery::Duplicate { .. }) => panic!("first delivery reported a duplicate"),
                Err(e) => assert!(e.to_string().chars().count() < MAX_ERROR_CHARS, "{e}"),
            }
            if let Ok(n) = serde_json::from_slice::<Notification>(rest) {
                assert!(decrypt_resource(&fx.api_v3_key, &n.resource).is_err());
            }
        }
        // A plaintext of fuzz bytes, encrypted properly, with a fuzz event id:
        // decoding the resource and dedup run on arbitrary content.
        5 => {
            let id = text(parts.first().copied().unwrap_or_default());
            let Ok(resource) = encrypt_resource(&fx.api_v3_key, last, "8IQLCe1NOCNl", "ad", "t")
            else {
                return;
            };
            assert_eq!(
                &decrypt_resource(&fx.api_v3_key, &resource).unwrap()[..],
                last
            );
            let body = serde_json::to_vec(&serde_json::json!({
                "id": id, "event_type": "E", "resource": resource,
            }))
            .unwrap();
            let headers = SignatureHeaders {
                timestamp: NOW.to_string(),
                nonce: "n".into(),
                signature: BASE64.encode(b"ok"),
                serial: MOCK.into(),
                signature_type: SIGNATURE_TYPE.into(),
            };
            let handler = NotificationHandler::new(fx.keys.clone(), fx.api_v3_key.clone())
                .with_clock(Arc::new(ManualClock::new(NOW)))
                .with_dedup(
                    usize::from(flags % 3),
                    Duration::from_secs(u64::from(flags)),
                );
            let first = handler.receive_signed::<Value>(&headers, &body);
            let second = handler.receive_signed::<Value>(&headers, &body);
            match (first, second) {
                (Ok(Delivery::Fresh(n)), Ok(second)) => {
                    assert_eq!(n.notification.id, id);
                    // A zero ttl remembers nothing; otherwise the repeat is a duplicate.
                    assert_eq!(second.is_duplicate(), flags != 0, "{second:?}");
                }
                (Err(a), Err(b)) => assert_eq!(a, b),
                other => panic!("inconsistent deliveries: {other:?}"),
            }
        }
        // `Authorization` headers: what parses re-formats to the same parts.
        _ => {
            if let Ok(auth) = Authorization::parse(&text(rest)) {
                assert_eq!(Authorization::parse(&auth.header_value()), Ok(auth));
            }
        }
    }
}
