//! A partner operation that doubles a brand operation (`EndpointInfo::twin_of`)
//! is served by that operation's handler: its request, less the brand field
//! (`EndpointInfo::brand_field`, which names the tenant instead), is the twin's
//! request, and the twin's reply gains `brand_id` wherever the response type
//! declares one.

use serde_json::Value;
use wechatpay_endpoints::AnyRequest;
use wechatpay_runtime::json::Problem;
use wechatpay_runtime::{EndpointInfo, Ty, TypeInfo};

/// The twin's typed request for a partner request (`request`: body with path and
/// query parameters, already checked against the partner operation).
pub fn brand_request(
    info: &EndpointInfo,
    twin: &str,
    request: &Value,
) -> Result<AnyRequest, Vec<Problem>> {
    let operation = wechatpay_endpoints::dispatch(twin).ok_or_else(|| {
        vec![Problem::new(
            wechatpay_runtime::json::WHOLE_BODY,
            format!(
                "{} doubles {twin}, which the schema lacks",
                info.operation_id
            ),
        )]
    })?;
    let mut request = request.clone();
    if let (Some(field), Value::Object(map)) = (info.brand_field, &mut request) {
        map.remove(field);
    }
    operation.decode_request(&request)
}

/// Sets `field` to `brand` on every object of `value` whose schema type (`ty`,
/// walked with the value) has such a field.
pub fn stamp(value: &mut Value, ty: &TypeInfo, field: &str, brand: &str) {
    let Value::Object(map) = value else { return };
    if ty.field(field).is_some() {
        map.insert(field.to_owned(), Value::String(brand.to_owned()));
    }
    for f in ty.fields {
        if let Some(v) = map.get_mut(f.name) {
            stamp_ty(v, &f.ty, field, brand);
        }
    }
}

fn stamp_ty(value: &mut Value, ty: &Ty, field: &str, brand: &str) {
    match (ty, value) {
        (Ty::Object(info), v) => stamp(v, info, field, brand),
        (Ty::Array { item, .. }, Value::Array(items)) => {
            for v in items {
                stamp_ty(v, item, field, brand);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_entity_that_declares_brand_id_gets_it() {
        let info = wechatpay_endpoints::find("partner-list-user-product-coupons").unwrap();
        let mut reply = json!({
            "total_count": 1,
            "user_coupon_list": [{"coupon_code": "c", "product_coupon": {"product_coupon_id": "p"},
                                  "stock": {"stock_id": "s"}}]
        });
        stamp(&mut reply, info.response, "brand_id", "120344");
        assert_eq!(
            reply.get("brand_id"),
            None,
            "the list itself has no brand_id"
        );
        let coupon = &reply["user_coupon_list"][0];
        assert_eq!(coupon["brand_id"], "120344");
        assert_eq!(coupon["product_coupon"]["brand_id"], "120344");
        assert_eq!(coupon["stock"]["brand_id"], "120344");
    }

    #[test]
    fn every_twin_answers_with_its_brand_operations_response_type() {
        for info in wechatpay_endpoints::ALL {
            if let Some(twin) = info.twin_of {
                let brand = wechatpay_endpoints::find(twin).unwrap();
                assert_eq!(
                    info.response.name, brand.response.name,
                    "{}",
                    info.operation_id
                );
            }
        }
    }
}
