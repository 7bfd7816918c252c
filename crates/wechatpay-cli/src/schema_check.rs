//! Checks a JSON body against an endpoint's [`FieldInfo`] table: unknown
//! fields, JSON types, required fields, lengths (in the documented unit),
//! charsets and enum values, each problem named by its field path.
//!
//! The typed request's `validate()` (in [`crate::typed`]) runs after this; the
//! schema walk exists because serde alone ignores unknown fields and reports
//! type errors without the rule that was broken.

use std::fmt;

use serde_json::{Map, Value};
use wechatpay_transport::{EndpointInfo, FieldInfo, Location};

use crate::charset::Charset;

/// One broken rule at one field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted field path with array indexes (`coupon_tag_info.coupon_tag_list[0]`).
    pub path: String,
    /// What is wrong, without the path.
    pub message: String,
}

impl Problem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Which fields may appear in the JSON object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyMode {
    /// What a user writes for the CLI: body fields plus path parameters (like the doc's examples).
    WithPathParams,
    /// What travels on the wire: body fields only.
    Wire,
}

/// The path used for a problem with the body as a whole.
pub const WHOLE_BODY: &str = "(body)";

/// Checks `body` against `info`'s fields; an empty result means no problem found.
pub fn check(info: &EndpointInfo, body: &Value, mode: BodyMode) -> Vec<Problem> {
    let mut out = Vec::new();
    match body {
        Value::Object(map) => Walker { info, mode }.object(map, "", "", &mut out),
        other => out.push(Problem::new(
            WHOLE_BODY,
            format!("must be a JSON object, got {}", kind(other)),
        )),
    }
    out
}

struct Walker<'a> {
    info: &'a EndpointInfo,
    mode: BodyMode,
}

impl Walker<'_> {
    fn allowed(&self, field: &FieldInfo) -> bool {
        match field.location {
            Location::Body => true,
            Location::Path | Location::Query => self.mode == BodyMode::WithPathParams,
        }
    }

    fn field(&self, schema_path: &str) -> Option<&'static FieldInfo> {
        self.info
            .fields
            .iter()
            .find(|f| f.path == schema_path && self.allowed(f))
    }

    /// `schema_prefix` has no array indexes (it keys the field table); `shown_prefix` has them.
    fn object(
        &self,
        map: &Map<String, Value>,
        schema_prefix: &str,
        shown_prefix: &str,
        out: &mut Vec<Problem>,
    ) {
        for (key, value) in map {
            let shown = join(shown_prefix, key);
            match self.field(&join(schema_prefix, key)) {
                None => out.push(Problem::new(
                    shown,
                    format!("unknown field (not in {})", self.info.request_type),
                )),
                Some(_) if value.is_null() => {}
                Some(field) => self.value(field, field.type_name, value, &shown, out),
            }
        }
        for field in self
            .info
            .fields
            .iter()
            .filter(|f| f.required && self.allowed(f))
        {
            let Some(name) = child_name(field.path, schema_prefix) else {
                continue;
            };
            if map.get(name).is_none_or(Value::is_null) {
                out.push(Problem::new(join(shown_prefix, name), "is required"));
            }
        }
    }

    fn value(
        &self,
        field: &FieldInfo,
        type_name: &str,
        value: &Value,
        shown: &str,
        out: &mut Vec<Problem>,
    ) {
        let wrong_type = |expected: &str| {
            Problem::new(shown, format!("expected {expected}, got {}", kind(value)))
        };
        match type_name {
            "string" => match value.as_str() {
                Some(s) => string(field, s, shown, out),
                None => out.push(wrong_type("a string")),
            },
            "datetime" => match value.as_str() {
                Some(s) => {
                    if let Err(e) = s.parse::<wechatpay_models::DateTime>() {
                        out.push(Problem::new(shown, e.to_string()));
                    }
                }
                None => out.push(wrong_type("an RFC 3339 date-time string")),
            },
            "integer" => {
                if value.as_i64().is_none() {
                    out.push(wrong_type("an integer"));
                }
            }
            "boolean" => {
                if !value.is_boolean() {
                    out.push(wrong_type("true or false"));
                }
            }
            t if t.starts_with("array<") && t.ends_with('>') => {
                let inner = &t["array<".len()..t.len() - 1];
                match value.as_array() {
                    Some(items) => {
                        for (i, item) in items.iter().enumerate() {
                            let shown = format!("{shown}[{i}]");
                            if item.is_null() {
                                out.push(Problem::new(shown, "must not be null"));
                            } else {
                                self.value(field, inner, item, &shown, out);
                            }
                        }
                    }
                    None => out.push(wrong_type("an array")),
                }
            }
            _ if !field.enum_values.is_empty() => match value.as_str() {
                Some(s) if field.enum_values.contains(&s) => string(field, s, shown, out),
                Some(s) => out.push(Problem::new(
                    shown,
                    format!("{s:?} is not one of {}", field.enum_values.join(", ")),
                )),
                None => out.push(wrong_type(&format!(
                    "a string ({})",
                    field.enum_values.join(", ")
                ))),
            },
            type_name => match value.as_object() {
                Some(map) => self.object(map, field.path, shown, out),
                None => out.push(wrong_type(&format!("an object ({type_name})"))),
            },
        }
    }
}

/// Checks one string against the field's length, control-character and charset rules.
fn string(field: &FieldInfo, value: &str, shown: &str, out: &mut Vec<Problem>) {
    if value.is_empty() {
        if field.required {
            out.push(Problem::new(shown, "is required and must not be empty"));
        }
        return;
    }
    let unit = field.length_unit;
    let noun = match unit {
        wechatpay_models::LengthUnit::Chars => "characters",
        wechatpay_models::LengthUnit::Bytes => "bytes",
    };
    let actual = unit.measure(value);
    if let Some(min) = field.min_length.filter(|&m| actual < m) {
        out.push(Problem::new(
            shown,
            format!("must be at least {min} {noun} long, got {actual}"),
        ));
    }
    if let Some(max) = field.max_length.filter(|&m| actual > m) {
        out.push(Problem::new(
            shown,
            format!("must be at most {max} {noun} long, got {actual}"),
        ));
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        out.push(Problem::new(
            shown,
            format!("control character {c:?} is not allowed"),
        ));
    } else if let Some(class) = field.charset {
        let charset = Charset::parse(class);
        if let Some(c) = value.chars().find(|&c| !charset.contains(c)) {
            out.push(Problem::new(
                shown,
                format!("character {c:?} is not allowed (allowed: {class})"),
            ));
        }
    }
}

/// `name` when `path` is `prefix.name` (or `name` at the top level), with no further dots.
fn child_name<'p>(path: &'p str, prefix: &str) -> Option<&'p str> {
    let rest = if prefix.is_empty() {
        path
    } else {
        path.strip_prefix(prefix)?.strip_prefix('.')?
    };
    (!rest.contains('.')).then_some(rest)
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

/// The JSON kind of a value, for "expected X, got Y".
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a number with a fraction",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn info(id: &str) -> &'static EndpointInfo {
        wechatpay_endpoints::find(id).unwrap()
    }

    fn texts(problems: Vec<Problem>) -> Vec<String> {
        problems.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn every_doc_request_example_passes() {
        for info in wechatpay_endpoints::ALL {
            for example in info.request_examples {
                let body: Value = serde_json::from_str(example.body).unwrap();
                assert_eq!(check(info, &body, BodyMode::Wire), [], "{}", example.name);
            }
        }
    }

    #[test]
    fn reports_each_rule_class_with_its_path() {
        let body = json!({
            "product_coupon_id": 5,
            "stock_id": "",
            "appid": "wx1",
            "send_request_no": "ab",
            "coupon_code": "bad code",
            "attach": "x".repeat(151),
            "coupon_tag_info": {"coupon_tag_list": ["MEMBER", "VIP"], "extra": 1},
            "surprise": true
        });
        let problems = texts(check(
            info("send-user-product-coupon"),
            &body,
            BodyMode::Wire,
        ));
        // Object keys are visited in sorted order, then missing required fields.
        assert_eq!(
            problems,
            [
                "attach: must be at most 150 characters long, got 151",
                "coupon_code: character ' ' is not allowed (allowed: 0-9A-Za-z_-)",
                "coupon_tag_info.coupon_tag_list[1]: \"VIP\" is not one of MEMBER",
                "coupon_tag_info.extra: unknown field (not in SendUserProductCouponRequest)",
                "product_coupon_id: expected a string, got a number",
                "send_request_no: must be at least 6 characters long, got 2",
                "stock_id: is required and must not be empty",
                "surprise: unknown field (not in SendUserProductCouponRequest)",
            ]
        );
    }

    #[test]
    fn path_parameters_belong_to_the_cli_form_only() {
        let info = info("send-user-product-coupon");
        let mut body: Value = serde_json::from_str(info.request_examples[1].body).unwrap();
        assert_eq!(check(info, &body, BodyMode::Wire), []);
        assert_eq!(
            texts(check(info, &body, BodyMode::WithPathParams)),
            ["openid: is required"]
        );
        body["openid"] = json!("o1");
        assert_eq!(check(info, &body, BodyMode::WithPathParams), []);
        assert_eq!(
            texts(check(info, &body, BodyMode::Wire)),
            ["openid: unknown field (not in SendUserProductCouponRequest)"]
        );
        assert_eq!(
            texts(check(info, &json!([1]), BodyMode::Wire)),
            ["(body): must be a JSON object, got an array"]
        );
    }
}
