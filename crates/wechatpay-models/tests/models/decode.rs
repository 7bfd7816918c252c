//! Decoding is forgiving where WeChat Pay may change things: unknown enum
//! values, missing optional fields and extra fields all decode.

use serde_json::json;
use wechatpay_models::*;

#[test]
fn unknown_enum_values_decode_and_serialize_back_unchanged() {
    let value: CouponType = serde_json::from_value(json!("PLATINUM")).unwrap();
    assert_eq!(value, CouponType::Unknown("PLATINUM".into()));
    assert!(!value.is_known());
    assert_eq!(serde_json::to_value(&value).unwrap(), json!("PLATINUM"));
    let known: CouponType = serde_json::from_value(json!("MEMBER")).unwrap();
    assert_eq!(known, CouponType::Member);
    assert_eq!(known.to_string(), "MEMBER");
    assert_eq!(CouponType::KNOWN_VALUES, ["NORMAL", "MEMBER"]);
}

/// 品类券 is a known scope (brand page 4016427370, 查询商品券): replies carrying
/// it decode as a known value, and requests may send it.
#[test]
fn the_category_scope_is_a_known_value() {
    let scope: ProductCouponScope = serde_json::from_value(json!("CATEGORY")).unwrap();
    assert_eq!(scope, ProductCouponScope::Category);
    assert!(scope.is_known());
    assert_eq!(serde_json::to_value(&scope).unwrap(), json!("CATEGORY"));
    assert_eq!(
        ProductCouponScope::KNOWN_VALUES,
        ["ALL", "SINGLE", "CATEGORY"]
    );
}

#[test]
fn missing_optional_fields_decode_to_none_and_stay_absent() {
    let response: SendProductCouponResponse = serde_json::from_value(json!({})).unwrap();
    assert_eq!(response.send_coupon_result, None);
    assert_eq!(serde_json::to_value(&response).unwrap(), json!({}));
}

#[test]
fn extra_unknown_fields_are_ignored() {
    let response: SendProductCouponResponse = serde_json::from_value(json!({
        "send_coupon_result": {"stock_id": "1", "new_field": {"nested": [1, 2]}},
        "another_new_field": true
    }))
    .unwrap();
    assert_eq!(
        response.send_coupon_result.unwrap().stock_id.as_deref(),
        Some("1")
    );
}

#[test]
fn a_missing_required_field_is_an_error_that_names_it() {
    let err =
        serde_json::from_value::<PreSendUserProductCouponBundleResponse>(json!({})).unwrap_err();
    assert!(err.to_string().contains("missing field `token`"), "{err}");
}

#[test]
fn wrong_types_are_errors_that_name_the_field() {
    let err = serde_json::from_value::<PreSendUserProductCouponBundleResponse>(json!({"token": 5}))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("invalid type: integer `5`, expected a string"),
        "{err}"
    );
}

#[test]
fn path_parameters_are_left_out_of_the_body_but_accepted_from_the_doc_example() {
    let request: PreSendUserProductCouponBundleRequest = serde_json::from_value(json!({
        "openid": "oh-394z", "product_coupon_id": "1", "stock_bundle_id": "2",
        "appid": "wx", "send_request_no": "123456"
    }))
    .unwrap();
    assert_eq!(request.openid, "oh-394z");
    let body = serde_json::to_value(&request).unwrap();
    assert!(body.get("openid").is_none());
    assert_eq!(body["send_request_no"], "123456");
}

#[test]
fn builders_set_optional_fields_and_leave_the_rest_out() {
    let request = SendProductCouponRequest::new("o1", "wx1", "s1", "r1", CouponType::Member)
        .member_card_id("card");
    assert_eq!(
        serde_json::to_value(&request).unwrap(),
        json!({"openid": "o1", "appid": "wx1", "stock_id": "s1", "out_request_no": "r1",
               "coupon_type": "MEMBER", "member_card_id": "card"})
    );
}

#[test]
fn datetimes_keep_the_doc_text() {
    let dt: DateTime = serde_json::from_value(json!("2025-08-02T00:00:00+08:00")).unwrap();
    assert_eq!(
        serde_json::to_value(&dt).unwrap(),
        json!("2025-08-02T00:00:00+08:00")
    );
    let err = serde_json::from_value::<DateTime>(json!("2025/08/02")).unwrap_err();
    assert!(
        err.to_string().contains("not an RFC 3339 date-time"),
        "{err}"
    );
}

#[test]
fn duplicate_keys_are_errors_that_name_the_field() {
    let err = serde_json::from_str::<PreSendUserProductCouponBundleRequest>(
        r#"{"product_coupon_id":"1","stock_bundle_id":"2","appid":"wx","send_request_no":"123456","appid":"wx2"}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("duplicate field `appid`"), "{err}");
}

#[test]
fn wrong_nested_types_name_the_field() {
    let err = serde_json::from_value::<SendUserProductCouponRequest>(json!({
        "product_coupon_id": "1", "stock_id": "2", "appid": "wx", "send_request_no": "123456",
        "coupon_tag_info": {"coupon_tag_list": "MEMBER"}
    }))
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("invalid type: string \"MEMBER\", expected a sequence"),
        "{err}"
    );
}
