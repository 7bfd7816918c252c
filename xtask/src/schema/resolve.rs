//! Turns the parsed files into the schema model, checking every rule the
//! README lists. All problems are collected so one run shows them all.

use std::collections::{BTreeMap, BTreeSet};

use heck::{ToKebabCase, ToSnakeCase, ToUpperCamelCase};

use super::charset;
use super::error::SchemaError;
use super::load::Loaded;
use super::model::*;
use super::raw;

struct Checker {
    errors: Vec<SchemaError>,
}

impl Checker {
    fn fail(&mut self, file: &str, path: impl Into<String>, reason: impl Into<String>) {
        self.errors.push(SchemaError {
            file: file.to_owned(),
            path: path.into(),
            reason: reason.into(),
        });
    }
}

/// What a type name stands for, before fields are resolved.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Object,
    Enum,
}

pub fn resolve(loaded: Loaded) -> Result<Schema, Vec<SchemaError>> {
    let mut ck = Checker { errors: Vec::new() };
    check_api(&mut ck, &loaded);

    // Pass 1: every type name, defined once across all files.
    let mut kinds: BTreeMap<String, (Kind, String)> = BTreeMap::new();
    let mut modules: BTreeMap<String, String> = BTreeMap::new();
    for ep in &loaded.endpoints {
        for (name, def) in &ep.content.types {
            let kind = match def.kind.as_str() {
                "object" => Kind::Object,
                "enum" => Kind::Enum,
                other => {
                    ck.fail(
                        &ep.file,
                        format!("types.{name}.kind"),
                        format!("{other:?} is not object or enum"),
                    );
                    continue;
                }
            };
            if !is_type_name(name) {
                ck.fail(
                    &ep.file,
                    format!("types.{name}"),
                    "type names are UpperCamelCase, e.g. UserProductCouponEntity",
                );
            }
            // Each type becomes a module named after it: two names must not share one.
            let module = name.to_snake_case();
            if crate::emit::is_keyword(&module) || name == "Self" {
                ck.fail(
                    &ep.file,
                    format!("types.{name}"),
                    format!("{name} would become the module `{module}`, a Rust keyword"),
                );
            } else if let Some(other) = modules.insert(module.clone(), name.clone()) {
                if &other != name {
                    ck.fail(
                        &ep.file,
                        format!("types.{name}"),
                        format!("{name} and {other} would both become the module `{module}`"),
                    );
                }
            }
            if let Some((_, first)) = kinds.get(name) {
                ck.fail(
                    &ep.file,
                    format!("types.{name}"),
                    format!("type {name} is already defined in {first}"),
                );
            } else {
                kinds.insert(name.clone(), (kind, ep.file.clone()));
            }
        }
    }

    // Pass 2: resolve each type's body.
    let mut types = BTreeMap::new();
    for ep in &loaded.endpoints {
        for (name, def) in &ep.content.types {
            if kinds.get(name).is_some_and(|(_, file)| file != &ep.file) {
                continue; // the duplicate was reported above
            }
            let at = format!("types.{name}");
            let resolved = match kinds.get(name).map(|(kind, _)| *kind) {
                Some(Kind::Object) => {
                    if def.values.is_some() {
                        ck.fail(
                            &ep.file,
                            format!("{at}.values"),
                            "an object type has fields, not values",
                        );
                    }
                    let Some(fields) = &def.fields else {
                        ck.fail(
                            &ep.file,
                            format!("{at}.fields"),
                            "an object type needs fields (use [] for none)",
                        );
                        continue;
                    };
                    let rules = def.rules.as_deref().unwrap_or_default();
                    TypeDef::Object(resolve_object(
                        &mut ck,
                        &ep.file,
                        &at,
                        name,
                        &def.description,
                        fields,
                        rules,
                        &kinds,
                    ))
                }
                Some(Kind::Enum) => {
                    if def.fields.is_some() || def.rules.is_some() {
                        ck.fail(
                            &ep.file,
                            format!("{at}.fields"),
                            "an enum type has values, not fields or rules",
                        );
                    }
                    let values = def.values.as_deref().unwrap_or_default();
                    TypeDef::Enum(resolve_enum(
                        &mut ck,
                        &ep.file,
                        &at,
                        name,
                        &def.description,
                        values,
                    ))
                }
                None => continue,
            };
            types.insert(name.clone(), resolved);
        }
    }

    // Pass 3: endpoints.
    let mut endpoints = Vec::new();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for ep in &loaded.endpoints {
        if let Some(endpoint) = resolve_endpoint(&mut ck, ep, &types, &loaded.api.common_errors) {
            if let Some(first) = names.get(&endpoint.name) {
                ck.fail(
                    &ep.file,
                    "endpoint.name",
                    format!("operation {} is already defined in {first}", endpoint.name),
                );
            } else {
                names.insert(endpoint.name.clone(), ep.file.clone());
            }
            endpoints.push(endpoint);
        }
    }

    check_cycles(&mut ck, &types);
    mark_request_types(&mut types, &endpoints);
    check_path_fields_only_in_requests(&mut ck, &types, &endpoints);

    if ck.errors.is_empty() {
        Ok(Schema {
            hosts: loaded.api.hosts.clone(),
            common_errors: loaded.api.common_errors.clone(),
            endpoints,
            types,
        })
    } else {
        Err(ck.errors)
    }
}

fn check_api(ck: &mut Checker, loaded: &Loaded) {
    let file = &loaded.api_file;
    for (key, url) in [
        ("main", &loaded.api.hosts.main),
        ("backup", &loaded.api.hosts.backup),
    ] {
        if !url.starts_with("https://") || url.ends_with('/') {
            ck.fail(
                file,
                format!("hosts.{key}"),
                format!("{url:?} must be an https:// URL without a trailing slash"),
            );
        }
    }
    for (i, row) in loaded.api.common_errors.iter().enumerate() {
        check_error_row(ck, file, &format!("common_errors[{i}]"), row);
    }
}

fn check_error_row(ck: &mut Checker, file: &str, at: &str, row: &raw::ErrorRow) {
    if !(100..=599).contains(&row.status) {
        ck.fail(
            file,
            format!("{at}.status"),
            format!("{} is not an HTTP status", row.status),
        );
    }
    if !row.code.starts_with(|c: char| c.is_ascii_uppercase())
        || !row
            .code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    {
        ck.fail(
            file,
            format!("{at}.code"),
            format!(
                "{:?} is not an error code (A-Z, 0-9, _, starting with a letter)",
                row.code
            ),
        );
    } else if row.code == "UNKNOWN" {
        ck.fail(
            file,
            format!("{at}.code"),
            "UNKNOWN clashes with the generated fallback variant Unknown",
        );
    }
    if row.description.trim().is_empty() {
        ck.fail(
            file,
            format!("{at}.description"),
            "an error row needs its description",
        );
    }
}

fn is_type_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && name.chars().all(|c| c.is_ascii_alphanumeric())
}

/// A snake_case wire name that can also be a Rust field (`self`, `super`,
/// `crate` and `_` cannot be, even as raw identifiers).
fn is_wire_name(name: &str) -> bool {
    !matches!(name, "self" | "super" | "crate" | "_")
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn parse_type(text: &str, kinds: &BTreeMap<String, (Kind, String)>) -> Result<FieldType, String> {
    if let Some(inner) = text
        .strip_prefix("array<")
        .and_then(|t| t.strip_suffix('>'))
    {
        return Ok(FieldType::Array(Box::new(parse_type(inner.trim(), kinds)?)));
    }
    match text {
        "string" => Ok(FieldType::String),
        "integer" => Ok(FieldType::Integer),
        "boolean" => Ok(FieldType::Boolean),
        "datetime" => Ok(FieldType::DateTime),
        name => match kinds.get(name) {
            Some((Kind::Object, _)) => Ok(FieldType::Object(name.to_owned())),
            Some((Kind::Enum, _)) => Ok(FieldType::Enum(name.to_owned())),
            None => Err(format!(
                "unknown type {name:?}: not string, integer, boolean, datetime, array<…> or a type defined in the schema"
            )),
        },
    }
}

#[allow(clippy::too_many_arguments)]
fn resolve_object(
    ck: &mut Checker,
    file: &str,
    at: &str,
    name: &str,
    description: &str,
    raw_fields: &[raw::Field],
    rules: &[raw::RuleDef],
    kinds: &BTreeMap<String, (Kind, String)>,
) -> ObjectType {
    let mut fields: Vec<Field> = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, f) in raw_fields.iter().enumerate() {
        let fat = format!("{at}.fields[{i}]");
        if !is_wire_name(&f.name) {
            ck.fail(
                file,
                format!("{fat}.name"),
                format!("{:?} is not a snake_case wire name", f.name),
            );
        }
        if matches!(f.name.as_str(), "new" | "validate") {
            ck.fail(
                file,
                format!("{fat}.name"),
                format!(
                    "a field named {} would collide with the generated `{}` method",
                    f.name, f.name
                ),
            );
        }
        if !seen.insert(f.name.clone()) {
            ck.fail(
                file,
                format!("{fat}.name"),
                format!("duplicate field {:?} in {name}", f.name),
            );
            continue;
        }
        let ty = match parse_type(f.ty.trim(), kinds) {
            Ok(ty) => ty,
            Err(reason) => {
                ck.fail(file, format!("{fat}.type"), reason);
                FieldType::String
            }
        };
        let location = match f.location.as_deref() {
            None | Some("body") => Location::Body,
            Some("path") => Location::Path,
            Some("query") => Location::Query,
            Some(other) => {
                ck.fail(
                    file,
                    format!("{fat}.in"),
                    format!("{other:?} is not body, path or query"),
                );
                Location::Body
            }
        };
        if location == Location::Path && (ty != FieldType::String || !f.required) {
            ck.fail(
                file,
                format!("{fat}.in"),
                "a path parameter must be a required string",
            );
        }
        let mut element = &ty;
        while let FieldType::Array(inner) = element {
            element = inner;
        }
        // On an array of strings, the limits apply to each element.
        let stringish = matches!(element, FieldType::String | FieldType::Enum(_));
        for (key, value) in [("min_length", f.min_length), ("max_length", f.max_length)] {
            if value.is_some() && !stringish {
                ck.fail(
                    file,
                    format!("{fat}.{key}"),
                    format!("{key} applies to strings, not {}", ty.schema_name()),
                );
            }
        }
        if let (Some(min), Some(max)) = (f.min_length, f.max_length) {
            if max < min {
                ck.fail(
                    file,
                    format!("{fat}.max_length"),
                    format!("max_length {max} is below min_length {min}"),
                );
            }
        }
        if f.max_length == Some(0) {
            ck.fail(
                file,
                format!("{fat}.max_length"),
                "max_length 0 allows nothing",
            );
        }
        let length_unit = match f.length_unit.as_deref() {
            None | Some("chars") => LengthUnit::Chars,
            Some("bytes") => LengthUnit::Bytes,
            Some(other) => {
                ck.fail(
                    file,
                    format!("{fat}.length_unit"),
                    format!("{other:?} is not chars or bytes"),
                );
                LengthUnit::Chars
            }
        };
        let charset = f.charset.as_deref().and_then(|source| {
            if *element != FieldType::String {
                ck.fail(
                    file,
                    format!("{fat}.charset"),
                    "charset applies to string fields only",
                );
                return None;
            }
            charset::parse(source)
                .map_err(|reason| ck.fail(file, format!("{fat}.charset"), reason))
                .ok()
        });
        if f.description.trim().is_empty() {
            ck.fail(
                file,
                format!("{fat}.description"),
                "every field needs a description from the page",
            );
        }
        fields.push(Field {
            name: f.name.clone(),
            title: f.title.clone(),
            ty,
            required: f.required,
            location,
            min_length: f.min_length,
            max_length: f.max_length,
            length_unit,
            charset,
            description: f.description.trim().to_owned(),
            example: f.example.clone(),
            required_if: Vec::new(),
            server_side: Vec::new(),
        });
    }
    for (i, rule) in rules.iter().enumerate() {
        let rat = format!("{at}.rules[{i}]");
        let field = &rule.field;
        let description = &rule.description;
        match (rule.kind.as_str(), &rule.when, &rule.equals) {
            ("required_if", Some(when), Some(equals)) => {
                let Some(target) = fields.iter().position(|f| &f.name == field) else {
                    ck.fail(
                        file,
                        format!("{rat}.field"),
                        format!("{name} has no field {field:?}"),
                    );
                    continue;
                };
                let Some(other) = fields.iter().find(|f| &f.name == when) else {
                    ck.fail(
                        file,
                        format!("{rat}.when"),
                        format!("{name} has no field {when:?}"),
                    );
                    continue;
                };
                if fields[target].required {
                    ck.fail(
                        file,
                        format!("{rat}.field"),
                        format!("{field} is always required; required_if adds nothing"),
                    );
                }
                let when_is_enum = match &other.ty {
                    FieldType::Enum(_) => true,
                    FieldType::String => false,
                    other_ty => {
                        ck.fail(
                            file,
                            format!("{rat}.when"),
                            format!(
                                "required_if compares strings or enums, not {}",
                                other_ty.schema_name()
                            ),
                        );
                        continue;
                    }
                };
                let when_required = other.required;
                fields[target].required_if.push(RequiredIf {
                    when: when.clone(),
                    equals: equals.clone(),
                    when_is_enum,
                    when_required,
                    description: description.clone(),
                    rule_index: i,
                });
            }
            ("required_if", _, _) => {
                ck.fail(file, rat, "a required_if rule needs `when` and `equals`")
            }
            ("server_side", None, None) => match fields.iter_mut().find(|f| &f.name == field) {
                Some(target) => target.server_side.push(description.clone()),
                None => ck.fail(
                    file,
                    format!("{rat}.field"),
                    format!("{name} has no field {field:?}"),
                ),
            },
            ("server_side", _, _) => {
                ck.fail(file, rat, "a server_side rule has no `when` or `equals`")
            }
            (other, _, _) => ck.fail(
                file,
                format!("{rat}.kind"),
                format!("{other:?} is not required_if or server_side"),
            ),
        }
    }
    ObjectType {
        name: name.to_owned(),
        file: file.to_owned(),
        description: description.trim().to_owned(),
        fields,
        in_request: false,
    }
}

fn resolve_enum(
    ck: &mut Checker,
    file: &str,
    at: &str,
    name: &str,
    description: &str,
    values: &[raw::EnumValue],
) -> EnumType {
    if values.is_empty() {
        ck.fail(
            file,
            format!("{at}.values"),
            format!("enum {name} has no values"),
        );
    }
    let mut seen = BTreeSet::new();
    let mut idents: BTreeMap<String, String> = BTreeMap::new();
    for (i, v) in values.iter().enumerate() {
        let vat = format!("{at}.values[{i}]");
        if v.value.is_empty()
            || !v
                .value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            ck.fail(
                file,
                format!("{vat}.value"),
                format!("{:?} is not an enum value (A-Z, a-z, 0-9, _)", v.value),
            );
            continue;
        }
        if !seen.insert(v.value.clone()) {
            ck.fail(
                file,
                format!("{vat}.value"),
                format!("{} appears twice in {name}", v.value),
            );
            continue;
        }
        let ident = v.value.to_upper_camel_case();
        if !ident.starts_with(|c: char| c.is_ascii_alphabetic()) {
            ck.fail(
                file,
                format!("{vat}.value"),
                format!(
                    "{} cannot become a Rust variant: it must contain a letter before any digit",
                    v.value
                ),
            );
            continue;
        }
        if ident == "Unknown" {
            ck.fail(
                file,
                format!("{vat}.value"),
                "UNKNOWN clashes with the generated fallback variant Unknown",
            );
        }
        if let Some(first) = idents.insert(ident.clone(), v.value.clone()) {
            ck.fail(
                file,
                format!("{vat}.value"),
                format!("{} and {first} both become the variant {ident}", v.value),
            );
        }
        if v.meaning.trim().is_empty() {
            ck.fail(
                file,
                format!("{vat}.meaning"),
                "every enum value needs its meaning (页面未说明 if the page gives none)",
            );
        }
    }
    EnumType {
        name: name.to_owned(),
        file: file.to_owned(),
        description: description.trim().to_owned(),
        values: values
            .iter()
            .map(|v| EnumValue {
                value: v.value.clone(),
                meaning: v.meaning.trim().to_owned(),
            })
            .collect(),
    }
}

fn resolve_endpoint(
    ck: &mut Checker,
    ep: &super::load::LoadedEndpoint,
    types: &BTreeMap<String, TypeDef>,
    common: &[raw::ErrorRow],
) -> Option<Endpoint> {
    let file = &ep.file;
    let raw = &ep.content.endpoint;
    let source = &ep.content.source;
    let before = ck.errors.len();
    if !is_type_name(&raw.name) {
        ck.fail(
            file,
            "endpoint.name",
            format!(
                "{:?} must be UpperCamelCase, e.g. SendProductCoupon",
                raw.name
            ),
        );
    }
    if !is_date(&source.updated) {
        ck.fail(
            file,
            "source.updated",
            format!("{:?} is not a YYYY-MM-DD date", source.updated),
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
        other => {
            ck.fail(
                file,
                "endpoint.auth",
                format!("{other:?} is not merchant or brand"),
            );
            Auth::Merchant
        }
    };
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
    if let Some(TypeDef::Object(request)) = types.get(&raw.request) {
        for p in &placeholders {
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
            if f.location == Location::Path && !placeholders.contains(&f.name) {
                ck.fail(
                    &request.file,
                    format!("types.{}.fields[{i}].in", request.name),
                    format!(
                        "path parameter {} is missing from the path template {}",
                        f.name, raw.path
                    ),
                );
            }
        }
    }
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
        check_error_row(ck, file, &format!("endpoint.errors[{i}]"), row);
    }
    let mut examples = Vec::new();
    for (list, items) in [
        ("requests", &raw.examples.requests),
        ("responses", &raw.examples.responses),
    ] {
        let mut out = Vec::new();
        for (i, ex) in items.iter().enumerate() {
            let at = format!("endpoint.examples.{list}[{i}]");
            if let Err(e) = serde_json::from_str::<serde_json::Value>(&ex.body) {
                ck.fail(file, format!("{at}.body"), format!("not valid JSON: {e}"));
            }
            for key in ex.path.keys() {
                if !placeholders.contains(key) {
                    ck.fail(
                        file,
                        format!("{at}.path.{key}"),
                        format!("{key} is not a path parameter of {}", raw.path),
                    );
                }
            }
            out.push(Example {
                name: ex.name.clone(),
                status: ex.status,
                path: ex.path.clone(),
                body: ex.body.clone(),
            });
        }
        examples.push(out);
    }
    if ck.errors.len() != before {
        return None;
    }
    // A common row is added unless the page already repeats it word for word;
    // a page row that reuses a common code with another meaning keeps both.
    let mut errors = raw.errors.clone();
    for row in common {
        if !errors.iter().any(|r| {
            r.code == row.code && r.status == row.status && r.description == row.description
        }) {
            errors.push(row.clone());
        }
    }
    // Each distinct code becomes a variant: two codes must not share one, nor take `Unknown`.
    let mut variants: BTreeMap<String, String> = BTreeMap::new();
    for (i, row) in errors.iter().enumerate() {
        let variant = row.code.to_upper_camel_case();
        let at = if i < raw.errors.len() {
            format!("endpoint.errors[{i}].code")
        } else {
            "endpoint.errors".to_owned()
        };
        if variant == "Unknown" {
            ck.fail(
                file,
                at,
                format!(
                    "{} clashes with the generated fallback variant Unknown",
                    row.code
                ),
            );
        } else if let Some(other) = variants.insert(variant.clone(), row.code.clone()) {
            if other != row.code {
                ck.fail(
                    file,
                    at,
                    format!(
                        "{} and {other} would both become the variant {variant}",
                        row.code
                    ),
                );
            }
        }
    }
    if ck.errors.len() != before {
        return None;
    }
    let response_examples = examples.pop().unwrap_or_default();
    let request_examples = examples.pop().unwrap_or_default();
    Some(Endpoint {
        name: raw.name.clone(),
        id: raw.name.to_kebab_case(),
        file: file.clone(),
        source: source.clone(),
        method,
        path: raw.path.clone(),
        auth,
        rate_limit: raw.rate_limit.clone(),
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

fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// The `{name}` placeholders of a path template, in order.
pub fn path_placeholders(path: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed {{ in {path}"))?;
        let name = &after[..end];
        if !is_wire_name(name) {
            return Err(format!("{{{name}}} is not a snake_case parameter name"));
        }
        if out.iter().any(|n| n == name) {
            return Err(format!("{{{name}}} appears twice in {path}"));
        }
        out.push(name.to_owned());
        rest = &after[end + 1..];
    }
    if rest.contains('}') {
        return Err(format!("unopened }} in {path}"));
    }
    Ok(out)
}

/// Rejects types that contain themselves without an array in between (infinite size).
fn check_cycles(ck: &mut Checker, types: &BTreeMap<String, TypeDef>) {
    fn visit(
        name: &str,
        types: &BTreeMap<String, TypeDef>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(pos) = stack.iter().position(|n| n == name) {
            return Some(stack[pos..].to_vec());
        }
        if done.contains(name) {
            return None;
        }
        stack.push(name.to_owned());
        if let Some(TypeDef::Object(obj)) = types.get(name) {
            for f in &obj.fields {
                if let FieldType::Object(inner) = &f.ty {
                    if let Some(cycle) = visit(inner, types, stack, done) {
                        return Some(cycle);
                    }
                }
            }
        }
        stack.pop();
        done.insert(name.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for (name, def) in types {
        if let Some(cycle) = visit(name, types, &mut Vec::new(), &mut done) {
            let file = match def {
                TypeDef::Object(o) => o.file.clone(),
                TypeDef::Enum(e) => e.file.clone(),
            };
            ck.fail(
                &file,
                format!("types.{name}"),
                format!(
                    "{} contains itself ({}); put an array in between",
                    name,
                    cycle.join(" → ")
                ),
            );
            return;
        }
    }
}

fn mark_request_types(types: &mut BTreeMap<String, TypeDef>, endpoints: &[Endpoint]) {
    let mut pending: Vec<String> = endpoints.iter().map(|e| e.request.clone()).collect();
    let mut seen = BTreeSet::new();
    while let Some(name) = pending.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(TypeDef::Object(obj)) = types.get_mut(&name) {
            obj.in_request = true;
            for f in &obj.fields {
                let mut ty = &f.ty;
                while let FieldType::Array(inner) = ty {
                    ty = inner;
                }
                if let FieldType::Object(inner) = ty {
                    pending.push(inner.clone());
                }
            }
        }
    }
}

fn check_path_fields_only_in_requests(
    ck: &mut Checker,
    types: &BTreeMap<String, TypeDef>,
    endpoints: &[Endpoint],
) {
    for def in types.values() {
        if let TypeDef::Object(obj) = def {
            let is_request = endpoints.iter().any(|e| e.request == obj.name);
            for (i, f) in obj.fields.iter().enumerate() {
                if f.location != Location::Body && !is_request {
                    ck.fail(
                        &obj.file,
                        format!("types.{}.fields[{i}].in", obj.name),
                        "only an endpoint's request type has path or query fields",
                    );
                }
            }
        }
    }
}

/// Checks `required_if` values against the enums they compare with.
pub fn check_required_if_values(types: &BTreeMap<String, TypeDef>) -> Vec<SchemaError> {
    let mut errors = Vec::new();
    for def in types.values() {
        let TypeDef::Object(obj) = def else { continue };
        for f in &obj.fields {
            for rule in &f.required_if {
                let Some(when) = obj.fields.iter().find(|w| w.name == rule.when) else {
                    continue;
                };
                if let FieldType::Enum(enum_name) = &when.ty {
                    if let Some(TypeDef::Enum(e)) = types.get(enum_name) {
                        if !e.values.iter().any(|v| v.value == rule.equals) {
                            errors.push(SchemaError {
                                file: obj.file.clone(),
                                path: format!(
                                    "types.{}.rules[{}].equals",
                                    obj.name, rule.rule_index
                                ),
                                reason: format!(
                                    "required_if on {}: {:?} is not a value of {enum_name}",
                                    f.name, rule.equals
                                ),
                            });
                        }
                    }
                }
            }
        }
    }
    errors
}
