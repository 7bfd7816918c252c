//! The operation chosen by id, reached through the generated
//! `wechatpay_endpoints::dispatch`: a row's JSON body checked and rendered with
//! the operation's own rules, and a verified reply decoded into its response type.

use serde::de::DeserializeOwned;
use serde::Deserialize;
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

/// Checks that a verified reply body decodes into the operation's response
/// type, and gives the body back as JSON (to take the key fields from).
pub fn decode_reply(info: &'static EndpointInfo, body: &[u8]) -> Result<Value, String> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"null"
    } else {
        body
    };
    let value: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    wechatpay_endpoints::dispatch(info.operation_id, DecodeReply { value: &value })
        .unwrap_or_else(|| Err(format!("no operation {}", info.operation_id)))?;
    Ok(value)
}

struct DecodeReply<'a> {
    value: &'a Value,
}

impl EndpointVisitor for DecodeReply<'_> {
    type Output = Result<(), String>;

    fn visit<E: Endpoint>(self) -> Self::Output
    where
        E::Request: DeserializeOwned,
        E::Response: serde::Serialize,
    {
        // Parsed once; the typed decode only checks it (no copy of the reply).
        E::Response::deserialize(self.value)
            .map(drop)
            .map_err(|e| e.to_string())
    }
}
