//! The operation chosen by id, reached through `wechatpay_endpoints::dispatch`:
//! a row's JSON body checked and rendered with the operation's own rules, and a
//! verified reply decoded into its response type.

use serde_json::Value;
use wechatpay_endpoints::operation_for;
use wechatpay_runtime::json::{Prepared, Problem};
use wechatpay_runtime::EndpointInfo;

/// Checks `body` (path parameters included) against the operation's schema and
/// typed request, and renders the path, query and wire body.
pub fn prepare(info: &'static EndpointInfo, body: &Value) -> Result<Prepared, Vec<Problem>> {
    operation_for(info).map_err(|p| vec![p])?.prepare(body)
}

/// Checks that a verified reply body decodes into the operation's response
/// type, and gives back the JSON of what decoded (to take the key fields from).
pub fn decode_reply(info: &'static EndpointInfo, body: &[u8]) -> Result<Value, String> {
    operation_for(info)
        .and_then(|operation| operation.decode_reply(body))
        .map_err(|problem| problem.to_string())
}
