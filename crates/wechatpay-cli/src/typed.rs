//! The typed layer: each operation's request type from `wechatpay-models`,
//! reached from an operation id, so a JSON body is checked by deserializing
//! into the typed request and calling its `validate()`.

use serde::de::DeserializeOwned;
use serde_json::Value;
use wechatpay_endpoints::{
    PreSendUserProductCouponBundle, SendProductCoupon, SendUserProductCoupon,
};
use wechatpay_transport::{Endpoint, EndpointInfo, Location, Validate};

use crate::schema_check::{self, BodyMode, Problem, WHOLE_BODY};

/// Something to do with an operation's endpoint type, chosen at run time by id.
pub trait EndpointVisitor {
    /// What the visit produces.
    type Output;
    /// Runs with the endpoint type of the operation.
    fn visit<E: Endpoint>(self) -> Self::Output
    where
        E::Request: DeserializeOwned;
}

/// Runs `visitor` with the endpoint type whose operation id is `operation_id`.
///
/// Returns `None` for an id with no typed binding here (the schema's
/// [`wechatpay_endpoints::ALL`] is still the list of operations; a test checks
/// that every one of them is bound).
pub fn with_endpoint<V: EndpointVisitor>(operation_id: &str, visitor: V) -> Option<V::Output> {
    macro_rules! bind {
        ($($endpoint:ty),* $(,)?) => {
            $(
                if operation_id == <$endpoint as Endpoint>::INFO.operation_id {
                    return Some(visitor.visit::<$endpoint>());
                }
            )*
        };
    }
    bind!(
        SendProductCoupon,
        PreSendUserProductCouponBundle,
        SendUserProductCoupon
    );
    None
}

/// A request ready to send: where it goes and the exact wire body.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub info: &'static EndpointInfo,
    /// The path with path parameters filled in and percent-encoded.
    pub path: String,
    /// The query string without `?`, if any.
    pub query: Option<String>,
    /// The wire body: the typed request serialized (path parameters left out).
    pub body: Vec<u8>,
}

impl Prepared {
    /// Path plus `?query`, as signed.
    pub fn url(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        }
    }
}

/// Checks a body as a user writes it (path parameters included, as in the doc
/// examples): schema rules first, then the typed request's deserialization and `validate()`.
pub fn prepare(info: &'static EndpointInfo, body: &Value) -> Result<Prepared, Vec<Problem>> {
    let problems = schema_check::check(info, body, BodyMode::WithPathParams);
    if !problems.is_empty() {
        return Err(problems);
    }
    typed_check(info, body)
}

/// Deserializes `body` (path parameters included) into the operation's typed
/// request and validates it; the problems are those of `validate()` and serde.
pub fn typed_check(info: &'static EndpointInfo, body: &Value) -> Result<Prepared, Vec<Problem>> {
    with_endpoint(info.operation_id, TypedCheck { body }).unwrap_or_else(|| untyped(info, body))
}

struct TypedCheck<'a> {
    body: &'a Value,
}

impl EndpointVisitor for TypedCheck<'_> {
    type Output = Result<Prepared, Vec<Problem>>;

    fn visit<E: Endpoint>(self) -> Self::Output
    where
        E::Request: DeserializeOwned,
    {
        let request: E::Request =
            serde_path_to_error::deserialize(self.body.clone()).map_err(|e| {
                let path = e.path().to_string();
                let path = if path == "." {
                    WHOLE_BODY.to_owned()
                } else {
                    path
                };
                vec![Problem::new(path, e.into_inner().to_string())]
            })?;
        if let Err(violations) = request.validate() {
            return Err(violations
                .as_slice()
                .iter()
                .map(|v| {
                    let text = v.to_string();
                    let message = text
                        .strip_prefix(&format!("{}: ", v.path))
                        .unwrap_or(&text)
                        .to_owned();
                    Problem::new(v.path.clone(), message)
                })
                .collect());
        }
        let body = serde_json::to_vec(&request)
            .map_err(|e| vec![Problem::new(WHOLE_BODY, e.to_string())])?;
        Ok(Prepared {
            info: E::INFO,
            path: E::path(&request),
            query: E::query(&request),
            body,
        })
    }
}

/// For an operation without a typed binding: path parameters substituted from
/// the body, the rest of the body sent as is.
fn untyped(info: &'static EndpointInfo, body: &Value) -> Result<Prepared, Vec<Problem>> {
    let mut wire = body.clone();
    let mut path = info.path_template.to_owned();
    for field in info.fields.iter().filter(|f| f.location == Location::Path) {
        let value = wire
            .as_object_mut()
            .and_then(|m| m.remove(field.path))
            .and_then(|v| v.as_str().map(str::to_owned))
            .ok_or_else(|| vec![Problem::new(field.path, "is required")])?;
        path = path.replace(
            &format!("{{{}}}", field.path),
            &wechatpay_transport::endpoint::encode_path_segment(&value),
        );
    }
    Ok(Prepared {
        info,
        path,
        query: None,
        body: serde_json::to_vec(&wire)
            .map_err(|e| vec![Problem::new(WHOLE_BODY, e.to_string())])?,
    })
}

/// The name of the top-level body field that carries the request number
/// (`out_request_no`, `send_request_no`): retries reuse it, which makes them idempotent.
pub fn request_number_field(info: &EndpointInfo) -> Option<&'static str> {
    info.fields
        .iter()
        .find(|f| {
            f.location == Location::Body && !f.path.contains('.') && f.path.ends_with("request_no")
        })
        .map(|f| f.path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Id;
    impl EndpointVisitor for Id {
        type Output = &'static str;
        fn visit<E: Endpoint>(self) -> &'static str
        where
            E::Request: DeserializeOwned,
        {
            E::INFO.operation_id
        }
    }

    #[test]
    fn every_schema_operation_has_a_typed_binding_and_a_request_number() {
        for info in wechatpay_endpoints::ALL {
            assert_eq!(
                with_endpoint(info.operation_id, Id),
                Some(info.operation_id)
            );
            assert!(
                request_number_field(info).is_some(),
                "{}",
                info.operation_id
            );
        }
        assert_eq!(with_endpoint("nope", Id), None);
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

    #[test]
    fn typed_rules_beyond_the_field_table_are_enforced() {
        // required_if: member_card_id is required when coupon_type is MEMBER.
        let info = wechatpay_endpoints::find("send-product-coupon").unwrap();
        let body = json!({"openid":"o","appid":"wx","stock_id":"1","out_request_no":"n1","coupon_type":"MEMBER"});
        let problems = prepare(info, &body).unwrap_err();
        assert_eq!(problems[0].path, "member_card_id", "{problems:?}");
    }
}
