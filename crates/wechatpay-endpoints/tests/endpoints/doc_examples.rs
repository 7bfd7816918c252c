//! Every doc example round-trips through the generated types to the same JSON
//! value: request examples with their path parameters, and every response
//! example (both variants of page 002).

use serde_json::Value;
use wechatpay_endpoints::*;
use wechatpay_runtime::path::{encode_component, parse_query};
use wechatpay_runtime::{BodyKind, Location, Ty};

/// Round-trips the operation's examples through its typed request and response (by
/// the run-time dispatch: the same path the CLI and the sandbox take); returns
/// (request, response) example counts.
fn round_trip(operation_id: &str) -> (usize, usize) {
    let op = dispatch(operation_id).unwrap_or_else(|| panic!("{operation_id} is not dispatched"));
    let info = op.info;
    for example in info.request_examples {
        let body: Value = if example.body.is_empty() {
            Value::Object(Default::default())
        } else {
            serde_json::from_str(example.body).unwrap()
        };
        // The doc's request classes hold the path and query parameters as fields.
        let mut with_params = body.clone();
        for (name, value) in example.path_params {
            with_params[*name] = Value::String((*value).to_owned());
        }
        for (name, value) in example.query_params {
            let field = info.request.field(name).expect("a query field");
            with_params[*name] = match field.ty {
                Ty::Integer(_) => Value::from(value.parse::<i64>().unwrap()),
                _ => Value::String((*value).to_owned()),
            };
        }
        let prepared = op.prepare(&with_params).unwrap_or_else(|e| {
            panic!(
                "{} request example {:?}: {e:?}",
                info.operation_id, example.name
            )
        });
        if info.body != BodyKind::None {
            assert_eq!(
                serde_json::from_slice::<Value>(&prepared.body).unwrap(),
                body,
                "{} request example {:?}: serializing gives exactly the wire body",
                info.operation_id,
                example.name
            );
        }
        let mut expected_path = info.path.as_str().to_owned();
        for (name, value) in example.path_params {
            expected_path = expected_path.replace(&format!("{{{name}}}"), &encode_component(value));
        }
        assert_eq!(prepared.path, expected_path);
        assert!(
            !expected_path.contains('{'),
            "every path parameter has an example value"
        );
        let mut sent: Vec<(String, String)> =
            parse_query(prepared.query.as_deref().unwrap_or_default()).unwrap();
        let mut expected: Vec<(String, String)> = example
            .query_params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        sent.sort();
        expected.sort();
        assert_eq!(
            sent, expected,
            "{} query of {:?}",
            info.operation_id, example.name
        );
    }
    for example in info.response_examples {
        let body: Value = serde_json::from_str(example.body).unwrap();
        let decoded = op
            .decode_reply(example.body.as_bytes())
            .unwrap_or_else(|e| {
                panic!(
                    "{} response example {:?}: {e}",
                    info.operation_id, example.name
                )
            });
        assert_eq!(
            decoded, body,
            "{} response example {:?} round-trips",
            info.operation_id, example.name
        );
    }
    (info.request_examples.len(), info.response_examples.len())
}

#[test]
fn dispatch_finds_every_operation_by_its_id() {
    for info in ALL {
        let op = dispatch(info.operation_id).unwrap();
        assert!(std::ptr::eq(op.info, *info), "{}", info.operation_id);
    }
    assert_eq!(OPERATIONS.len(), ALL.len());
    assert!(dispatch("no-such-operation").is_none());
}

#[test]
fn dispatch_decodes_a_request_into_its_typed_request_and_names_bad_fields() {
    let op = dispatch("send-product-coupon").unwrap();
    let body = serde_json::json!({
        "openid": "o", "appid": "wx", "stock_id": "1", "out_request_no": "n1",
        "coupon_type": "NORMAL"
    });
    let request = op.decode_request(&body).unwrap();
    let request = request
        .downcast::<wechatpay_models::SendProductCouponRequest>()
        .unwrap();
    assert_eq!(request.out_request_no, "n1");
    let problems = op
        .decode_request(&serde_json::json!({"openid": 1}))
        .unwrap_err();
    assert!(problems.iter().any(|p| p.path == "openid"), "{problems:?}");
    let problem = op
        .decode_reply(br#"{"send_coupon_result": 5}"#)
        .unwrap_err();
    assert_eq!(problem.path, "send_coupon_result", "{problem}");
}

#[test]
fn every_operation_round_trips_its_examples() {
    for info in ALL {
        round_trip(info.operation_id);
        // Parameters never travel in the body.
        for field in info.request.fields {
            if field.location != Location::Body {
                assert!(info.request_examples.iter().all(|e| {
                    e.body.is_empty()
                        || serde_json::from_str::<Value>(e.body)
                            .unwrap()
                            .get(field.name)
                            .is_none()
                }));
            }
        }
    }
}

#[test]
fn send_product_coupon_examples_round_trip() {
    assert_eq!(round_trip("send-product-coupon"), (1, 1));
}

#[test]
fn pre_send_user_product_coupon_bundle_examples_round_trip() {
    assert_eq!(round_trip("pre-send-user-product-coupon-bundle"), (1, 1));
}

#[test]
fn send_user_product_coupon_examples_round_trip() {
    // Page 002 has two request and two response variants (会员券 and 普通券).
    assert_eq!(round_trip("send-user-product-coupon"), (2, 2));
}

/// `schema/sources.yaml`: every operation and the official pages it is transcribed from.
#[derive(serde::Deserialize)]
struct Sources {
    operations: Vec<SourceEntry>,
}

#[derive(serde::Deserialize)]
struct SourceEntry {
    id: String,
    title: String,
    official: Vec<PageRef>,
    partner: Vec<PageRef>,
}

#[derive(serde::Deserialize)]
struct PageRef {
    id: u64,
    url: String,
}

fn schema_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema")
}

fn sources() -> Sources {
    let path = schema_dir().join("sources.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_operation_is_listed_once_with_the_design_ids() {
    // The ids of the list in the repository (the seeds' and the family's pages), the schema's
    // endpoint files and the generated operations are the same set.
    let mut listed: Vec<String> = sources().operations.into_iter().map(|e| e.id).collect();
    listed.sort();
    let mut files: Vec<String> = std::fs::read_dir(schema_dir().join("endpoints"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|name| name.strip_suffix(".yaml").map(str::to_owned))
        .collect();
    files.sort();
    let mut ids: Vec<String> = ALL
        .iter()
        .map(|info| info.operation_id.to_owned())
        .collect();
    ids.sort();
    assert_eq!(
        listed, files,
        "schema/sources.yaml against schema/endpoints/"
    );
    // Every brand operation has its partner twin (`partner-` + its id, DESIGN.md), declared
    // in schema/partner.yaml rather than listed; the rest are the listed files.
    let mut expected = listed.clone();
    for info in ALL
        .iter()
        .filter(|i| i.auth == wechatpay_runtime::AuthScheme::Brand)
    {
        let twin = format!("partner-{}", info.operation_id);
        let found = find(&twin).unwrap_or_else(|| panic!("{twin} is not generated"));
        assert_eq!(found.auth, wechatpay_runtime::AuthScheme::Partner, "{twin}");
        assert_eq!(
            found
                .path
                .as_str()
                .strip_prefix("/v3/marketing/partner/product-coupon"),
            info.path
                .as_str()
                .strip_prefix("/brand/marketing/product-coupon"),
            "{twin}"
        );
        expected.push(twin);
    }
    expected.sort();
    assert_eq!(
        ids, expected,
        "the generated operations against schema/sources.yaml and the partner twins"
    );
    assert_eq!(ids.len(), 34 + 35);
    for seed in [
        "send-product-coupon",
        "pre-send-user-product-coupon-bundle",
        "send-user-product-coupon",
    ] {
        assert!(find(seed).is_some(), "{seed}");
    }
    assert!(find("no-such-operation").is_none());
}

#[test]
fn every_operation_names_its_listed_official_pages() {
    let sources = sources();
    let mut listed_pages = Vec::new();
    for entry in &sources.operations {
        let info = find(&entry.id).unwrap_or_else(|| panic!("{} is not generated", entry.id));
        assert_eq!(info.title, entry.title, "{}", entry.id);
        for (kind, base, pages) in [
            (
                "official",
                "https://pay.weixin.qq.com/doc/brand/",
                &entry.official,
            ),
            (
                "partner",
                "https://pay.weixin.qq.com/doc/v3/partner/",
                &entry.partner,
            ),
        ] {
            let twin = find(&format!("partner-{}", entry.id));
            for page in pages {
                let name = format!("{kind} {}", page.id);
                assert!(
                    info.pages.contains(&name.as_str())
                        || twin.is_some_and(|t| t.pages.contains(&name.as_str())),
                    "{}: source.pages {:?} does not name {name}",
                    entry.id,
                    info.pages
                );
                assert_eq!(page.url, format!("{base}{}", page.id), "{}", entry.id);
                listed_pages.push(name);
            }
        }
    }
    // And the other way: every official or partner page an operation names is listed.
    for info in ALL {
        for page in info.pages {
            if page.starts_with("official ") || page.starts_with("partner ") {
                assert!(
                    listed_pages.iter().any(|p| p == page),
                    "{}: {page} is not in schema/sources.yaml",
                    info.operation_id
                );
            }
        }
    }
}

#[test]
fn brand_operations_require_the_public_key_id_header() {
    for info in ALL {
        let has_serial = info
            .headers
            .iter()
            .any(|h| h.name == "Wechatpay-Serial" && h.required);
        match info.auth {
            wechatpay_runtime::AuthScheme::Brand => assert!(has_serial, "{}", info.operation_id),
            // P1: the partner pages do not list it; sent, not required.
            wechatpay_runtime::AuthScheme::Merchant | wechatpay_runtime::AuthScheme::Partner => {}
        }
    }
}

#[test]
fn a_partner_twin_keeps_its_brand_operations_facts() {
    for twin in ALL.iter().filter(|i| i.twin_of.is_some()) {
        let brand = find(twin.twin_of.unwrap()).unwrap();
        let id = twin.operation_id;
        // Every row of the brand operation's table is in the twin's (its semantics are the
        // brand operation's), and the partner rows come on top.
        for row in brand.errors {
            assert!(
                twin.errors
                    .iter()
                    .any(|r| r.code == row.code && r.description == row.description),
                "{id} lacks {} {}",
                row.code,
                row.description
            );
        }
        assert!(
            twin.errors
                .iter()
                .any(|r| r.key == Some("provider_not_authorised")),
            "{id}"
        );
        // The same fields, plus the brand field first when the twin has one.
        let fields: Vec<&str> = twin.request.fields.iter().map(|f| f.name).collect();
        let mut expected: Vec<&str> = brand.request.fields.iter().map(|f| f.name).collect();
        if let Some(field) = twin.brand_field {
            expected.insert(0, field);
        }
        assert_eq!(fields, expected, "{id}");
        // A provider's numbers are unique per brand.
        match (twin.request_number, brand.request_number, twin.brand_field) {
            (Some(t), Some(b), Some(field)) => {
                assert_eq!(t.field, b.field, "{id}");
                assert_eq!(t.unique_within[0], field, "{id}");
                assert_eq!(&t.unique_within[1..], b.unique_within, "{id}");
            }
            (t, b, _) => assert_eq!(t.is_some(), b.is_some(), "{id}"),
        }
        assert_eq!(
            twin.pagination.is_some(),
            brand.pagination.is_some(),
            "{id}"
        );
        assert_eq!(twin.follow_up.is_some(), brand.follow_up.is_some(), "{id}");
    }
}
