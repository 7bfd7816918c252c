//! A JSON body checked against an operation's schema, for tools that receive
//! JSON rather than typed values (the CLI's `call`, the sandbox).
//!
//! Two passes, each rule in one place: [`check_shape`] walks the [`TypeInfo`]
//! tree for what serde alone would accept silently or report badly (unknown
//! keys, JSON types, missing required fields, date-time syntax); then the body
//! is deserialized into the operation's typed request, whose `validate()`
//! checks every value rule (lengths, charsets, ranges, enum values, conditional
//! rules) with the generated rules the [`FieldInfo`] rows carry too.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::meta::{Endpoint, EndpointInfo, FieldInfo, Location, Ty, TypeInfo};
use crate::validation::{join, Validate, Violation};

/// One problem at one field path.
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

impl From<&Violation> for Problem {
    fn from(v: &Violation) -> Self {
        Problem::new(v.path.clone(), v.message())
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// The path used for a problem with the body as a whole.
pub const WHOLE_BODY: &str = "(body)";

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
        Ty::Integer(_) => {
            if value.as_i64().is_none() {
                out.push(wrong_type("an integer"));
            }
        }
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
/// declares them (`page_size=10` becomes the number 10), ready for [`decode`].
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

/// Checks a body written with its path and query parameters, then deserializes it
/// into the operation's typed request and validates it: every problem, each with its path.
pub fn decode<E: Endpoint>(body: &Value) -> Result<E::Request, Vec<Problem>>
where
    E::Request: serde::de::DeserializeOwned,
{
    let problems = check_shape(E::INFO.request, body, BodyMode::WithParams);
    if !problems.is_empty() {
        return Err(problems);
    }
    let request: E::Request = serde_path_to_error::deserialize(body).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." {
            WHOLE_BODY.to_owned()
        } else {
            path
        };
        vec![Problem::new(path, e.into_inner().to_string())]
    })?;
    request.validate().map_err(|violations| {
        violations
            .as_slice()
            .iter()
            .map(Problem::from)
            .collect::<Vec<_>>()
    })?;
    Ok(request)
}

/// A request ready to sign and send: where it goes and the exact wire body.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub info: &'static EndpointInfo,
    /// The path with path parameters filled in and percent-encoded.
    pub path: String,
    /// The query string without `?`, if any.
    pub query: Option<String>,
    /// The wire body: the typed request serialized (parameters left out); empty
    /// for operations without a body.
    pub body: Vec<u8>,
}

impl Prepared {
    /// Path plus `?query`, as signed.
    pub fn url(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        }
    }
}

/// [`decode`]s a body written with its parameters and renders the request as it is sent.
pub fn prepare<E: Endpoint>(body: &Value) -> Result<Prepared, Vec<Problem>>
where
    E::Request: serde::de::DeserializeOwned,
{
    let request = decode::<E>(body)?;
    let wire = match E::INFO.body {
        crate::BodyKind::None => Vec::new(),
        crate::BodyKind::Json | crate::BodyKind::Multipart => serde_json::to_vec(&request)
            .map_err(|e| vec![Problem::new(WHOLE_BODY, e.to_string())])?,
    };
    Ok(Prepared {
        info: E::INFO,
        path: E::path(&request),
        query: E::query(&request),
        body: wire,
    })
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

/// Parses JSON text like `serde_json::from_str`, but a key repeated in one
/// object is an error naming the key and the object's path.
pub fn parse_strict(text: &str) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = StrictSeed {
        path: String::new(),
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

struct StrictSeed {
    path: String,
}

impl<'de> DeserializeSeed<'de> for StrictSeed {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(StrictVisitor { path: self.path })
    }
}

struct StrictVisitor {
    path: String,
}

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(StrictSeed {
            path: format!("{}[{}]", self.path, out.len()),
        })? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.path.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.path)
            };
            if out.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate key `{path}`")));
            }
            let value = map.next_value_seed(StrictSeed { path })?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_named_with_their_path() {
        let err = parse_strict(r#"{"a":{"b":1,"b":2}}"#).unwrap_err();
        assert!(err.to_string().contains("duplicate key `a.b`"), "{err}");
        let err = parse_strict(r#"{"l":[{"x":1},{"x":1,"x":2}]}"#).unwrap_err();
        assert!(err.to_string().contains("duplicate key `l[1].x`"), "{err}");
        assert_eq!(
            parse_strict(r#"{"a":[1,{"b":null}]}"#).unwrap(),
            serde_json::json!({"a":[1,{"b":null}]})
        );
    }
}
