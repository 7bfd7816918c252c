//! A result's key fields: what the journal keeps of a verified reply and the
//! report shows. A whole reply (send-user-product-coupon's carries the stock
//! and the product coupon, ~3 KB) times ten million rows would not fit a
//! journal; the key fields are a few hundred bytes.
//!
//! They are the response type's top-level scalar fields (`coupon_code`,
//! `coupon_state`, `valid_end_time`, …) or, for a response whose top level only
//! wraps a result object (`send_coupon_result`), that object's scalar fields.

use serde_json::{Map, Value};
use wechatpay_runtime::{Ty, TypeInfo};

fn scalar(ty: &Ty) -> bool {
    matches!(
        ty,
        Ty::String(_) | Ty::Integer(_) | Ty::Boolean | Ty::DateTime | Ty::Enum { .. }
    )
}

/// The paths of the key fields of `response`, in schema order.
pub fn key_paths(response: &TypeInfo) -> Vec<Vec<&'static str>> {
    let mut paths: Vec<Vec<&'static str>> = response
        .fields
        .iter()
        .filter(|f| scalar(&f.ty))
        .map(|f| vec![f.name])
        .collect();
    if paths.is_empty() {
        for field in response.fields {
            if let Ty::Object(inner) = field.ty {
                if inner.fields.iter().all(|f| scalar(&f.ty)) {
                    paths.extend(inner.fields.iter().map(|f| vec![field.name, f.name]));
                }
            }
        }
    }
    paths
}

/// The value at `path` in `value`.
pub fn get<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

/// `result` cut down to the key fields of `response`, keeping their nesting.
pub fn key_fields(response: &TypeInfo, result: &Value) -> Value {
    let mut out = Value::Object(Map::new());
    for path in key_paths(response) {
        let Some(found) = get(result, &path).filter(|v| !v.is_null()) else {
            continue;
        };
        let mut slot = &mut out;
        for key in &path[..path.len() - 1] {
            slot = slot
                .as_object_mut()
                .expect("built as objects")
                .entry(*key)
                .or_insert_with(|| Value::Object(Map::new()));
        }
        if let Some(map) = slot.as_object_mut() {
            map.insert(path[path.len() - 1].to_owned(), found.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_fields_keep_scalars_and_unwrap_a_result_object() {
        let user = wechatpay_endpoints::find("send-user-product-coupon").unwrap();
        let reply: Value =
            serde_json::from_str(user.response_examples[0].body).expect("the doc's reply");
        let kept = key_fields(user.response, &reply);
        assert_eq!(kept["coupon_code"], reply["coupon_code"]);
        assert_eq!(kept["coupon_state"], reply["coupon_state"]);
        assert!(kept.get("stock").is_none() && kept.get("product_coupon").is_none());
        assert!(kept.to_string().len() < reply.to_string().len() / 4);

        let merchant = wechatpay_endpoints::find("send-product-coupon").unwrap();
        let reply = json!({"send_coupon_result": {"stock_id": "1", "out_request_no": "N", "coupon_code": "C"}, "other": 1});
        assert_eq!(
            key_fields(merchant.response, &reply),
            json!({"send_coupon_result": {"stock_id": "1", "out_request_no": "N", "coupon_code": "C"}})
        );
    }
}
