//! Endpoints: method, path template, request and response, request number,
//! pagination, error table (with the common rows), examples.

use std::collections::BTreeMap;

use super::names;
use super::types::provenance_string;
use super::Checker;
use crate::schema::load::LoadedEndpoint;
use crate::schema::model::*;
use crate::schema::raw;

pub fn endpoint(
    ck: &mut Checker,
    ep: &LoadedEndpoint,
    types: &BTreeMap<String, TypeDef>,
    common: &[ErrorRow],
) -> Option<Endpoint> {
    let file = &ep.file;
    let raw = &ep.content.endpoint;
    let source = &ep.content.source;
    let before = ck.errors.len();
    if !names::is_type_name(&raw.name) {
        ck.fail(
            file,
            "endpoint.name",
            format!(
                "{:?} must be UpperCamelCase, e.g. SendProductCoupon",
                raw.name
            ),
        );
    }
    let method = match raw.method.as_str() {
        "GET" => Method::Get,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "PATCH" => Method::Patch,
        "DELETE" => Method::Delete,
        other => {
            ck.fail(
                file,
                "endpoint.method",
                format!("{other:?} is not GET, POST, PUT, PATCH or DELETE"),
            );
            Method::Post
        }
    };
    let auth = match raw.auth.as_str() {
        "merchant" => Auth::Merchant,
        "brand" => Auth::Brand,
        "partner" => Auth::Partner,
        other => {
            ck.fail(
                file,
                "endpoint.auth",
                format!("{other:?} is not merchant, brand or partner"),
            );
            Auth::Merchant
        }
    };
    let body = match (raw.body.as_deref(), method) {
        (None, Method::Get) | (Some("none"), _) => BodyKind::None,
        (None, _) | (Some("json"), _) => BodyKind::Json,
        (Some("multipart"), _) => BodyKind::Multipart,
        (Some(other), _) => {
            ck.fail(
                file,
                "endpoint.body",
                format!("{other:?} is not json, none or multipart"),
            );
            BodyKind::Json
        }
    };
    if method == Method::Get && body != BodyKind::None {
        ck.fail(file, "endpoint.body", "a GET request has no body");
    }
    if !raw.path.starts_with('/') {
        ck.fail(file, "endpoint.path", "the path must start with /");
    }
    let placeholders = match path_placeholders(&raw.path) {
        Ok(p) => p,
        Err(reason) => {
            ck.fail(file, "endpoint.path", reason);
            Vec::new()
        }
    };
    for (key, type_name) in [("request", &raw.request), ("response", &raw.response)] {
        match types.get(type_name) {
            Some(TypeDef::Object(_)) => {}
            Some(TypeDef::Enum(_)) => ck.fail(
                file,
                format!("endpoint.{key}"),
                format!("{type_name} is an enum; {key} must be an object type"),
            ),
            None => ck.fail(
                file,
                format!("endpoint.{key}"),
                format!("unknown type {type_name:?}"),
            ),
        }
    }
    let request = match types.get(&raw.request) {
        Some(TypeDef::Object(request)) => Some(request),
        _ => None,
    };
    let response = match types.get(&raw.response) {
        Some(TypeDef::Object(response)) => Some(response),
        _ => None,
    };
    if let Some(request) = request {
        check_request_fields(ck, file, raw, request, &placeholders, body);
    }
    let brand_field = raw.brand_field.as_ref().and_then(|name| {
        let request = request?;
        if auth != Auth::Partner {
            ck.fail(
                file,
                "endpoint.brand_field",
                "only a partner operation acts for a brand named in the request",
            );
        }
        let fits = request.fields.iter().any(|f| {
            &f.name == name
                && f.required
                && f.ty == FieldType::String
                && matches!(f.location, Location::Body | Location::Query)
        });
        if !fits {
            ck.fail(
                file,
                "endpoint.brand_field",
                format!(
                    "{name} is not a required string body or query field of {}",
                    request.name
                ),
            );
        }
        Some(name.clone())
    });
    let request_number = raw.request_number.as_ref().and_then(|rn| {
        let request = request?;
        let top_string = |name: &str| {
            request.fields.iter().any(|f| {
                f.name == name && f.location == Location::Body && f.ty == FieldType::String
            })
        };
        if !top_string(&rn.field) {
            ck.fail(
                file,
                "endpoint.request_number.field",
                format!(
                    "{} is not a string body field of {}",
                    rn.field, request.name
                ),
            );
        }
        for (i, scope) in rn.unique_within.iter().enumerate() {
            if request.fields.iter().all(|f| &f.name != scope) {
                ck.fail(
                    file,
                    format!("endpoint.request_number.unique_within[{i}]"),
                    format!("{scope} is not a field of {}", request.name),
                );
            }
        }
        Some(RequestNumber {
            field: rn.field.clone(),
            unique_within: rn.unique_within.clone(),
        })
    });
    let pagination = raw
        .pagination
        .as_ref()
        .and_then(|p| pagination(ck, file, p, request?, response?));
    let rate_per_second = raw.rate_limit.as_deref().and_then(per_second);
    let rate_limit_source = raw
        .rate_limit_source
        .as_deref()
        .map(|s| provenance_string(ck, file, "endpoint.rate_limit_source", s));
    for (i, h) in raw.headers.iter().enumerate() {
        if h.name.is_empty()
            || !h
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            ck.fail(
                file,
                format!("endpoint.headers[{i}].name"),
                format!("{:?} is not a header name", h.name),
            );
        }
    }
    for (i, row) in raw.errors.iter().enumerate() {
        super::check_error_row(ck, file, &format!("endpoint.errors[{i}]"), row);
        if row.key.is_some() {
            ck.fail(
                file,
                format!("endpoint.errors[{i}].key"),
                "only the shared rows of api.yaml get constants and keys; a page row is named by its code",
            );
        }
    }
    let request_examples = examples(
        ck,
        file,
        "requests",
        &raw.examples.requests,
        &placeholders,
        request,
    );
    let response_examples = examples(ck, file, "responses", &raw.examples.responses, &[], None);
    if ck.errors.len() != before {
        return None;
    }
    let errors = error_table(ck, file, &raw.errors, common)?;
    let path_params = placeholders
        .iter()
        .map(|p| (p.clone(), names::field_ident(p)))
        .collect();
    Some(Endpoint {
        name: raw.name.clone(),
        id: names::operation_id(&raw.name),
        module: names::module(&raw.name),
        caller: names::caller_module(auth).to_owned(),
        error_enum: names::error_enum(&raw.name),
        file: file.clone(),
        source: source.clone(),
        method,
        path: raw.path.clone(),
        path_params,
        auth,
        brand_field,
        twin_of: raw.twin_of.clone(),
        body,
        rate_limit: raw.rate_limit.clone(),
        rate_limit_source,
        rate_per_second,
        request_number,
        pagination,
        // Filled by `follow_up` once every operation is known.
        follow_up: None,
        headers: raw
            .headers
            .iter()
            .map(|h| Header {
                name: h.name.clone(),
                required: h.required,
                description: h.description.trim().to_owned(),
            })
            .collect(),
        request: raw.request.clone(),
        response: raw.response.clone(),
        errors,
        request_examples,
        response_examples,
    })
}

fn check_request_fields(
    ck: &mut Checker,
    file: &str,
    raw: &raw::Endpoint,
    request: &ObjectType,
    placeholders: &[String],
    body: BodyKind,
) {
    for p in placeholders {
        if !request
            .fields
            .iter()
            .any(|f| &f.name == p && f.location == Location::Path)
        {
            ck.fail(
                file,
                "endpoint.path",
                format!(
                    "path parameter {{{p}}} is not a path field of {}",
                    request.name
                ),
            );
        }
    }
    for (i, f) in request.fields.iter().enumerate() {
        let at = format!("types.{}.fields[{i}].in", request.name);
        if f.location == Location::Path && !placeholders.contains(&f.name) {
            ck.fail(
                &request.file,
                at,
                format!(
                    "path parameter {} is missing from the path template {}",
                    f.name, raw.path
                ),
            );
        } else if f.location == Location::Body && body == BodyKind::None {
            ck.fail(
                &request.file,
                at,
                format!(
                    "{} has no body: {} must be a path or query field",
                    raw.name, f.name
                ),
            );
        }
    }
}

fn pagination(
    ck: &mut Checker,
    file: &str,
    p: &raw::Pagination,
    request: &ObjectType,
    response: &ObjectType,
) -> Option<Pagination> {
    let before = ck.errors.len();
    let find = |fields: &[Field], name: &str| fields.iter().find(|f| f.name == name).cloned();
    match find(&request.fields, &p.page_size) {
        Some(f) if f.location == Location::Query && f.ty == FieldType::Integer => {}
        _ => ck.fail(
            file,
            "endpoint.pagination.page_size",
            format!(
                "{} is not an integer query field of {}",
                p.page_size, request.name
            ),
        ),
    }
    match find(&request.fields, &p.page_token) {
        Some(f) if f.location == Location::Query && f.ty == FieldType::String && !f.required => {}
        _ => ck.fail(
            file,
            "endpoint.pagination.page_token",
            format!(
                "{} is not an optional string query field of {}",
                p.page_token, request.name
            ),
        ),
    }
    match find(&response.fields, &p.next_page_token) {
        Some(f) if f.ty == FieldType::String => {}
        _ => ck.fail(
            file,
            "endpoint.pagination.next_page_token",
            format!(
                "{} is not a string field of {}",
                p.next_page_token, response.name
            ),
        ),
    }
    let item_type = match find(&response.fields, &p.items).map(|f| f.ty) {
        Some(FieldType::Array(inner)) => match *inner {
            FieldType::Object(name) | FieldType::Enum(name) => Some(name),
            _ => None,
        },
        _ => None,
    };
    let Some(item_type) = item_type else {
        ck.fail(
            file,
            "endpoint.pagination.items",
            format!(
                "{} is not an array of objects in {}",
                p.items, response.name
            ),
        );
        return None;
    };
    (ck.errors.len() == before).then(|| Pagination {
        page_size: p.page_size.clone(),
        page_token: p.page_token.clone(),
        next_page_token: p.next_page_token.clone(),
        items: p.items.clone(),
        item_type,
    })
}

/// `500/s`, `20/秒(品牌ID维度)` → the number; other wordings have none.
fn per_second(limit: &str) -> Option<u32> {
    let (number, rest) = limit.split_once('/')?;
    let unit = rest.trim_start();
    (unit.starts_with('s') || unit.starts_with('秒'))
        .then(|| number.trim().parse().ok())
        .flatten()
}

fn examples(
    ck: &mut Checker,
    file: &str,
    list: &str,
    items: &[raw::Example],
    placeholders: &[String],
    request: Option<&ObjectType>,
) -> Vec<Example> {
    let mut out = Vec::new();
    for (i, ex) in items.iter().enumerate() {
        let at = format!("endpoint.examples.{list}[{i}]");
        let body = ex.body.clone().unwrap_or_default();
        if ex.body.is_some() {
            if let Err(e) = serde_json::from_str::<serde_json::Value>(&body) {
                ck.fail(file, format!("{at}.body"), format!("not valid JSON: {e}"));
            }
        } else if list == "responses" {
            ck.fail(
                file,
                format!("{at}.body"),
                "a response example needs its body",
            );
        }
        for (key, _) in &ex.path {
            if !placeholders.contains(key) {
                ck.fail(
                    file,
                    format!("{at}.path.{key}"),
                    format!("{key} is not a path parameter"),
                );
            }
        }
        for (key, _) in &ex.query {
            let is_query = request.is_some_and(|r| {
                r.fields
                    .iter()
                    .any(|f| &f.name == key && f.location == Location::Query)
            });
            if !is_query {
                ck.fail(
                    file,
                    format!("{at}.query.{key}"),
                    format!("{key} is not a query parameter of the request"),
                );
            }
        }
        out.push(Example {
            name: ex.name.clone(),
            status: ex.status,
            path: ex.path.clone(),
            query: ex.query.clone(),
            body,
            source: ex
                .source
                .as_deref()
                .map(|s| provenance_string(ck, file, &format!("{at}.source"), s)),
        });
    }
    out
}

/// The page's rows, then each common row the page does not repeat word for word
/// (a page row that reuses a common code with another meaning keeps both); each
/// distinct code gets one variant.
fn error_table(
    ck: &mut Checker,
    file: &str,
    page: &[raw::ErrorRow],
    common: &[ErrorRow],
) -> Option<Vec<ErrorRow>> {
    // A page row identical to a common row is that row (its one constant).
    let mut rows: Vec<ErrorRow> = page
        .iter()
        .map(|row| {
            let row = super::error_row(row, None);
            let constant = common
                .iter()
                .find(|c| {
                    c.status == row.status
                        && c.code == row.code
                        && c.description == row.description
                        && c.solution == row.solution
                        && c.scope == row.scope
                        && c.source == row.source
                })
                .and_then(|c| c.common.clone());
            ErrorRow {
                common: constant,
                ..row
            }
        })
        .collect();
    for row in common {
        if !rows.iter().any(|r| {
            r.code == row.code && r.status == row.status && r.description == row.description
        }) {
            rows.push(row.clone());
        }
    }
    let before = ck.errors.len();
    let mut variants: BTreeMap<String, String> = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        let at = if i < page.len() {
            format!("endpoint.errors[{i}].code")
        } else {
            "endpoint.errors".to_owned()
        };
        if row.variant == "Unknown" {
            ck.fail(
                file,
                at,
                format!(
                    "{} clashes with the generated fallback variant Unknown",
                    row.code
                ),
            );
        } else if let Some(other) = variants.insert(row.variant.clone(), row.code.clone()) {
            if other != row.code {
                ck.fail(
                    file,
                    at,
                    format!(
                        "{} and {other} would both become the variant {}",
                        row.code, row.variant
                    ),
                );
            }
        }
    }
    (ck.errors.len() == before).then_some(rows)
}

/// The `{name}` placeholders of a path template, in order.
pub fn path_placeholders(path: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for segment in path.split('/') {
        if !segment.contains(['{', '}']) {
            continue;
        }
        let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
            return Err(format!(
                "{segment:?}: a placeholder must be a whole segment, as in /users/{{openid}}/coupons"
            ));
        };
        if !names::is_wire_name(name) {
            return Err(format!("{{{name}}} is not a snake_case parameter name"));
        }
        if out.iter().any(|n| n == name) {
            return Err(format!("{{{name}}} appears twice in {path}"));
        }
        out.push(name.to_owned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_per_second_are_read_from_the_page_wording() {
        assert_eq!(per_second("500/s"), Some(500));
        assert_eq!(per_second("500/秒(品牌ID维度)"), Some(500));
        assert_eq!(per_second("20/s"), Some(20));
        assert_eq!(per_second("1000/min"), None);
        assert_eq!(per_second("unknown"), None);
    }

    #[test]
    fn placeholders_are_whole_segments() {
        assert_eq!(
            path_placeholders("/a/{x}/b/{y_2}").unwrap(),
            ["x".to_owned(), "y_2".to_owned()]
        );
        assert!(path_placeholders("/a/x{y}").is_err());
        assert!(path_placeholders("/a/{x}/{x}").is_err());
        assert!(path_placeholders("/a/{X}").is_err());
    }
}
