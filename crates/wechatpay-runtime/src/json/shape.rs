//! The shape of a JSON body against a `TypeInfo` tree: unknown keys, JSON types, missing
//! required fields, date-time syntax; and received parameters merged in by their declared type.

use serde_json::{Map, Value};

use super::{Problem, WHOLE_BODY};
use crate::meta::{FieldInfo, Location, Ty, TypeInfo};
use crate::validation::join;

/// Which fields may appear in the JSON object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyMode {
    /// What a user writes: body fields plus path and query parameters (like the doc's examples).
    WithParams,
    /// What travels in the body: body fields only.
    Wire,
}

/// Checks the shape of `body` against `ty`; an empty result means no problem found.
pub fn check_shape(ty: &TypeInfo, body: &Value, mode: BodyMode) -> Vec<Problem> {
    let mut out = Vec::new();
    match body {
        Value::Object(map) => object(ty, map, "", mode, &mut out),
        other => out.push(Problem::new(
            WHOLE_BODY,
            format!("must be a JSON object, got {}", kind(other)),
        )),
    }
    out
}

fn allowed(field: &FieldInfo, mode: BodyMode) -> bool {
    field.location == Location::Body || mode == BodyMode::WithParams
}

fn object(
    ty: &TypeInfo,
    map: &Map<String, Value>,
    prefix: &str,
    mode: BodyMode,
    out: &mut Vec<Problem>,
) {
    for (key, value) in map {
        let shown = join(prefix, key);
        match ty.field(key).filter(|f| allowed(f, mode)) {
            None => out.push(Problem::new(
                shown,
                format!("unknown field (not in {})", ty.name),
            )),
            Some(_) if value.is_null() => {}
            // Nested objects are checked in body mode: only the top level has parameters.
            Some(field) => self::value(&field.ty, value, &shown, out),
        }
    }
    for field in ty.fields.iter().filter(|f| f.required && allowed(f, mode)) {
        if map.get(field.name).is_none_or(Value::is_null) {
            out.push(Problem::new(join(prefix, field.name), "is required"));
        }
    }
}

fn value(ty: &Ty, value: &Value, shown: &str, out: &mut Vec<Problem>) {
    let wrong_type =
        |expected: &str| Problem::new(shown, format!("expected {expected}, got {}", kind(value)));
    match ty {
        Ty::String(_) => {
            if !value.is_string() {
                out.push(wrong_type("a string"));
            }
        }
        Ty::Enum { values, .. } => {
            if !value.is_string() {
                out.push(wrong_type(&format!("a string ({})", values.join(", "))));
            }
        }
        Ty::DateTime => match value.as_str() {
            Some(s) => {
                if let Err(e) = s.parse::<crate::DateTime>() {
                    out.push(Problem::new(shown, e.to_string()));
                }
            }
            None => out.push(wrong_type("an RFC 3339 date-time string")),
        },
        Ty::Integer(_) => match value {
            Value::Number(n) if n.as_i64().is_some() => {}
            Value::Number(n) => out.push(Problem::new(shown, integer_problem(n))),
            _ => out.push(wrong_type("an integer")),
        },
        Ty::Boolean => {
            if !value.is_boolean() {
                out.push(wrong_type("true or false"));
            }
        }
        Ty::Array { item, .. } => match value.as_array() {
            Some(items) => {
                for (i, element) in items.iter().enumerate() {
                    let shown = format!("{shown}[{i}]");
                    if element.is_null() {
                        out.push(Problem::new(shown, "must not be null"));
                    } else {
                        self::value(item, element, &shown, out);
                    }
                }
            }
            None => out.push(wrong_type("an array")),
        },
        Ty::Object(info) => match value.as_object() {
            Some(map) => object(info, map, shown, BodyMode::Wire, out),
            None => out.push(wrong_type(&format!("an object ({})", info.name))),
        },
    }
}

/// Puts received path and query parameters into a wire body, typed as the request
/// declares them (`page_size=10` becomes the number 10), ready for [`decode_request`](super::decode_request).
pub fn merge_params(
    ty: &TypeInfo,
    body: &mut Value,
    params: &[(String, String)],
) -> Result<(), Vec<Problem>> {
    let Value::Object(map) = body else {
        return Err(vec![Problem::new(WHOLE_BODY, "must be a JSON object")]);
    };
    let mut problems = Vec::new();
    for (name, text) in params {
        let Some(field) = ty.field(name).filter(|f| f.location != Location::Body) else {
            problems.push(Problem::new(
                name.clone(),
                format!("unknown parameter (not in {})", ty.name),
            ));
            continue;
        };
        if map.contains_key(name) {
            problems.push(Problem::new(name.clone(), "given twice"));
            continue;
        }
        let value = match field.ty {
            Ty::Integer(_) => match text.parse::<i64>() {
                Ok(n) => Value::from(n),
                Err(_) => {
                    problems.push(Problem::new(
                        name.clone(),
                        format!("expected an integer, got {text:?}"),
                    ));
                    continue;
                }
            },
            Ty::Boolean => match text.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => {
                    problems.push(Problem::new(
                        name.clone(),
                        format!("expected true or false, got {text:?}"),
                    ));
                    continue;
                }
            },
            _ => Value::String(text.clone()),
        };
        map.insert(name.clone(), value);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Why a JSON number is not an integer this API takes (64-bit signed, written plainly).
fn integer_problem(n: &serde_json::Number) -> String {
    const RANGE: &str =
        "integers here are 64-bit signed, from -9223372036854775808 to 9223372036854775807";
    match n.as_f64() {
        _ if n.is_u64() => format!("{n} is out of range: {RANGE}"),
        Some(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => format!(
            "write the integer without a decimal point or exponent: {}, not {n}",
            f as i64
        ),
        Some(f) if f.fract() == 0.0 => format!("{n} is out of range: {RANGE}"),
        _ => format!("expected an integer, got {n}, which has a fraction"),
    }
}

/// The JSON kind of a value, for "expected X, got Y".
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a decimal number",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
