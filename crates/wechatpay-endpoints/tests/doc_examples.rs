//! Every doc example round-trips through the generated types to the same JSON
//! value: request examples with their path parameters, and every response
//! example (both variants of page 002).

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use wechatpay_endpoints::*;
use wechatpay_transport::endpoint::encode_path_segment;

/// Round-trips the operation's examples; returns (request, response) example counts.
fn round_trip<E>() -> (usize, usize)
where
    E: Endpoint,
    E::Request: DeserializeOwned,
    E::Response: Serialize,
{
    let info = E::INFO;
    for example in info.request_examples {
        let body: Value = serde_json::from_str(example.body).unwrap();
        // The doc's request classes hold the path parameters as fields.
        let mut with_path = body.clone();
        for (name, value) in example.path_params {
            with_path[*name] = Value::String((*value).to_owned());
        }
        let request: E::Request = serde_json::from_value(with_path).unwrap_or_else(|e| {
            panic!(
                "{} request example {:?}: {e}",
                info.operation_id, example.name
            )
        });
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            body,
            "{} request example {:?}: serializing gives exactly the wire body",
            info.operation_id,
            example.name
        );
        let mut expected_path = info.path_template.to_owned();
        for (name, value) in example.path_params {
            expected_path =
                expected_path.replace(&format!("{{{name}}}"), &encode_path_segment(value));
        }
        assert_eq!(E::path(&request), expected_path);
        assert!(
            !expected_path.contains('{'),
            "every path parameter has an example value"
        );
    }
    for example in info.response_examples {
        let body: Value = serde_json::from_str(example.body).unwrap();
        let response: E::Response = serde_json::from_str(example.body).unwrap_or_else(|e| {
            panic!(
                "{} response example {:?}: {e}",
                info.operation_id, example.name
            )
        });
        assert_eq!(
            serde_json::to_value(&response).unwrap(),
            body,
            "{} response example {:?} round-trips",
            info.operation_id,
            example.name
        );
    }
    (info.request_examples.len(), info.response_examples.len())
}

#[test]
fn send_product_coupon_examples_round_trip() {
    assert_eq!(round_trip::<SendProductCoupon>(), (1, 1));
}

#[test]
fn pre_send_user_product_coupon_bundle_examples_round_trip() {
    assert_eq!(round_trip::<PreSendUserProductCouponBundle>(), (1, 1));
}

#[test]
fn send_user_product_coupon_examples_round_trip() {
    // Page 002 has two request and two response variants (会员券 and 普通券).
    assert_eq!(round_trip::<SendUserProductCoupon>(), (2, 2));
}

#[test]
fn every_operation_is_listed_once_with_the_design_ids() {
    let ids: Vec<&str> = ALL.iter().map(|info| info.operation_id).collect();
    assert_eq!(
        ids,
        [
            "pre-send-user-product-coupon-bundle",
            "send-product-coupon",
            "send-user-product-coupon"
        ]
    );
    assert!(find("send-user-product-coupon").is_some());
    assert!(find("no-such-operation").is_none());
}

#[test]
fn brand_operations_require_the_public_key_id_header() {
    for info in ALL {
        let has_serial = info
            .required_headers
            .iter()
            .any(|h| h.name == "Wechatpay-Serial");
        match info.auth {
            wechatpay_transport::AuthScheme::Brand => assert!(has_serial, "{}", info.operation_id),
            wechatpay_transport::AuthScheme::Merchant => {}
        }
    }
}
