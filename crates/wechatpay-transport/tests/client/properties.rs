//! Property tests: error bodies are read without panicking and stay bounded,
//! and the whole client, driven against a real server on 127.0.0.1, accepts
//! only validly signed replies. (Authorization, signature headers, reply
//! verification and notifications are wechatpay-protocol's
//! `tests/protocol/properties.rs`.)
//!
//! Failing inputs proptest finds are saved in `tests/client/properties.proptest-regressions`
//! and replayed first; each one that exposed a bug also has a named test at
//! the end of this file.

use std::sync::Arc;
use std::time::Duration;

use crate::support::props::*;
use crate::support::*;
use proptest::prelude::*;
use serde_json::{json, Value};
use wechatpay_transport::error::{
    MAX_CODE_CHARS, MAX_DETAIL_BYTES, MAX_MESSAGE_CHARS, MAX_REASON_CHARS, SNIPPET_LEN,
};
use wechatpay_transport::sign::sign_reply;
use wechatpay_transport::ErrorKind;
use wechatpay_transport::{
    ApiError, Endpoint, Error, ErrorBody, ManualClock, RawCode, RetryPolicy,
};

// ---------------------------------------------------------------- strategies
// (NOW, the signers, `config`, `still_valid`, `header_mut` and `json_value`
// are the test kit's `props`, shared with wechatpay-protocol's properties.)

/// A JSON text nested `depth` deep (past serde_json's limit of 128 when large).
fn deep_json(depth: usize, object: bool) -> Vec<u8> {
    let (open, close) = if object { ("{\"a\":", "}") } else { ("[", "]") };
    format!("{}1{}", open.repeat(depth), close.repeat(depth)).into_bytes()
}

/// Bodies an error reply might have.
fn error_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..600),
        json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        (json_value(), json_value(), json_value()).prop_map(|(code, message, detail)| {
            serde_json::to_vec(&json!({"code": code, "message": message, "detail": detail}))
                .unwrap()
        }),
        // Huge strings in every field.
        (".{1,4}", 0usize..40_000, 0usize..3_000, 0usize..20_000).prop_map(
            |(chunk, message, code, detail)| {
                serde_json::to_vec(&json!({
                    "code": chunk.repeat(code),
                    "message": chunk.repeat(message),
                    "detail": {"field": chunk.repeat(detail)},
                }))
                .unwrap()
            }
        ),
        // Nesting near and past the parser's limit, alone or as `detail`.
        (1usize..400, any::<bool>()).prop_map(|(depth, object)| deep_json(depth, object)),
        (1usize..400, any::<bool>()).prop_map(|(depth, object)| {
            let mut body = br#"{"code":"X","message":"m","detail":"#.to_vec();
            body.extend(deep_json(depth, object));
            body.push(b'}');
            body
        }),
        // Truncated JSON.
        (json_value(), any::<prop::sample::Index>()).prop_map(|(v, cut)| {
            let text = serde_json::to_vec(&json!({"code": "X", "message": v})).unwrap();
            text[..cut.index(text.len())].to_vec()
        }),
    ]
}

// ---------------------------------------------------------------- error bodies

proptest! {
    #![proptest_config(config(1500))]

    #[test]
    fn error_body_parsing_never_panics_and_stays_bounded(
        body in error_body(),
        status in 100u16..1000,
    ) {
        let parsed = ErrorBody::parse(&body);
        prop_assert!(parsed.code.chars().count() <= MAX_CODE_CHARS + 1);
        prop_assert!(parsed.message.chars().count() <= MAX_MESSAGE_CHARS.max(SNIPPET_LEN) + 1);
        if let Some(detail) = &parsed.detail {
            prop_assert!(serde_json::to_vec(detail).unwrap().len() <= MAX_DETAIL_BYTES);
        }
        let error = ApiError {
            status,
            code: RawCode(parsed.code.clone()),
            raw_code: parsed.code.clone(),
            message: parsed.message.clone(),
            detail: parsed.detail.clone(),
            request_id: None,
            verified: false,
            attempts: 1,
            location: None,
        };
        let shown = ErrorKind::Api(error).to_string();
        prop_assert!(shown.chars().count() <= MAX_CODE_CHARS + MAX_MESSAGE_CHARS + 40, "{}", shown.len());
    }

    #[test]
    fn well_formed_error_bodies_are_read_exactly(
        code in "[A-Z_]{1,40}",
        message in ".{0,200}",
        detail in json_value(),
    ) {
        let body = serde_json::to_vec(&json!({"code": code, "message": message, "detail": detail}))
            .unwrap();
        let parsed = ErrorBody::parse(&body);
        prop_assert_eq!(&parsed.code, &code);
        prop_assert_eq!(&parsed.message, &message);
        // serde_json's default float parsing may move the last digit, so the
        // expectation is the detail as serde_json itself reads it back.
        let expected: Value = serde_json::from_slice(&serde_json::to_vec(&detail).unwrap()).unwrap();
        prop_assert_eq!(parsed.detail, Some(expected).filter(|d| !d.is_null()));
    }
}

// ---------------------------------------------------------------- the client on the wire

/// What the server does with one of the five signature headers.
#[derive(Debug, Clone)]
enum HeaderPlan {
    Keep,
    Missing,
    Replace(String),
    Twice(String),
}

#[derive(Debug, Clone)]
struct WireCase {
    status: u16,
    body: Vec<u8>,
    /// XOR one byte of the sent body after signing.
    body_edit: Option<(prop::sample::Index, u8)>,
    skew: i64,
    wrong_key: bool,
    plans: [HeaderPlan; 5],
    lowercase_names: bool,
    junk: Vec<String>,
    request_id: Option<String>,
    close_delimited: bool,
    typed: bool,
}

/// Header values as they can travel: visible ASCII, spaces, tabs and obs-text.
fn wire_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[\t -~]{0,60}",
        1 => "[\t -~\u{80}-\u{ff}]{0,60}",
        1 => "[0-9]{1,12}",
        1 => Just(PUB_KEY_ID.to_ascii_lowercase()),
        1 => Just("WECHATPAY-BRAND-SHA256-RSA2048".to_owned()),
        1 => "[ \t]{0,3}[A-Za-z0-9+/=]{0,40}[ \t]{0,3}",
    ]
}

fn header_plan() -> impl Strategy<Value = HeaderPlan> {
    prop_oneof![
        16 => Just(HeaderPlan::Keep),
        1 => Just(HeaderPlan::Missing),
        2 => wire_text().prop_map(HeaderPlan::Replace),
        1 => wire_text().prop_map(HeaderPlan::Twice),
    ]
}

fn wire_case() -> impl Strategy<Value = WireCase> {
    let body = prop_oneof![
        2 => Just(br#"{"coupon_code":"C-1"}"#.to_vec()),
        2 => prop::collection::vec(any::<u8>(), 0..700),
        1 => error_body(),
        1 => json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        1 => Just(Vec::new()),
    ];
    let status = prop_oneof![
        6 => Just(200u16),
        1 => Just(204u16),
        1 => 200u16..300,
        2 => 300u16..600,
        1 => 600u16..1000,
    ];
    (
        (
            status,
            body,
            prop::option::weighted(0.15, (any::<prop::sample::Index>(), 1u8..=255)),
        ),
        (
            prop_oneof![8 => -299i64..=299, 1 => -2000i64..2000],
            prop::bool::weighted(0.1),
            prop::array::uniform5(header_plan()),
            any::<bool>(),
        ),
        (
            prop::collection::vec(wire_text(), 0..4),
            prop::option::of(wire_text()),
            any::<bool>(),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (status, body, body_edit),
                (skew, wrong_key, plans, lowercase_names),
                (junk, request_id, close_delimited, typed),
            )| WireCase {
                status,
                body,
                body_edit,
                skew,
                wrong_key,
                plans,
                lowercase_names,
                junk,
                request_id,
                close_delimited,
                typed,
            },
        )
}

/// The limit the property's clients are configured with.
const LIMIT: usize = 512;

/// HTTP strips spaces and tabs around a header value.
fn on_the_wire(value: &str) -> &str {
    value.trim_matches([' ', '\t'])
}

/// The reply the server sends, and whether it carries a valid signature (the oracle).
fn build_reply(case: &WireCase) -> (Reply, bool) {
    let signer = if case.wrong_key {
        &WRONG_SIGNER
    } else {
        &WECHATPAY_SIGNER
    };
    let nonce = "NONCE0123456789abcdefABCDEF0123";
    let original = sign_reply(
        signer.as_ref(),
        PUB_KEY_ID,
        NOW + case.skew,
        nonce,
        &case.body,
    )
    .unwrap();
    let mut sent_body = case.body.clone();
    if let Some((i, x)) = &case.body_edit {
        if !sent_body.is_empty() {
            let at = i.index(sent_body.len());
            sent_body[at] ^= x;
        }
    }
    // 204 and 304 replies have no body, whatever the server writes.
    let effective_body: &[u8] = if matches!(case.status, 204 | 304) {
        b""
    } else {
        &sent_body
    };
    let mut valid = (200..300).contains(&case.status)
        && !case.wrong_key
        && case.skew.abs() < 300
        && effective_body == case.body.as_slice();
    let mut reply = Reply::new(case.status, sent_body.clone());
    reply.close_delimited = case.close_delimited;
    let mut received = original.clone();
    for (i, ((name, value), plan)) in original.pairs().into_iter().zip(&case.plans).enumerate() {
        let name = if case.lowercase_names {
            name.to_ascii_lowercase()
        } else {
            name.to_owned()
        };
        match plan {
            HeaderPlan::Keep => reply = reply.header(&name, value),
            // Without Wechatpay-Signature-Type (the fifth) the client assumes
            // its request's scheme, which is what the reply was signed with.
            HeaderPlan::Missing if i == 4 => {}
            HeaderPlan::Missing => valid = false,
            HeaderPlan::Replace(v) => {
                reply = reply.header(&name, v.clone());
                if !v.is_ascii() {
                    valid = false;
                }
                *header_mut(&mut received, i) = on_the_wire(v).to_owned();
            }
            HeaderPlan::Twice(v) => {
                reply = reply.header(&name, value).header(&name, v.clone());
                valid = false;
            }
        }
    }
    valid &= still_valid(&original, &received);
    for (i, value) in case.junk.iter().enumerate() {
        reply = reply.header(&format!("X-Junk-{i}"), value.clone());
    }
    if let Some(id) = &case.request_id {
        reply = reply.header("Request-ID", id.clone());
    }
    (reply, valid)
}

fn run_wire_case(case: &WireCase) -> Result<(), TestCaseError> {
    let (reply, valid) = build_reply(case);
    let effective_len = if matches!(case.status, 204 | 304) {
        0
    } else {
        reply.body.len()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let shared = reply.clone();
        let server = TestServer::start(move |_, _| shared.clone()).await;
        let client = merchant_builder(&server.url())
            .retry(RetryPolicy::none())
            .clock(Arc::new(ManualClock::new(NOW)))
            .max_reply_bytes(LIMIT)
            .request_timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let (ok, error): (bool, Option<Error<RawCode>>) = if case.typed {
            match client
                .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
                .await
            {
                Ok(response) => {
                    // What the body says, read by serde_json alone: usually
                    // `C-1`, but arbitrary JSON can decode too (serde reads a
                    // struct from an array, so `[""]` is `coupon_code: ""`).
                    let said = serde_json::from_slice::<DemoResponse>(&reply.body).ok();
                    prop_assert_eq!(Some(response), said);
                    (true, None)
                }
                Err(e) => (false, Some(to_raw(e))),
            }
        } else {
            match client
                .execute_raw(
                    <DemoMerchantSend as Endpoint>::INFO,
                    "/v3/marketing/busifavor/users/o1/coupons",
                    b"{}".to_vec(),
                    Default::default(),
                )
                .await
            {
                Ok(reply) => {
                    prop_assert_eq!(&reply.body, &case.body);
                    prop_assert!((200..300).contains(&reply.status));
                    (true, None)
                }
                Err(e) => (false, Some(e)),
            }
        };
        prop_assert_eq!(server.count(), 1);
        if effective_len > LIMIT {
            prop_assert!(
                matches!(
                    error.as_ref().map(Error::kind),
                    Some(ErrorKind::BodyTooLarge { limit: LIMIT, .. })
                ),
                "{error:?}"
            );
            return Ok(());
        }
        if ok {
            prop_assert!(valid, "accepted a reply without a valid signature");
        } else if valid {
            // A validly signed reply is refused only when its body does not decode.
            match error.as_ref().map(Error::kind) {
                Some(ErrorKind::Decode(_)) if case.typed => {}
                other => prop_assert!(false, "refused a valid reply: {other:?}"),
            }
        }
        if let Some(error) = &error {
            let shown = error.to_string();
            prop_assert!(
                shown.chars().count() <= 2 * (MAX_MESSAGE_CHARS + MAX_REASON_CHARS + SNIPPET_LEN),
                "{}",
                shown.len()
            );
        }
        Ok(())
    })
}

/// The typed error with its code made raw, to check both paths alike.
fn to_raw(error: Error<DemoCode>) -> Error<RawCode> {
    let kind = match error.into_kind() {
        ErrorKind::Api(e) => ErrorKind::Api(ApiError {
            status: e.status,
            code: RawCode(e.raw_code.clone()),
            raw_code: e.raw_code,
            message: e.message,
            detail: e.detail,
            request_id: e.request_id,
            verified: e.verified,
            attempts: e.attempts,
            location: e.location,
        }),
        ErrorKind::Verification {
            error,
            status,
            request_id,
        } => ErrorKind::Verification {
            error,
            status,
            request_id,
        },
        ErrorKind::Decode(e) => ErrorKind::Decode(e),
        ErrorKind::BodyTooLarge {
            limit,
            status,
            request_id,
        } => ErrorKind::BodyTooLarge {
            limit,
            status,
            request_id,
        },
        // Kept as text (no other kind carries a string the checks read).
        other => ErrorKind::InvalidPath {
            path: other.to_string(),
            reason: "not a reply error",
        },
    };
    kind.into()
}

proptest! {
    #![proptest_config(config(200))]

    #[test]
    fn the_client_accepts_only_validly_signed_replies_off_the_wire(case in wire_case()) {
        run_wire_case(&case)?;
    }
}

// ---------------------------------------------------------------- regressions

/// The property above, on a reply exactly as WeChat Pay sends it (a control).
#[test]
fn wire_control_a_valid_reply_is_accepted() {
    let case = WireCase {
        status: 200,
        body: br#"{"coupon_code":"C-1"}"#.to_vec(),
        body_edit: None,
        skew: 0,
        wrong_key: false,
        plans: std::array::from_fn(|_| HeaderPlan::Keep),
        lowercase_names: false,
        junk: vec![],
        request_id: Some("RID".into()),
        close_delimited: false,
        typed: true,
    };
    assert!(build_reply(&case).1);
    run_wire_case(&case).unwrap();
    run_wire_case(&WireCase {
        typed: false,
        close_delimited: true,
        ..case
    })
    .unwrap();
}

/// Found by `error_body_parsing_never_panics_and_stays_bounded` against the
/// code before the fix (seed kept in the regressions file): an error reply's
/// `code` and `message` were copied whole into `ApiError`, so a server could
/// put megabytes into every `Display` of the error.
#[test]
fn regression_error_reply_code_and_message_are_cut() {
    let body = format!(
        r#"{{"code":"{}","detail":{{"field":""}},"message":""}}"#,
        "A".repeat(66)
    );
    let parsed = ErrorBody::parse(body.as_bytes());
    assert_eq!(parsed.code, format!("{}…", "A".repeat(MAX_CODE_CHARS)));

    let body = serde_json::to_vec(&json!({
        "code": "PARAM_ERROR",
        "message": "券".repeat(100_000),
        "detail": {"blob": "x".repeat(MAX_DETAIL_BYTES)},
    }))
    .unwrap();
    let parsed = ErrorBody::parse(&body);
    assert_eq!(parsed.code, "PARAM_ERROR");
    assert_eq!(parsed.message.chars().count(), MAX_MESSAGE_CHARS + 1);
    assert!(parsed.message.ends_with('…'));
    assert_eq!(parsed.detail, None, "an oversized detail is dropped");
    // Non-string messages and codes are written out, bounded.
    let parsed = ErrorBody::parse(br#"{"code":404,"message":{"text":["a","b"]}}"#);
    assert_eq!(parsed.code, "404");
    assert_eq!(parsed.message, r#"{"text":["a","b"]}"#);
    // Too deep to parse: a snippet of the body.
    let parsed = ErrorBody::parse(&deep_json(5000, false));
    assert_eq!(parsed.code, "");
    assert!(parsed.message.len() <= SNIPPET_LEN + 3);
}

/// The same through the client, with a long `Request-ID` too: every string
/// the error carries is bounded.
#[tokio::test]
async fn regression_a_huge_error_reply_gives_a_bounded_api_error() {
    let body = serde_json::to_vec(&json!({
        "code": "C".repeat(10_000),
        "message": "m".repeat(1_000_000),
    }))
    .unwrap();
    let server = TestServer::start(move |_, _| {
        Reply::new(400, body.clone()).header("Request-ID", "R".repeat(8_000))
    })
    .await;
    let client = merchant_builder(&server.url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let err = client
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
        .unwrap_err();
    let api = err.api_error().expect("an API error");
    assert_eq!(api.raw_code.chars().count(), MAX_CODE_CHARS + 1);
    assert_eq!(api.message.chars().count(), MAX_MESSAGE_CHARS + 1);
    assert_eq!(
        err.request_id().unwrap().chars().count(),
        MAX_REASON_CHARS + 1
    );
    assert!(err.to_string().len() < 2_000, "{}", err.to_string().len());
}

/// Found in review, then covered by the wire property's bound on `Display`:
/// serde's decode messages quote the offending value whole, so a verified
/// reply that is one long JSON string made an unbounded `DecodeError`.
#[tokio::test]
async fn regression_decode_errors_quote_a_bounded_part_of_the_value() {
    let body = format!("\"{}\"", "v".repeat(100_000));
    let server = TestServer::start(move |_, _| ok_reply(&body)).await;
    let client = merchant_builder(&server.url()).build().unwrap();
    let err = client
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
        .unwrap_err();
    let ErrorKind::Decode(decode) = err.kind() else {
        panic!("{err:?}")
    };
    assert!(
        decode.reason().starts_with("invalid type: string"),
        "{}",
        decode.reason()
    );
    assert!(decode.reason().chars().count() <= MAX_REASON_CHARS + 1);
    assert!(err.to_string().len() < 2_000);
}
