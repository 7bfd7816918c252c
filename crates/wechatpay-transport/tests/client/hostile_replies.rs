//! Property tests: whatever bytes a server sends, decoding into the generated
//! types returns Ok or Err — never a panic — and a decoded value re-encodes.
//! (Here rather than in the endpoints crate, whose trybuild run would otherwise
//! build proptest a second time.)
//! Also: `validate()` and the RFC 3339 parser survive arbitrary strings.

use proptest::prelude::*;
use serde_json::Value;
use wechatpay_endpoints::{
    brand::{PreSendUserProductCouponBundle, SendUserProductCoupon},
    merchant::SendProductCoupon,
    Endpoint,
};
use wechatpay_models::*;

fn decode_all(bytes: &[u8]) {
    if let Ok(entity) = serde_json::from_slice::<UserProductCouponEntity>(bytes) {
        serde_json::to_vec(&entity).unwrap();
    }
    let _ = serde_json::from_slice::<SendProductCouponResponse>(bytes);
    let _ = serde_json::from_slice::<PreSendUserProductCouponBundleResponse>(bytes);
    if let Ok(request) = serde_json::from_slice::<SendUserProductCouponRequest>(bytes) {
        let _ = request.validate();
    }
}

/// Arbitrary JSON, biased toward the shapes and keys of the real replies.
fn json_value() -> impl Strategy<Value = Value> {
    let keys = prop::sample::select(vec![
        "coupon_code",
        "coupon_state",
        "valid_begin_time",
        "product_coupon",
        "stock",
        "send_channel",
        "single_usage_detail",
        "coupon_tag_info",
        "coupon_tag_list",
        "threshold",
        "percent_off",
        "x",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::String),
        Just(Value::String("2025-08-02T00:00:00+08:00".into())),
        Just(Value::String("CONFIRMING".into())),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(keys.clone(), inner, 0..8).prop_map(|m| Value::Object(
                m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
            )),
        ]
    })
}

fn doc_reply() -> &'static [u8] {
    SendUserProductCoupon::INFO.response_examples[0]
        .body
        .as_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        decode_all(&bytes);
    }

    #[test]
    fn mutated_doc_replies_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = doc_reply().to_vec();
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        bytes.truncate(cut.index(bytes.len() + 1));
        decode_all(&bytes);
    }

    #[test]
    fn arbitrary_json_never_panics(value in json_value()) {
        decode_all(&serde_json::to_vec(&value).unwrap());
    }

    #[test]
    fn doc_reply_with_one_field_replaced_never_panics(key_index in any::<prop::sample::Index>(), value in json_value()) {
        let mut reply: Value = serde_json::from_slice(doc_reply()).unwrap();
        let object = reply.as_object_mut().unwrap();
        let key = object.keys().nth(key_index.index(object.len())).unwrap().clone();
        object.insert(key, value);
        decode_all(&serde_json::to_vec(&reply).unwrap());
    }

    #[test]
    fn datetime_parser_never_panics(text in "\\PC{0,40}") {
        if let Ok(dt) = text.parse::<DateTime>() {
            // Whatever parses prints back to something that parses to the same value.
            prop_assert_eq!(dt.to_string().parse::<DateTime>().unwrap(), dt);
        }
    }

    #[test]
    fn validate_never_panics_and_names_fields(openid in "\\PC{0,200}", no in ".{0,200}", attach in "\\PC{0,300}") {
        let request = PreSendUserProductCouponBundleRequest::new(openid, "1", "2", "wx", no).attach(attach);
        if let Err(violations) = request.validate() {
            for v in violations.as_slice() {
                prop_assert!(["openid", "send_request_no", "attach"].contains(&v.path.as_str()), "{}", v);
            }
        }
    }
}

#[test]
fn the_doc_replies_still_decode() {
    for info in [
        SendProductCoupon::INFO,
        PreSendUserProductCouponBundle::INFO,
        SendUserProductCoupon::INFO,
    ] {
        assert!(!info.response_examples.is_empty());
    }
    serde_json::from_slice::<UserProductCouponEntity>(doc_reply()).unwrap();
}
