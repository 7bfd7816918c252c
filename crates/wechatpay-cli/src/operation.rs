//! An operation chosen by id at run time, reached through
//! `wechatpay_endpoints::dispatch`: a JSON body (parameters included) checked
//! and rendered into the exact request to send.

use serde_json::Value;
use wechatpay_runtime::json::{Prepared, Problem};
use wechatpay_runtime::EndpointInfo;

/// Checks `body` against the operation's schema and typed request, and renders
/// the path, query and wire body.
pub fn prepare(info: &'static EndpointInfo, body: &Value) -> Result<Prepared, Vec<Problem>> {
    wechatpay_endpoints::operation_for(info)
        .map_err(|p| vec![p])?
        .prepare(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A doc example as a user writes it for `call`: the body with its path and query parameters.
    fn example_as_written(info: &EndpointInfo, example: &wechatpay_runtime::Example) -> Value {
        let mut body: Value = if example.body.is_empty() {
            json!({})
        } else {
            serde_json::from_str(example.body).unwrap()
        };
        let params = example.path_params.iter().chain(example.query_params);
        for (name, value) in params {
            let field = info.request.field(name).unwrap();
            body[*name] = match field.ty {
                wechatpay_runtime::Ty::Integer(_) => json!(value.parse::<i64>().unwrap()),
                _ => json!(value),
            };
        }
        body
    }

    #[test]
    fn every_doc_request_example_passes_the_cli_validation() {
        let mut checked = 0;
        for info in wechatpay_endpoints::ALL {
            for example in info.request_examples {
                let body = example_as_written(info, example);
                if let Err(problems) = prepare(info, &body) {
                    panic!("{} {:?}: {problems:?}", info.operation_id, example.name);
                }
                checked += 1;
            }
        }
        assert!(checked >= 34, "only {checked} examples");
    }

    #[test]
    fn doc_examples_prepare_to_their_wire_form() {
        let info = wechatpay_endpoints::find("send-user-product-coupon").unwrap();
        let mut body: Value = serde_json::from_str(info.request_examples[0].body).unwrap();
        body["openid"] = json!("o/1");
        let prepared = prepare(info, &body).unwrap();
        assert_eq!(
            prepared.url(),
            "/brand/marketing/product-coupon/users/o%2F1/coupons"
        );
        let wire: Value = serde_json::from_slice(&prepared.body).unwrap();
        body.as_object_mut().unwrap().remove("openid");
        assert_eq!(wire, body);
    }

    fn problems(info: &'static EndpointInfo, body: &Value) -> Vec<String> {
        prepare(info, body)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn shape_problems_then_typed_rules_each_with_its_path() {
        let info = wechatpay_endpoints::find("send-user-product-coupon").unwrap();
        let body = json!({
            "openid": "o", "product_coupon_id": 5, "stock_id": "", "appid": "wx1",
            "send_request_no": "ab", "surprise": true,
            "coupon_tag_info": {"coupon_tag_list": ["MEMBER"], "extra": 1}
        });
        assert_eq!(
            problems(info, &body),
            [
                "coupon_tag_info.extra: unknown field (not in CouponTagInfo)",
                "product_coupon_id: expected a string, got a number",
                "surprise: unknown field (not in SendUserProductCouponRequest)",
            ]
        );
        let body = json!({
            "openid": "o", "product_coupon_id": "1", "stock_id": "", "appid": "wx1",
            "send_request_no": "ab", "attach": "x".repeat(151), "coupon_code": "bad code",
            "coupon_tag_info": {"coupon_tag_list": ["MEMBER", "VIP"]}
        });
        assert_eq!(
            problems(info, &body),
            [
                "stock_id: is required and must not be empty",
                "coupon_code: character ' ' is not allowed (allowed: 0-9A-Za-z_-)",
                "send_request_no: must be at least 6 characters long, got 2",
                "attach: must be at most 150 characters long, got 151",
                "coupon_tag_info.coupon_tag_list[1]: \"VIP\" is not one of MEMBER",
            ]
        );
    }

    #[test]
    fn conditional_rules_are_enforced() {
        // required_if: member_card_id is required when coupon_type is MEMBER.
        let info = wechatpay_endpoints::find("send-product-coupon").unwrap();
        let body = json!({"openid":"o","appid":"wx","stock_id":"1","out_request_no":"n1","coupon_type":"MEMBER"});
        let problems = prepare(info, &body).unwrap_err();
        assert_eq!(problems[0].path, "member_card_id", "{problems:?}");
    }
}
