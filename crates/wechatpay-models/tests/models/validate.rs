//! `validate()`: each rule fails and passes, every violation names its field.

use wechatpay_models::*;

fn bundle_request(send_request_no: &str) -> PreSendUserProductCouponBundleRequest {
    PreSendUserProductCouponBundleRequest::new(
        "oh-394z-6CGkNoJrsDLTTUKiAnp4",
        "200000001",
        "100232301",
        "wx233544546545989",
        send_request_no,
    )
}

fn violations(result: Result<(), Violations>) -> Vec<(String, Rule)> {
    result
        .err()
        .map(|v| v.0.into_iter().map(|v| (v.path, v.rule)).collect())
        .unwrap_or_default()
}

#[test]
fn the_doc_example_request_is_valid() {
    assert_eq!(
        bundle_request("34657_20250101_123456")
            .attach("example_attach")
            .validate(),
        Ok(())
    );
}

#[test]
fn attach_counts_characters_not_bytes() {
    let ok = bundle_request("34657_20250101_123456").attach("券".repeat(150));
    assert_eq!(
        ok.validate(),
        Ok(()),
        "150 Chinese characters (450 bytes) are within 150个UTF-8字符"
    );
    let long = bundle_request("34657_20250101_123456").attach("券".repeat(151));
    assert_eq!(
        violations(long.validate()),
        [(
            "attach".into(),
            Rule::MaxLength {
                max: 150,
                actual: 151,
                unit: LengthUnit::Chars
            }
        )]
    );
}

#[test]
fn bundle_send_request_no_is_6_to_40_characters() {
    assert_eq!(
        violations(bundle_request("12345").validate()),
        [(
            "send_request_no".into(),
            Rule::MinLength {
                min: 6,
                actual: 5,
                unit: LengthUnit::Chars
            }
        )]
    );
    assert_eq!(
        violations(bundle_request(&"a".repeat(41)).validate()),
        [(
            "send_request_no".into(),
            Rule::MaxLength {
                max: 40,
                actual: 41,
                unit: LengthUnit::Chars
            }
        )]
    );
    assert_eq!(bundle_request("123456").validate(), Ok(()));
    assert_eq!(bundle_request(&"a".repeat(40)).validate(), Ok(()));
}

#[test]
fn send_request_no_charset_is_enforced() {
    let v = violations(bundle_request("abc_12-3.4").validate());
    assert_eq!(
        v,
        [(
            "send_request_no".into(),
            Rule::Charset {
                allowed: "0-9A-Za-z_-",
                found: '.'
            }
        )]
    );
    assert_eq!(bundle_request("abc_12-34").validate(), Ok(()));
}

#[test]
fn empty_required_fields_and_path_parameters_are_named() {
    let request = PreSendUserProductCouponBundleRequest::new("", "", "100232301", "wx1", "123456");
    let paths: Vec<String> = violations(request.validate())
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(paths, ["openid", "product_coupon_id"]);
}

#[test]
fn control_characters_are_rejected_with_the_field() {
    let request = bundle_request("34657_20250101_123456").attach("line\nbreak");
    assert_eq!(
        violations(request.validate()),
        [("attach".into(), Rule::ControlCharacter { found: '\n' })]
    );
}

#[test]
fn every_violation_is_reported_at_once() {
    let request = SendProductCouponRequest::new("", "wx1", "s1", "no spaces", CouponType::Member);
    let v = violations(request.validate());
    let paths: Vec<&str> = v.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["openid", "out_request_no", "member_card_id"]);
    let message = request.validate().unwrap_err().to_string();
    assert!(
        message.contains("member_card_id: is required when coupon_type is MEMBER"),
        "{message}"
    );
    assert!(
        message.contains("out_request_no: character ' ' is not allowed"),
        "{message}"
    );
}

#[test]
fn member_card_id_is_required_only_for_member_coupons() {
    let normal = SendProductCouponRequest::new("o1", "wx1", "s1", "r|1_*-", CouponType::Normal);
    assert_eq!(normal.validate(), Ok(()));
    let member = SendProductCouponRequest::new("o1", "wx1", "s1", "r1", CouponType::Member);
    assert_eq!(
        violations(member.clone().validate()),
        [(
            "member_card_id".into(),
            Rule::RequiredIf {
                other: "coupon_type",
                equals: "MEMBER"
            }
        )]
    );
    assert!(
        member.clone().member_card_id("").validate().is_err(),
        "an empty id is missing"
    );
    assert_eq!(
        member
            .member_card_id("pbLatjvWOibDc5-TBnbUk1pD12o0")
            .validate(),
        Ok(())
    );
}

#[test]
fn out_request_no_allows_its_documented_symbols_only() {
    let ok = SendProductCouponRequest::new("o1", "wx1", "s1", "Ab9|_*-", CouponType::Normal);
    assert_eq!(ok.validate(), Ok(()));
    let bad = SendProductCouponRequest::new("o1", "wx1", "s1", "Ab9#", CouponType::Normal);
    assert_eq!(
        violations(bad.validate()),
        [(
            "out_request_no".into(),
            Rule::Charset {
                allowed: "A-Za-z0-9|_*-",
                found: '#'
            }
        )]
    );
}

#[test]
fn a_request_with_an_undocumented_enum_value_is_flagged() {
    let request =
        SendProductCouponRequest::new("o1", "wx1", "s1", "r1", CouponType::Unknown("GOLD".into()));
    assert_eq!(
        violations(request.validate()),
        [(
            "coupon_type".into(),
            Rule::UnknownEnumValue {
                value: "GOLD".into(),
                known: &["NORMAL", "MEMBER"],
            }
        )]
    );
}

#[test]
fn over_long_values_are_rejected_in_their_unit() {
    let request = SendProductCouponRequest::new(
        "o".repeat(129),
        "w".repeat(33),
        "s1",
        "r1",
        CouponType::Normal,
    );
    assert_eq!(
        violations(request.validate()),
        [
            (
                "openid".into(),
                Rule::MaxLength {
                    max: 128,
                    actual: 129,
                    unit: LengthUnit::Chars
                }
            ),
            (
                "appid".into(),
                Rule::MaxLength {
                    max: 32,
                    actual: 33,
                    unit: LengthUnit::Chars
                }
            ),
        ]
    );
}

fn send_request(send_request_no: &str) -> SendUserProductCouponRequest {
    SendUserProductCouponRequest::new(
        "oh-394z-6CGkNoJrsDLTTUKiAnp4",
        "1000000013",
        "1000000013001",
        "wx233544546545989",
        send_request_no,
    )
}

#[test]
fn send_coupon_send_request_no_is_6_to_128_characters() {
    assert_eq!(send_request(&"a".repeat(128)).validate(), Ok(()));
    assert_eq!(
        violations(send_request(&"a".repeat(129)).validate()),
        [(
            "send_request_no".into(),
            Rule::MaxLength {
                max: 128,
                actual: 129,
                unit: LengthUnit::Chars
            }
        )]
    );
    assert_eq!(
        violations(send_request("12345").validate()),
        [(
            "send_request_no".into(),
            Rule::MinLength {
                min: 6,
                actual: 5,
                unit: LengthUnit::Chars
            }
        )]
    );
}

#[test]
fn coupon_code_has_a_40_character_limit_and_a_charset() {
    assert_eq!(
        send_request("MCHSEND202003101234")
            .coupon_code("Code_123456")
            .validate(),
        Ok(())
    );
    let v = violations(
        send_request("MCHSEND202003101234")
            .coupon_code(format!("{}!", "a".repeat(40)))
            .validate(),
    );
    assert_eq!(
        v,
        [
            (
                "coupon_code".into(),
                Rule::MaxLength {
                    max: 40,
                    actual: 41,
                    unit: LengthUnit::Chars
                }
            ),
            (
                "coupon_code".into(),
                Rule::Charset {
                    allowed: "0-9A-Za-z_-",
                    found: '!'
                }
            ),
        ]
    );
}

#[test]
fn nested_fields_are_reported_with_their_full_path() {
    let tags = CouponTagInfo::new()
        .coupon_tag_list(vec![
            UserProductCouponTag::Member,
            UserProductCouponTag::Unknown("VIP".into()),
        ])
        .member_tag_info(MemberTagInfo::new().member_card_id("card\u{0}"));
    let request = send_request("MCHSEND202003101234").coupon_tag_info(tags);
    assert_eq!(
        violations(request.validate()),
        [
            (
                "coupon_tag_info.coupon_tag_list[1]".into(),
                Rule::UnknownEnumValue {
                    value: "VIP".into(),
                    known: &["MEMBER"],
                }
            ),
            (
                "coupon_tag_info.member_tag_info.member_card_id".into(),
                Rule::ControlCharacter { found: '\0' }
            ),
        ]
    );
}

#[test]
fn the_member_coupon_doc_example_is_valid() {
    let tags = CouponTagInfo::new()
        .coupon_tag_list(vec![UserProductCouponTag::Member])
        .member_tag_info(MemberTagInfo::new().member_card_id("MemberCardId_1234567890"));
    let request = send_request("MCHSEND202003101234")
        .coupon_code("Code_123456")
        .attach("any attach content")
        .coupon_tag_info(tags);
    assert_eq!(request.validate(), Ok(()));
}

/// Partner page 4016435636: 订单信息必须且只能传入 associated_order_info 与
/// associated_pay_score_order_info 之一 — exactly one, never none, never both.
#[test]
fn a_use_takes_exactly_one_order_object() {
    let none = UseUserProductCouponRequest::new(
        "o1",
        "code1",
        "1000000013",
        "1000000013001",
        "wx1",
        "2025-01-01T00:00:00+08:00".parse().unwrap(),
        "USE_1234",
    );
    let fields: &[&str] = &["associated_order_info", "associated_pay_score_order_info"];
    assert_eq!(
        violations(none.clone().validate()),
        [(
            "associated_order_info".into(),
            Rule::ExactlyOneOf { fields, present: 0 }
        )]
    );
    let order = none
        .clone()
        .associated_order_info(UserProductCouponAssociatedOrderInfo::new());
    assert_eq!(order.clone().validate(), Ok(()));
    let pay_score = none
        .clone()
        .associated_pay_score_order_info(UserProductCouponAssociatedPayScoreOrderInfo::new());
    assert_eq!(pay_score.validate(), Ok(()));
    let both =
        order.associated_pay_score_order_info(UserProductCouponAssociatedPayScoreOrderInfo::new());
    assert_eq!(
        violations(both.clone().validate()),
        [(
            "associated_order_info".into(),
            Rule::ExactlyOneOf { fields, present: 2 }
        )]
    );
    let message = both.validate().unwrap_err().to_string();
    assert!(
        message.contains(
            "associated_order_info: exactly one of associated_order_info, \
             associated_pay_score_order_info is required, 2 given"
        ),
        "{message}"
    );
}
