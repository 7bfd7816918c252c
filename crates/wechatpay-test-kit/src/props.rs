//! What the property tests of both crates share: the clock they run at, the
//! proptest configuration, the signers, the validity oracle for signature
//! headers, and the arbitrary-JSON strategy.

use std::sync::{Arc, LazyLock};

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use serde_json::{json, Value};
use wechatpay_protocol::crypto::{signer_from_pem, Signer};
use wechatpay_protocol::headers::SignatureHeaders;

use crate::fixture_text;

/// The clock every verifying property runs at.
pub const NOW: i64 = 1_700_000_000;
/// The two signature types the crates accept.
pub const ACCEPTED_TYPES: [&str; 2] = [
    "WECHATPAY2-SHA256-RSA2048",
    "WECHATPAY-BRAND-SHA256-RSA2048",
];

/// Signs as WeChat Pay does (the `wechatpay_key.pem` fixture).
pub static WECHATPAY_SIGNER: LazyLock<Arc<dyn Signer>> =
    LazyLock::new(|| signer_from_pem(fixture_text("wechatpay_key.pem")).unwrap());
/// A valid key that is not WeChat Pay's (`merchant_key.pem`).
pub static WRONG_SIGNER: LazyLock<Arc<dyn Signer>> =
    LazyLock::new(|| signer_from_pem(fixture_text("merchant_key.pem")).unwrap());

/// `cases` cases; failures are saved in `<test file>.proptest-regressions`
/// next to the test's source and replayed first.
pub fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

/// Whether `headers` still verify for a reply signed as `original` (the
/// oracle, written independently of the crates' checks): each signed value
/// unchanged, the serial naming the same key, a type the crates accept.
pub fn still_valid(original: &SignatureHeaders, headers: &SignatureHeaders) -> bool {
    headers.timestamp == original.timestamp
        && headers.nonce == original.nonce
        && headers.signature == original.signature
        // The fixtures sign with a public key id, which matches exactly
        // (only certificate serials match in either case).
        && headers.serial == original.serial
        && ACCEPTED_TYPES.contains(&headers.signature_type.as_str())
}

/// The `i`-th of the five signature headers (`i` past 4 is the type).
pub fn header_mut(h: &mut SignatureHeaders, i: usize) -> &mut String {
    match i {
        0 => &mut h.timestamp,
        1 => &mut h.nonce,
        2 => &mut h.signature,
        3 => &mut h.serial,
        _ => &mut h.signature_type,
    }
}

/// Arbitrary JSON, a few levels deep.
pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,10}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
