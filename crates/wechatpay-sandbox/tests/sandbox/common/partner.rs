//! The partner family's doc examples as calls. They name the brand examples' ids
//! (1000000013, 200000001, …), which the sandbox seeds as the brand's own, and a
//! provider reaches only what it created: so a [`Fixture`] first creates, as the
//! provider for an authorised brand, the objects those ids stand for, and every
//! partner example is pointed at them and at that brand.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use wechatpay_runtime::{EndpointInfo, Ty, TypeInfo};
use wechatpay_transport::Client;

use super::examples::{example_request, execute, fix, setup};

/// A notify URL that refuses connections at once (nothing listens on port 9).
pub const NOWHERE: &str = "http://127.0.0.1:9/notify";

/// The objects the provider created for `brand`, by the example id each stands for.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub brand: String,
    pub ids: BTreeMap<String, String>,
}

/// The partner twin of brand operation `op` (the partner operation whose `twin_of` it is).
pub fn twin_of(op: &str) -> &'static str {
    wechatpay_endpoints::ALL
        .iter()
        .find(|i| i.twin_of == Some(op))
        .map(|i| i.operation_id)
        .unwrap_or_else(|| panic!("{op} has no partner twin"))
}

/// An availability window from an hour ago to 30 days ahead (the examples' 2025 dates have passed).
fn window() -> Value {
    let now = super::now().unix_timestamp();
    let at = |t: i64| wechatpay_runtime::DateTime::from_unix(t, 480).to_string();
    json!({"available_begin_time": at(now - 3600), "available_end_time": at(now + 30 * 86_400),
           "available_days": 30})
}

/// A brand operation's request example, as the partner twin's request for `brand`.
fn partner_body(brand_op: &str, brand: &str) -> Value {
    let mut body = example_request(wechatpay_endpoints::find(brand_op).unwrap(), 0);
    body["brand_id"] = json!(brand);
    body
}

/// Creates, as the provider for `brand`: its notify URL ([`NOWHERE`]); a SINGLE
/// product coupon with an UPLOAD stock holding the example's code (for
/// 1000000013 / 1000000013001); a PROGRESSIVE_BUNDLE product coupon with three
/// WECHATPAY bundles, the second with max_count 1 (for 200000001 and its bundles).
pub async fn fixture(client: &Client, brand: &str) -> Result<Fixture, String> {
    let call = |op: &str, body: Value| execute(client, twin_of(op), body);
    call("set-notify-config", json!({ "notify_url": NOWHERE })).await?;

    let mut single = partner_body("create-product-coupon", brand);
    single["stock"]["single_usage_rule"]["coupon_available_period"] = window();
    single["out_request_no"] = json!("FIXTURE_SINGLE_1");
    let single = call("create-product-coupon", single).await?;
    let p1 = single["product_coupon_id"].as_str().unwrap().to_owned();
    let s1 = single["stock"]["stock_id"].as_str().unwrap().to_owned();
    call(
        "upload-coupon-codes",
        json!({"brand_id": brand, "product_coupon_id": p1, "stock_id": s1,
               "out_request_no": "FIXTURE_UPLOAD_1", "code_list": [wechatpay_sandbox::EXAMPLE_CODE]}),
    )
    .await?;

    let mut template = partner_body("create-stock-bundle", brand)["stock_bundle"].clone();
    template["coupon_code_mode"] = json!("WECHATPAY");
    template["progressive_bundle_usage_rule"]["coupon_available_period"] = window();
    let mut bundled = partner_body("create-product-coupon", brand);
    let map = bundled.as_object_mut().unwrap();
    for field in ["stock", "single_usage_info"] {
        map.remove(field);
    }
    map.insert("usage_mode".into(), json!("PROGRESSIVE_BUNDLE"));
    map.insert(
        "progressive_bundle_usage_info".into(),
        json!({"count": 3, "interval_days": 1}),
    );
    map.insert("out_request_no".into(), json!("FIXTURE_BUNDLED_1"));
    map.insert("stock_bundle".into(), template.clone());
    let bundled = call("create-product-coupon", bundled).await?;
    let p2 = bundled["product_coupon_id"].as_str().unwrap().to_owned();
    let mut bundles = vec![bundled["stock_bundle"]["stock_bundle_id"]
        .as_str()
        .unwrap()
        .to_owned()];
    for (n, max_count) in [(2, 1), (3, 10_000_000)] {
        let mut b = template.clone();
        b["stock_send_rule"]["max_count"] = json!(max_count);
        let created = call(
            "create-stock-bundle",
            json!({"brand_id": brand, "product_coupon_id": p2,
                   "out_request_no": format!("FIXTURE_BUNDLE_{n}"), "stock_bundle": b}),
        )
        .await?;
        bundles.push(created["stock_bundle_id"].as_str().unwrap().to_owned());
    }
    let ids = [
        ("1000000013", p1),
        ("1000000013001", s1),
        ("200000001", p2),
        ("100232301", bundles[0].clone()),
        ("123456789", bundles[1].clone()),
        ("712315129419284901", bundles[2].clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    Ok(Fixture {
        brand: brand.to_owned(),
        ids,
    })
}

/// Every string of `value` that is an example id, replaced by the fixture's.
fn point_at(value: &mut Value, ids: &BTreeMap<String, String>) {
    match value {
        Value::String(s) => {
            if let Some(mine) = ids.get(s.as_str()) {
                *s = mine.clone();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| point_at(v, ids)),
        Value::Object(map) => map.values_mut().for_each(|v| point_at(v, ids)),
        _ => {}
    }
}

/// Partner example `index` of `op`, fixed as its brand twin's is, pointed at the fixture.
pub fn request(fixture: &Fixture, op: &str, index: usize, previous: Option<&Value>) -> Value {
    let info = wechatpay_endpoints::find(op).unwrap();
    let mut request = example_request(info, index);
    if let Some(twin) = info.twin_of {
        fix(twin, &mut request, previous);
    }
    point_at(&mut request, &fixture.ids);
    if let Some(field) = info.brand_field {
        request[field] = json!(fixture.brand);
    }
    request
}

/// What must have happened before a partner example can succeed: its brand twin's
/// setup as partner calls (and a task before it is queried).
pub fn steps(op: &str) -> Vec<(&'static str, usize)> {
    let info = wechatpay_endpoints::find(op).unwrap();
    match info.twin_of {
        Some(twin) => setup(twin).iter().map(|(b, i)| (twin_of(b), *i)).collect(),
        None if op == "partner-get-image-generation-task" => {
            vec![("partner-create-image-generation-task", 0)]
        }
        None => Vec::new(),
    }
}

/// The fixture and the steps `op` needs; the last step's reply.
pub async fn prepare(
    client: &Client,
    brand: &str,
    op: &str,
) -> Result<(Fixture, Option<Value>), String> {
    let fixture = fixture(client, brand)
        .await
        .map_err(|e| format!("fixture: {e}"))?;
    let mut previous = None;
    for (before, i) in steps(op) {
        let body = request(&fixture, before, i, previous.as_ref());
        let reply = execute(client, before, body)
            .await
            .map_err(|e| format!("setup {before}[{i}]: {e}"))?;
        previous = Some(reply);
    }
    Ok((fixture, previous))
}

/// The paths (`a.b[0].c`) of the objects in `value` whose schema type declares
/// `field` but which lack it or carry another value than `expected`.
pub fn missing_field(value: &Value, ty: &TypeInfo, field: &str, expected: &str) -> Vec<String> {
    let mut out = Vec::new();
    walk(value, ty, field, expected, "", &mut out);
    out
}

fn walk(
    value: &Value,
    ty: &TypeInfo,
    field: &str,
    expected: &str,
    at: &str,
    out: &mut Vec<String>,
) {
    let Value::Object(map) = value else { return };
    if ty.field(field).is_some() && map.get(field).and_then(Value::as_str) != Some(expected) {
        out.push(format!("{at}{field}={:?}", map.get(field)));
    }
    for f in ty.fields {
        if let Some(v) = map.get(f.name) {
            walk_ty(v, &f.ty, field, expected, &format!("{at}{}.", f.name), out);
        }
    }
}

fn walk_ty(value: &Value, ty: &Ty, field: &str, expected: &str, at: &str, out: &mut Vec<String>) {
    match (ty, value) {
        (Ty::Object(info), v) => walk(v, info, field, expected, at, out),
        (Ty::Array { item, .. }, Value::Array(items)) => {
            for (i, v) in items.iter().enumerate() {
                walk_ty(v, item, field, expected, &format!("{at}[{i}]."), out);
            }
        }
        _ => {}
    }
}

/// The partner operations, in schema order.
pub fn operations() -> impl Iterator<Item = &'static EndpointInfo> {
    wechatpay_endpoints::ALL
        .iter()
        .copied()
        .filter(|i| i.auth == wechatpay_transport::AuthScheme::Partner)
}
