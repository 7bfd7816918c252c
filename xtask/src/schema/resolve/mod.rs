//! Turns the parsed files into the IR, checking every rule the README lists.
//! All problems are collected so one run shows them all.
//!
//! - [`names`]: the Rust name of every schema name, decided once;
//! - `types`: object and enum types, fields and their rules;
//! - `endpoints`: operations, error tables, examples;
//! - `checks`: checks across the whole schema;
//! - `source_list`: `sources.yaml`, the official pages, against the endpoint files.

mod checks;
mod endpoints;
mod follow_up;
pub mod names;
mod source_list;
mod types;

use std::collections::BTreeMap;

use super::error::SchemaError;
use super::load::{Loaded, LoadedEndpoint};
use super::model::*;
use super::raw;
use types::{Kind, Kinds};

pub struct Checker {
    pub errors: Vec<SchemaError>,
}

impl Checker {
    pub fn fail(&mut self, file: &str, path: impl Into<String>, reason: impl Into<String>) {
        self.errors.push(SchemaError {
            file: file.to_owned(),
            path: path.into(),
            reason: reason.into(),
        });
    }
}

pub fn resolve(loaded: Loaded) -> Result<Schema, Vec<SchemaError>> {
    let mut ck = Checker { errors: Vec::new() };
    let common_errors = common_rows(
        &mut ck,
        &loaded.api_file,
        "common_errors",
        &loaded.api.common_errors,
        &[],
    );
    let brand_errors = common_rows(
        &mut ck,
        &loaded.api_file,
        "brand_common_errors",
        &loaded.api.brand_common_errors,
        &common_errors,
    );
    let earlier: Vec<ErrorRow> = common_errors.iter().chain(&brand_errors).cloned().collect();
    let partner_errors = match &loaded.partner {
        Some(p) => common_rows(
            &mut ck,
            &p.file,
            "common_errors",
            &p.content.common_errors,
            &earlier,
        ),
        None => Vec::new(),
    };

    // Every file that defines types, with its source block.
    let mut type_files: Vec<(&str, &raw::Source, &BTreeMap<String, raw::TypeDef>)> = Vec::new();
    for ep in loaded.endpoints.iter().chain(&loaded.twins) {
        type_files.push((&ep.file, &ep.content.source, &ep.content.types));
    }
    for tf in &loaded.type_files {
        type_files.push((&tf.file, &tf.content.source, &tf.content.types));
    }
    if let Some(n) = &loaded.notifications {
        type_files.push((&n.file, &n.content.source, &n.content.types));
    }
    let mut sources = BTreeMap::new();
    for (file, source, _) in &type_files {
        check_source(&mut ck, file, source);
        sources.insert((*file).to_owned(), (*source).clone());
    }

    // Pass 1: every type name, defined once across all files.
    let mut kinds: Kinds = BTreeMap::new();
    for (file, _, defs) in &type_files {
        for (name, def) in defs.iter() {
            let kind = match def.kind.as_str() {
                "object" => Kind::Object,
                "enum" => Kind::Enum,
                other => {
                    ck.fail(
                        file,
                        format!("types.{name}.kind"),
                        format!("{other:?} is not object or enum"),
                    );
                    continue;
                }
            };
            if !names::is_type_name(name) {
                ck.fail(
                    file,
                    format!("types.{name}"),
                    "type names are UpperCamelCase, e.g. UserProductCouponEntity",
                );
            }
            if let Some((_, first)) = kinds.get(name) {
                ck.fail(
                    file,
                    format!("types.{name}"),
                    format!("type {name} is already defined in {first}"),
                );
            } else {
                kinds.insert(name.clone(), (kind, (*file).to_owned()));
            }
        }
    }

    // Pass 2: each type's body, in the file that defines it.
    let mut types = BTreeMap::new();
    for (file, _, defs) in &type_files {
        for (name, def) in defs.iter() {
            let Some((kind, defined_in)) = kinds.get(name) else {
                continue;
            };
            if defined_in != file {
                continue; // the duplicate was reported above
            }
            let at = format!("types.{name}");
            let resolved = match kind {
                Kind::Object => {
                    if def.values.is_some() {
                        ck.fail(
                            file,
                            format!("{at}.values"),
                            "an object type has fields, not values",
                        );
                    }
                    let Some(fields) = &def.fields else {
                        ck.fail(
                            file,
                            format!("{at}.fields"),
                            "an object type needs fields (use [] for none)",
                        );
                        continue;
                    };
                    TypeDef::Object(types::object(&mut ck, file, name, def, fields, &kinds))
                }
                Kind::Enum => {
                    if def.fields.is_some() || def.rules.is_some() {
                        ck.fail(
                            file,
                            format!("{at}.fields"),
                            "an enum type has values, not fields or rules",
                        );
                    }
                    let values = def.values.as_deref().unwrap_or_default();
                    TypeDef::Enum(types::enumeration(&mut ck, file, name, def, values))
                }
            };
            types.insert(name.clone(), resolved);
        }
    }
    cap_path_parameters(&mut ck, &loaded.api_file, &loaded.api, &mut types);

    // Pass 3: endpoints.
    let mut endpoints = Vec::new();
    let mut operations: BTreeMap<String, String> = BTreeMap::new();
    for ep in loaded.endpoints.iter().chain(&loaded.twins) {
        let mut shared = common_errors.clone();
        match ep.content.endpoint.auth.as_str() {
            "brand" => shared.extend(brand_errors.iter().cloned()),
            // A twin keeps the brand family's shared rows (its semantics are its brand
            // operation's) and adds the partner family's.
            "partner" => shared.extend(brand_errors.iter().chain(&partner_errors).cloned()),
            _ => {}
        }
        let Some(endpoint) = endpoints::endpoint(&mut ck, ep, &types, &shared) else {
            continue;
        };
        if let Some(first) = operations.get(&endpoint.name) {
            ck.fail(
                &ep.file,
                "endpoint.name",
                format!("operation {} is already defined in {first}", endpoint.name),
            );
        } else {
            operations.insert(endpoint.name.clone(), ep.file.clone());
        }
        endpoints.push(endpoint);
    }
    let mut events = loaded
        .notifications
        .as_ref()
        .map(|n| events(&mut ck, &n.file, &n.content.events, &types))
        .unwrap_or_default();
    follow_ups(&mut ck, &loaded, &mut endpoints, &mut events, &types);

    let event_enum = names::event_enum();
    if let Some(def) = types.get(&event_enum.0) {
        ck.fail(
            def.file(),
            format!("types.{}", event_enum.0),
            format!(
                "{} is the generated enum of the notification events",
                event_enum.0
            ),
        );
    }
    if let Some(list) = &loaded.sources {
        let twins: BTreeMap<&str, &LoadedEndpoint> = loaded
            .partner
            .iter()
            .flat_map(|p| &p.content.twins)
            .zip(&loaded.twins)
            .map(|(twin, ep)| (twin.of.as_str(), ep))
            .collect();
        source_list::check(&mut ck, list, &loaded.endpoints, &twins);
    }
    checks::module_names(&mut ck, &types);
    checks::overlapping_paths(&mut ck, &endpoints);
    checks::cycles(&mut ck, &types);
    checks::mark_request_types(&mut types, &endpoints);
    checks::path_fields_only_in_requests(&mut ck, &types, &endpoints);
    checks::required_if_values(&mut ck, &mut types);

    if ck.errors.is_empty() {
        Ok(Schema {
            common_errors: earlier.into_iter().chain(partner_errors).collect(),
            endpoints,
            types,
            events,
            event_enum,
            sources,
        })
    } else {
        Err(ck.errors)
    }
}

/// Resolves every `follow_up:` (they name other operations, so after all endpoints).
fn follow_ups(
    ck: &mut Checker,
    loaded: &Loaded,
    endpoints: &mut [Endpoint],
    events: &mut [Event],
    types: &BTreeMap<String, TypeDef>,
) {
    let object = |name: &str| match types.get(name) {
        Some(TypeDef::Object(o)) => Some(o),
        _ => None,
    };
    let mut found = Vec::new();
    for (i, endpoint) in endpoints.iter().enumerate() {
        let Some(ep) = loaded
            .endpoints
            .iter()
            .chain(&loaded.twins)
            .find(|l| l.file == endpoint.file)
        else {
            continue;
        };
        let Some(raw) = &ep.content.endpoint.follow_up else {
            continue;
        };
        let (Some(request), Some(response)) =
            (object(&endpoint.request), object(&endpoint.response))
        else {
            continue;
        };
        let origin = follow_up::Origin::Endpoint { request, response };
        let resolved = follow_up::follow_up(
            ck,
            &endpoint.file,
            "endpoint.follow_up",
            raw,
            origin,
            endpoints,
            types,
        );
        found.push((i, resolved));
    }
    for (i, resolved) in found {
        endpoints[i].follow_up = resolved;
    }
    let Some(n) = &loaded.notifications else {
        return;
    };
    for (i, raw_event) in n.content.events.iter().enumerate() {
        let Some(raw) = &raw_event.follow_up else {
            continue;
        };
        let Some(event) = events
            .iter_mut()
            .find(|e| e.event_type == raw_event.event_type)
        else {
            continue;
        };
        let Some(payload) = object(&event.payload) else {
            continue;
        };
        event.follow_up = follow_up::follow_up(
            ck,
            &n.file,
            &format!("events[{i}].follow_up"),
            raw,
            follow_up::Origin::Event { payload },
            endpoints,
            types,
        );
    }
}

/// A path parameter whose page publishes no length gets `api.yaml`'s `path_parameters`
/// cap, with its decision: a value over it could not become a URL segment anyway.
fn cap_path_parameters(
    ck: &mut Checker,
    file: &str,
    api: &raw::ApiFile,
    types: &mut BTreeMap<String, TypeDef>,
) {
    let Some(cap) = &api.path_parameters else {
        return;
    };
    if cap.max_length == 0 || cap.decision.trim().is_empty() {
        ck.fail(
            file,
            "path_parameters",
            "needs a max_length above 0 and the decision behind it",
        );
        return;
    }
    for def in types.values_mut() {
        let TypeDef::Object(object) = def else {
            continue;
        };
        for field in &mut object.fields {
            if field.location == Location::Path
                && *field.ty.innermost() == FieldType::String
                && field.max_length.is_none()
            {
                field.max_length = Some(cap.max_length);
                field
                    .provenance
                    .decision
                    .get_or_insert_with(|| cap.decision.trim().to_owned());
            }
        }
    }
}

/// The rows of a shared error table, each with its constant's name (see
/// [`names::common_error_const`]), unique across `earlier` and this table.
fn common_rows(
    ck: &mut Checker,
    file: &str,
    key: &str,
    rows: &[raw::ErrorRow],
    earlier: &[ErrorRow],
) -> Vec<ErrorRow> {
    let mut out: Vec<ErrorRow> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let at = format!("{key}[{i}]");
        check_error_row(ck, file, &at, row);
        if let Some(k) = &row.key {
            if !names::is_error_key(k) {
                ck.fail(
                    file,
                    format!("{at}.key"),
                    format!("{k:?} is not a key: snake_case ASCII saying what the row means, e.g. page_size_out_of_range"),
                );
            }
        }
        let name = names::common_error_const(&row.code, row.key.as_deref());
        let taken = earlier
            .iter()
            .chain(&out)
            .any(|r| r.common.as_deref() == Some(&name));
        if taken {
            ck.fail(
                file,
                format!("{at}.key"),
                format!(
                    "the constant {name} is already another row's: the shared tables repeat {}, so give this row a key: saying what it means here (its constant becomes {}_<KEY>)",
                    row.code, row.code
                ),
            );
        }
        out.push(error_row(row, Some(name)));
    }
    out
}

fn check_source(ck: &mut Checker, file: &str, source: &raw::Source) {
    if let Some(updated) = &source.updated {
        if !is_date(updated) {
            ck.fail(
                file,
                "source.updated",
                format!("{updated:?} is not a YYYY-MM-DD date"),
            );
        }
    }
    for (i, page) in source.pages.iter().enumerate() {
        types::provenance_string(ck, file, &format!("source.pages[{i}]"), page);
    }
    if let Some(c) = &source.completeness {
        if !matches!(c.as_str(), "full" | "partial") {
            ck.fail(
                file,
                "source.completeness",
                format!("{c:?} is not full or partial"),
            );
        }
    }
}

fn events(
    ck: &mut Checker,
    file: &str,
    raw_events: &[raw::Event],
    types: &BTreeMap<String, TypeDef>,
) -> Vec<Event> {
    let mut out: Vec<Event> = Vec::new();
    for (i, e) in raw_events.iter().enumerate() {
        let at = format!("events[{i}]");
        let valid = !e.event_type.is_empty()
            && e.event_type
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' || c == '.');
        if !valid {
            ck.fail(
                file,
                format!("{at}.event_type"),
                format!("{:?} is not an event type (A-Z, 0-9, _, .)", e.event_type),
            );
            continue;
        }
        if !matches!(types.get(&e.payload), Some(TypeDef::Object(_))) {
            ck.fail(
                file,
                format!("{at}.payload"),
                format!("{} is not an object type", e.payload),
            );
            continue;
        }
        let variant = names::variant(&e.event_type);
        if out.iter().any(|o| o.variant == variant) || variant == "Unknown" {
            ck.fail(
                file,
                format!("{at}.event_type"),
                format!("{} would repeat the variant {variant}", e.event_type),
            );
            continue;
        }
        out.push(Event {
            event_type: e.event_type.clone(),
            summary: e.summary.trim().to_owned(),
            payload: e.payload.clone(),
            variant,
            provenance: Provenance {
                source: e
                    .source
                    .as_deref()
                    .map(|s| types::provenance_string(ck, file, &format!("{at}.source"), s)),
                uncertain: e.uncertain.clone(),
                ..Provenance::default()
            },
            follow_up: None,
        });
    }
    out
}

/// The IR row of a checked raw row (`check_error_row` reported a bad scope already).
pub fn error_row(row: &raw::ErrorRow, common: Option<String>) -> ErrorRow {
    ErrorRow {
        status: row.status,
        code: row.code.clone(),
        description: row.description.clone(),
        solution: row.solution.clone(),
        scope: parse_scope(&row.scope).unwrap_or(ErrorScope::UNDOCUMENTED),
        source: row.source.as_ref().map(|s| s.trim().to_owned()),
        variant: names::variant(&row.code),
        common,
        key: row.key.clone(),
    }
}

fn parse_scope(text: &str) -> Option<ErrorScope> {
    match text {
        "request" => Some(ErrorScope::Request),
        "caller" => Some(ErrorScope::Caller),
        _ => None,
    }
}

pub fn check_error_row(ck: &mut Checker, file: &str, at: &str, row: &raw::ErrorRow) {
    if parse_scope(&row.scope).is_none() {
        ck.fail(
            file,
            format!("{at}.scope"),
            format!(
                "{:?} is not a scope: request (about this request's values) or caller (about the caller or what every request shares)",
                row.scope
            ),
        );
    }
    if let Some(source) = &row.source {
        types::provenance_string(ck, file, &format!("{at}.source"), source);
    }
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

fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}
