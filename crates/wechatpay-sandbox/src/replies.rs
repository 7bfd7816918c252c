//! Reply bodies: the doc's example reply with the request's own values echoed
//! where the reply mirrors them, and `{code, message, detail}` errors.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};
use wechatpay_runtime::{EndpointInfo, Example};

/// An error reply: HTTP status and the JSON WeChat Pay sends.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub detail: Value,
}

impl Rejection {
    /// A rejection with an empty detail.
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        Rejection {
            status,
            code: code.to_owned(),
            message: message.into(),
            detail: json!({}),
        }
    }

    /// 401 SIGN_ERROR.
    pub fn sign_error(message: impl Into<String>) -> Self {
        Self::new(401, "SIGN_ERROR", message)
    }

    /// 400 PARAM_ERROR.
    pub fn param_error(message: impl Into<String>) -> Self {
        Self::new(400, "PARAM_ERROR", message)
    }

    /// Replaces the detail.
    pub fn with_detail(mut self, detail: Value) -> Self {
        self.detail = detail;
        self
    }

    /// A row of the endpoint's error table (its documented status and description).
    pub fn documented(info: &EndpointInfo, code: &str) -> Option<Self> {
        info.errors
            .iter()
            .find(|row| row.code == code)
            .map(|row| Self::new(row.status, row.code, row.description))
    }

    /// The reply body.
    pub fn body(&self) -> Vec<u8> {
        let body = json!({"code": self.code, "message": self.message, "detail": self.detail});
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

/// The success reply for `request` (wire body plus path parameters): the
/// example reply that fits it, with the request's values echoed.
///
/// `seq` numbers issued results; it makes the codes WeChat Pay would assign unique.
pub fn success_body(info: &EndpointInfo, request: &Value, seq: u64) -> Vec<u8> {
    let example = pick_example(info, request);
    let mut reply: Value = example
        .and_then(|e| serde_json::from_str(e.body).ok())
        .unwrap_or_else(|| json!({}));
    if let (Value::Object(reply), Value::Object(request)) = (&mut reply, request) {
        let fields: BTreeSet<&str> = info.request.fields.iter().map(|f| f.name).collect();
        echo(reply, request, &fields, seq, 0);
    }
    serde_json::to_vec(&reply).unwrap_or_default()
}

/// The response example named like the request example whose top-level keys
/// are closest to the request's (e.g. 发送会员券 vs 发放普通券); else the first.
fn pick_example<'a>(info: &'a EndpointInfo, request: &Value) -> Option<&'a Example> {
    let keys = |v: &Value| -> BTreeSet<String> {
        v.as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    let have = keys(request);
    let best = info
        .request_examples
        .iter()
        .filter_map(|e| {
            serde_json::from_str::<Value>(e.body)
                .ok()
                .map(|v| (e.name, keys(&v)))
        })
        .max_by_key(|(_, k)| {
            let same = k.intersection(&have).count() as i64;
            let differ = k.symmetric_difference(&have).count() as i64;
            same - differ
        })
        .map(|(name, _)| name);
    best.and_then(|name| info.response_examples.iter().find(|e| e.name == name))
        .or_else(|| info.response_examples.first())
}

/// Copies request values into the reply where a key of the reply's top level
/// (or of an object directly under it) is a top-level request field. Deeper
/// levels are left alone: there `appid` and the like name other things.
fn echo(
    reply: &mut Map<String, Value>,
    request: &Map<String, Value>,
    fields: &BTreeSet<&str>,
    seq: u64,
    depth: usize,
) {
    let keys: Vec<String> = reply.keys().cloned().collect();
    for key in keys {
        if fields.contains(key.as_str()) {
            match request.get(&key).filter(|v| !v.is_null()) {
                Some(value) => {
                    reply.insert(key, value.clone());
                }
                // WeChat Pay assigns a coupon code when the request has none;
                // any other mirrored field the request left out is left out.
                None if key == "coupon_code" => {
                    reply.insert(key, Value::String(format!("SBX{seq:09}")));
                }
                None => {
                    reply.remove(&key);
                }
            }
        } else if depth == 0 {
            if let Some(Value::Object(child)) = reply.get_mut(&key) {
                echo(child, request, fields, seq, depth + 1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: &str) -> &'static EndpointInfo {
        wechatpay_endpoints::find(id).unwrap()
    }

    #[test]
    fn merchant_reply_mirrors_the_request() {
        let request = json!({"openid":"o","appid":"wx","stock_id":"S1","out_request_no":"N1","coupon_type":"NORMAL"});
        let body: Value =
            serde_json::from_slice(&success_body(info("send-product-coupon"), &request, 7))
                .unwrap();
        assert_eq!(
            body,
            json!({"send_coupon_result": {"stock_id":"S1","out_request_no":"N1","coupon_code":"SBX000000007"}})
        );
    }

    #[test]
    fn brand_reply_picks_the_fitting_variant_and_echoes() {
        let info = info("send-user-product-coupon");
        let request = json!({"openid":"o","product_coupon_id":"P","stock_id":"S","appid":"wx","send_request_no":"R123456"});
        let body: Value = serde_json::from_slice(&success_body(info, &request, 1)).unwrap();
        assert_eq!(body["send_request_no"], "R123456");
        assert_eq!(body["stock"]["stock_id"], "S");
        assert_eq!(body["product_coupon"]["product_coupon_id"], "P");
        assert_eq!(body["coupon_code"], "SBX000000001");
        assert!(body.get("attach").is_none() && body.get("coupon_tag_info").is_none());
        // Deeper appids are not the request's appid.
        assert_ne!(
            body["stock"]["coupon_display_info"]["entrance_mini_program"]["appid"],
            "wx"
        );
        let mut member: Value = serde_json::from_str(info.request_examples[0].body).unwrap();
        member["attach"] = json!("mine");
        let body: Value = serde_json::from_slice(&success_body(info, &member, 2)).unwrap();
        assert_eq!(body["coupon_tag_info"], member["coupon_tag_info"]);
        assert_eq!(body["attach"], "mine");
        assert!(serde_json::from_value::<wechatpay_models::UserProductCouponEntity>(body).is_ok());
    }

    #[test]
    fn error_bodies_have_code_message_detail() {
        let r = Rejection::documented(info("send-product-coupon"), "STOCK_INSUFFICIENT").unwrap();
        assert_eq!(r.status, 400);
        let body: Value = serde_json::from_slice(&r.body()).unwrap();
        assert_eq!(body["code"], "STOCK_INSUFFICIENT");
        assert!(body["detail"].is_object());
    }
}
