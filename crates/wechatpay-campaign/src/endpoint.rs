//! The operation chosen by id, reached through `wechatpay_endpoints::dispatch`:
//! a row's JSON body checked and rendered with the operation's own rules, and a
//! verified reply decoded into its response type.

use serde_json::Value;
use wechatpay_endpoints::Operation;
use wechatpay_runtime::json::{self, Prepared, Problem};
use wechatpay_runtime::EndpointInfo;

fn operation(info: &EndpointInfo) -> Result<&'static Operation, String> {
    wechatpay_endpoints::dispatch(info.operation_id)
        .ok_or_else(|| format!("no operation {}", info.operation_id))
}

/// Checks `body` (path parameters included) against the operation's schema and
/// typed request, and renders the path, query and wire body.
pub fn prepare(info: &'static EndpointInfo, body: &Value) -> Result<Prepared, Vec<Problem>> {
    operation(info)
        .map_err(|e| vec![Problem::new(json::WHOLE_BODY, e)])?
        .prepare(body)
}

/// Checks that a verified reply body decodes into the operation's response
/// type, and gives back the JSON of what decoded (to take the key fields from).
pub fn decode_reply(info: &'static EndpointInfo, body: &[u8]) -> Result<Value, String> {
    // An empty body reads as `null`, which the response type refuses by name.
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"null"
    } else {
        body
    };
    operation(info)?
        .decode_reply(body)
        .map_err(|problem| problem.to_string())
}
