//! The operation chosen by id, reached through the generated
//! `wechatpay_endpoints::dispatch`: a row's JSON body checked and rendered with
//! the operation's own rules, and a verified reply decoded into its response type.

use serde::de::DeserializeOwned;
use serde_json::Value;
use wechatpay_runtime::json::{self, Prepared, Problem};
use wechatpay_runtime::{Endpoint, EndpointInfo, EndpointVisitor};

/// Checks `body` (path parameters included) against the operation's schema and
/// typed request, and renders the path, query and wire body.
pub fn prepare(info: &'static EndpointInfo, body: &Value) -> Result<Prepared, Vec<Problem>> {
    wechatpay_endpoints::dispatch(info.operation_id, PrepareRow { body }).unwrap_or_else(|| {
        Err(vec![Problem::new(
            json::WHOLE_BODY,
            format!("no operation {}", info.operation_id),
        )])
    })
}

struct PrepareRow<'a> {
    body: &'a Value,
}

impl EndpointVisitor for PrepareRow<'_> {
    type Output = Result<Prepared, Vec<Problem>>;

    fn visit<E: Endpoint>(self) -> Self::Output
    where
        E::Request: DeserializeOwned,
        E::Response: serde::Serialize,
    {
        json::prepare::<E>(self.body)
    }
}

/// Decodes a verified reply body into the operation's response type and gives
/// back what the type holds, as JSON (fields the schema does not know are left out).
pub fn decode_reply(info: &'static EndpointInfo, body: &[u8]) -> Result<Value, String> {
    wechatpay_endpoints::dispatch(info.operation_id, DecodeReply { body })
        .unwrap_or_else(|| Err(format!("no operation {}", info.operation_id)))
}

struct DecodeReply<'a> {
    body: &'a [u8],
}

impl EndpointVisitor for DecodeReply<'_> {
    type Output = Result<Value, String>;

    fn visit<E: Endpoint>(self) -> Self::Output
    where
        E::Request: DeserializeOwned,
        E::Response: serde::Serialize,
    {
        let body: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) {
            b"null"
        } else {
            self.body
        };
        let decoded: E::Response = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        serde_json::to_value(&decoded).map_err(|e| e.to_string())
    }
}
