//! The doc's request examples as calls: each example checked, sent and its reply
//! decoded through the operation's typed request and response (the generated
//! `dispatch`), the calls that must come first so that it can succeed, and the ids
//! of the examples that contradict the other pages pointed at the seeded objects
//! they mean (listed in the README).

use serde_json::{json, Value};
use wechatpay_runtime::{json as rtjson, BodyKind, EndpointInfo};
use wechatpay_sandbox::Sandbox;
use wechatpay_transport::{AuthScheme, CallOptions, Client, ErrorKind, FilePart, Identity};

/// Sends `request` (body with its parameters) as operation `op`: checked as its typed
/// request, signed, sent, verified, and the reply decoded into its typed response,
/// given back as JSON.
pub async fn execute(client: &Client, op: &str, request: Value) -> Result<Value, String> {
    let operation = wechatpay_endpoints::dispatch(op).expect("a generated endpoint");
    let info = operation.info;
    // An upload sends a file beside its meta: the example's meta names the page's
    // header.jpg, so a stand-in file takes its place and states its own facts.
    let file = (info.body == BodyKind::Multipart)
        .then(|| FilePart::new("header.jpg", b"\xff\xd8\xff stand-in jpeg".to_vec()));
    let mut body = request;
    if let Some(file) = &file {
        for field in ["filename", "sha256"] {
            body.as_object_mut().map(|m| m.remove(field));
        }
        file.fill_meta(&mut body);
    }
    let prepared = operation.prepare(&body).map_err(|p| format!("{p:?}"))?;
    let mut options = CallOptions::new();
    if let Some(file) = file {
        options = options.file(file);
    }
    let reply = client
        .execute_raw(info, &prepared.url(), prepared.body, options)
        .await
        .map_err(|e| match e.kind() {
            ErrorKind::Api(e) => format!("HTTP {} {}: {}", e.status, e.raw_code, e.message),
            other => other.to_string(),
        })?;
    operation
        .decode_reply(&reply.body)
        .map_err(|p| p.to_string())
}

/// The example's body with its path and query parameters merged in.
pub fn example_request(info: &EndpointInfo, index: usize) -> Value {
    let example = &info.request_examples[index];
    let mut value: Value = if example.body.trim().is_empty() {
        json!({})
    } else {
        serde_json::from_str(example.body).unwrap()
    };
    let params: Vec<(String, String)> = example
        .path_params
        .iter()
        .chain(example.query_params)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    rtjson::merge_params(info.request, &mut value, &params).unwrap();
    value
}

/// What must have happened before an example of `op` can succeed: (operation, example index).
pub fn setup(op: &str) -> &'static [(&'static str, usize)] {
    const SEND: (&str, usize) = ("send-user-product-coupon", 1);
    const CONFIRM: (&str, usize) = ("confirm-send-user-product-coupon", 0);
    const USE: (&str, usize) = ("use-user-product-coupon", 0);
    match op {
        "confirm-send-user-product-coupon"
        | "get-user-product-coupon"
        | "deactivate-user-product-coupon"
        | "list-user-product-coupons" => &[SEND],
        "use-user-product-coupon" => &[SEND, CONFIRM],
        "return-user-product-coupon" => &[SEND, CONFIRM, USE],
        "get-notify-config" => &[("set-notify-config", 0)],
        "deactivate-user-product-coupon-bundle" => &[("send-user-product-coupon-bundle", 0)],
        _ => &[],
    }
}

/// Points the examples that contradict the other pages at the seeded objects.
/// `previous` is the reply of the last setup call.
pub fn fix(op: &str, request: &mut Value, previous: Option<&Value>) {
    match op {
        // Bundle 712315129419284901 (and every bundle) belongs to the PROGRESSIVE_BUNDLE
        // product coupon 200000001, not to the single-use 1000000013.
        "send-user-product-coupon-bundle" => {
            request["product_coupon_id"] = json!("200000001");
            request["stock_bundle_id"] = json!("100232301");
        }
        "deactivate-user-product-coupon-bundle" => {
            request["product_coupon_id"] = json!("200000001");
            request["user_coupon_bundle_id"] = previous.unwrap()["user_coupon_bundle_id"].clone();
        }
        // 100232301 is a stock bundle id; a single pre-send takes a stock (and an uploaded code).
        "pre-send-user-product-coupon" => {
            request["product_coupon_id"] = json!("1000000013");
            request["stock_id"] = json!("1000000013001");
            request["coupon_code"] = json!(wechatpay_sandbox::EXAMPLE_CODE);
        }
        // The example's 2025-08-03 is before any coupon the sandbox issues today.
        "use-user-product-coupon" => request["use_time"] = json!(super::now().to_string()),
        _ => {}
    }
}

pub async fn call(
    client: &Client,
    op: &str,
    index: usize,
    previous: Option<&Value>,
) -> Result<Value, String> {
    let info = wechatpay_endpoints::find(op).unwrap();
    let mut request = example_request(info, index);
    fix(op, &mut request, previous);
    execute(client, op, request).await
}

/// A client of the identity `info` is called with.
pub fn client_for(sandbox: &Sandbox, info: &EndpointInfo) -> Client {
    let id = &sandbox.keys().identity;
    let identity = match info.auth {
        AuthScheme::Brand => Identity::brand(id.brand_id.as_str()),
        AuthScheme::Merchant => Identity::merchant(id.mchid.as_str()),
        AuthScheme::Partner => Identity::partner(id.sp_mchid.as_str()),
    };
    sandbox
        .client_builder(identity)
        .retry(wechatpay_transport::RetryPolicy::none())
        .build()
        .unwrap()
}

/// Runs the calls `op` needs first; returns the last one's reply.
pub async fn prepare(client: &Client, op: &str) -> Result<Option<Value>, String> {
    let mut previous = None;
    for (before, i) in setup(op) {
        let reply = call(client, before, *i, previous.as_ref())
            .await
            .map_err(|e| format!("setup {before}[{i}]: {e}"))?;
        previous = Some(reply);
    }
    Ok(previous)
}
