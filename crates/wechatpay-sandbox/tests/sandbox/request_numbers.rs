//! Idempotency for every operation whose schema declares a request number
//! (`EndpointInfo::request_number`): the doc example sent twice gets the first
//! result again (counted as a replay, nothing issued twice); the same number
//! with another request is refused — RESOURCE_ALREADY_EXISTS where the
//! operation's table has it, else 400 INVALID_REQUEST.

use crate::common;

use common::examples::{client_for, example_request, execute, fix, prepare};
use common::partner;
use serde_json::Value;
use wechatpay_runtime::{EndpointInfo, Ty};
use wechatpay_sandbox::{Options, Sandbox};

/// The same request with one more string field changed: its last character
/// swapped for another digit (same length, same charset), skipping the number,
/// the fields the number is unique within and the brand a provider names; a
/// top-level string field if there is one, else one of a top-level object.
fn another_request(info: &EndpointInfo, request: &Value) -> Value {
    let rn = info.request_number.unwrap();
    let mut other = request.clone();
    let candidates = || {
        info.request
            .fields
            .iter()
            .filter(|f| f.name != rn.field && !rn.unique_within.contains(&f.name))
            .filter(|f| Some(f.name) != info.brand_field)
    };
    let filled = |value: &Value, name: &str| {
        value
            .get(name)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    let string_in = |ty: &'static wechatpay_runtime::TypeInfo, value: &Value| {
        ty.fields
            .iter()
            .filter(|f| matches!(f.ty, Ty::String(_)))
            .find(|f| filled(value, f.name))
            .map(|f| f.name)
    };
    let top = candidates()
        .filter(|f| matches!(f.ty, Ty::String(_)))
        .find(|f| filled(request, f.name));
    let path: Vec<&str> = match top {
        Some(f) => vec![f.name],
        None => candidates()
            .find_map(|f| match (&f.ty, request.get(f.name)) {
                (Ty::Object(ty), Some(v)) => string_in(ty, v).map(|inner| vec![f.name, inner]),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{}: no string field to change", info.operation_id)),
    };
    let slot = path.iter().fold(&mut other, |v, name| &mut v[*name]);
    let mut text = slot.as_str().unwrap().to_owned();
    let last = text.pop().unwrap();
    text.push(if last == '0' { '1' } else { '0' });
    *slot = Value::String(text);
    other
}

#[test]
fn every_request_number_replays_its_first_result_and_refuses_another_request() {
    let keys = common::keys();
    let rt = common::runtime();
    let mut checked = 0;
    for info in wechatpay_endpoints::ALL
        .iter()
        .filter(|i| i.request_number.is_some())
    {
        let sandbox = Sandbox::start(Options::new(keys.path())).unwrap();
        let client = client_for(&sandbox, info);
        rt.block_on(async {
            let request = if info.auth == wechatpay_transport::AuthScheme::Partner {
                // On what the provider created for an authorised brand.
                let brand = &sandbox.keys().identity.brand_id;
                let (fixture, previous) = partner::prepare(&client, brand, info.operation_id)
                    .await
                    .unwrap();
                partner::request(&fixture, info.operation_id, 0, previous.as_ref())
            } else {
                let previous = prepare(&client, info.operation_id).await.unwrap();
                let mut request = example_request(info, 0);
                fix(info.operation_id, &mut request, previous.as_ref());
                request
            };
            let send = |request: Value| execute(&client, info.operation_id, request);
            let first = send(request.clone())
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", info.operation_id));
            let again = send(request.clone())
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", info.operation_id));
            assert_eq!(first, again, "{}: the replay differs", info.operation_id);
            let stats = common::admin(&sandbox, "GET", "/sandbox/stats", None).await;
            let op = &stats["operations"][info.operation_id];
            assert_eq!(op["replayed"], 1, "{}: {op}", info.operation_id);
            let refused = send(another_request(info, &request)).await.unwrap_err();
            let expected = if info
                .errors
                .iter()
                .any(|r| r.code == "RESOURCE_ALREADY_EXISTS")
            {
                "HTTP 400 RESOURCE_ALREADY_EXISTS"
            } else {
                "HTTP 400 INVALID_REQUEST"
            };
            assert!(
                refused.starts_with(expected) && refused.contains("already used"),
                "{}: {refused}",
                info.operation_id
            );
        });
        checked += 1;
    }
    assert!(checked >= 40, "{checked} operations with a request number");
}
