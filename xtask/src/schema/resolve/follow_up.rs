//! `follow_up:` of endpoints and events: the operation a result needs before it is
//! usable, every name checked against the operations and types it refers to. Runs
//! after every endpoint is resolved, since a follow-up names other operations.

use std::collections::BTreeMap;

use super::types::provenance_string;
use super::Checker;
use crate::schema::model::*;
use crate::schema::raw;

/// What a follow-up's values may come from.
pub enum Origin<'a> {
    /// An endpoint's: its request, and its response (or each item of `items`).
    Endpoint {
        request: &'a ObjectType,
        response: &'a ObjectType,
    },
    /// An event's: its decrypted payload.
    Event { payload: &'a ObjectType },
}

fn object<'a>(types: &'a BTreeMap<String, TypeDef>, name: &str) -> Option<&'a ObjectType> {
    match types.get(name) {
        Some(TypeDef::Object(o)) => Some(o),
        _ => None,
    }
}

fn field<'a>(obj: &'a ObjectType, name: &str) -> Option<&'a Field> {
    obj.fields.iter().find(|f| f.name == name)
}

/// The field at a dotted path (`stock.stock_id`) through nested objects.
fn field_at<'a>(
    types: &'a BTreeMap<String, TypeDef>,
    obj: &'a ObjectType,
    path: &str,
) -> Option<&'a Field> {
    let (head, rest) = match path.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (path, None),
    };
    let f = field(obj, head)?;
    match (rest, &f.ty) {
        (None, _) => Some(f),
        (Some(rest), FieldType::Object(inner)) => field_at(types, object(types, inner)?, rest),
        (Some(_), _) => None,
    }
}

pub fn follow_up(
    ck: &mut Checker,
    file: &str,
    at: &str,
    raw: &raw::FollowUp,
    origin: Origin<'_>,
    endpoints: &[Endpoint],
    types: &BTreeMap<String, TypeDef>,
) -> Option<FollowUp> {
    let before = ck.errors.len();
    let find = |id: &str| endpoints.iter().find(|e| e.id == id);
    let Some(target) = find(&raw.operation) else {
        ck.fail(
            file,
            format!("{at}.operation"),
            format!("no operation {:?}", raw.operation),
        );
        return None;
    };
    let Some(status) = find(&raw.status) else {
        ck.fail(
            file,
            format!("{at}.status"),
            format!("no operation {:?}", raw.status),
        );
        return None;
    };
    let target_request = object(types, &target.request)?;
    let status_request = object(types, &status.request)?;
    let status_response = object(types, &status.response)?;
    if target.request_number.is_none() {
        ck.fail(
            file,
            format!("{at}.operation"),
            format!(
                "{} has no request_number: a follow-up must be safe to resend",
                raw.operation
            ),
        );
    }

    // The result: the response, or one item of its `items` array.
    let result = match (&origin, &raw.items) {
        (Origin::Endpoint { response, .. }, None) => Some(*response),
        (Origin::Endpoint { response, .. }, Some(items)) => {
            match field(response, items).map(|f| &f.ty) {
                Some(FieldType::Array(inner)) => match inner.as_ref() {
                    FieldType::Object(name) => object(types, name),
                    _ => None,
                },
                _ => None,
            }
            .or_else(|| {
                ck.fail(
                    file,
                    format!("{at}.items"),
                    format!("{items} is not an array of objects in {}", response.name),
                );
                None
            })
        }
        (Origin::Event { .. }, Some(_)) => {
            ck.fail(
                file,
                format!("{at}.items"),
                "an event's payload is one result; items is for endpoints",
            );
            None
        }
        (Origin::Event { .. }, None) => None,
    };

    let while_field = field(status_response, &raw.while_.field);
    match while_field {
        None => ck.fail(
            file,
            format!("{at}.while.field"),
            format!(
                "{} is not a field of {} (the status answer)",
                raw.while_.field, status_response.name
            ),
        ),
        Some(f) => {
            if let FieldType::Enum(name) = &f.ty {
                if let Some(TypeDef::Enum(e)) = types.get(name) {
                    if e.values.iter().all(|v| v.value != raw.while_.equals) {
                        ck.fail(
                            file,
                            format!("{at}.while.equals"),
                            format!("{} is not a value of {name}", raw.while_.equals),
                        );
                    }
                }
            }
        }
    }
    if let Some(result) = result {
        if field(result, &raw.while_.field).is_none() {
            ck.fail(
                file,
                format!("{at}.while.field"),
                format!("{} is not a field of {}", raw.while_.field, result.name),
            );
        }
    }
    if field(status_response, &raw.done_field).is_none() {
        ck.fail(
            file,
            format!("{at}.done_field"),
            format!(
                "{} is not a field of {}",
                raw.done_field, status_response.name
            ),
        );
    }

    let mut fields = Vec::new();
    for (name, from) in &raw.fields {
        let here = format!("{at}.fields.{name}");
        if field(target_request, name).is_none() {
            ck.fail(
                file,
                &here,
                format!("{name} is not a field of {}", target_request.name),
            );
        }
        let Some((kind, source)) = from.split_once('.') else {
            ck.fail(
                file,
                &here,
                format!("{from:?} is not request.x, result.x, payload.x or setting.x"),
            );
            continue;
        };
        let (within, value) = match (kind, &origin) {
            ("request", Origin::Endpoint { request, .. }) => {
                (Some(*request), ValueFrom::Request(source.to_owned()))
            }
            ("result", Origin::Endpoint { .. }) => (result, ValueFrom::Result(source.to_owned())),
            ("payload", Origin::Event { payload }) => {
                (Some(*payload), ValueFrom::Payload(source.to_owned()))
            }
            ("setting", _) => (None, ValueFrom::Setting(source.to_owned())),
            _ => {
                let allowed = match origin {
                    Origin::Endpoint { .. } => "request.x, result.x or setting.x",
                    Origin::Event { .. } => "payload.x or setting.x",
                };
                ck.fail(file, &here, format!("{from:?}: here a value is {allowed}"));
                continue;
            }
        };
        if let Some(obj) = within {
            if field_at(types, obj, source).is_none() {
                ck.fail(
                    file,
                    &here,
                    format!("{source} is not a field of {}", obj.name),
                );
            }
        }
        fields.push((name.clone(), value));
    }
    for (request, role) in [(target_request, "operation"), (status_request, "status")] {
        for f in request.fields.iter().filter(|f| f.required) {
            if fields.iter().all(|(name, _)| *name != f.name) {
                let number = (role == "operation")
                    .then_some(target.request_number.as_ref())
                    .flatten()
                    .is_some_and(|rn| rn.field == f.name);
                if !number {
                    ck.fail(
                        file,
                        format!("{at}.fields"),
                        format!(
                            "{} (required by {}, the {role}) has no value",
                            f.name, request.name
                        ),
                    );
                }
            }
        }
    }
    if raw.number_from.is_empty() {
        ck.fail(
            file,
            format!("{at}.number_from"),
            "name the fields the request number is derived from",
        );
    }
    for (i, name) in raw.number_from.iter().enumerate() {
        if fields.iter().all(|(f, _)| f != name) {
            ck.fail(
                file,
                format!("{at}.number_from[{i}]"),
                format!("{name} is not one of the follow-up's fields"),
            );
        }
    }
    let source = raw
        .source
        .as_deref()
        .map(|s| provenance_string(ck, file, &format!("{at}.source"), s));
    if ck.errors.len() != before {
        return None;
    }
    Some(FollowUp {
        operation: raw.operation.clone(),
        items: raw.items.clone(),
        while_field: raw.while_.field.clone(),
        while_equals: raw.while_.equals.clone(),
        status: raw.status.clone(),
        done_field: raw.done_field.clone(),
        fields,
        number_from: raw.number_from.clone(),
        source,
    })
}
