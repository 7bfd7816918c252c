//! The partner (服务商) family of `partner.yaml`, expanded into endpoint files.
//!
//! A twin is its brand operation plus the differences the file declares once for the
//! family (name prefix, path prefix, auth, headers, the brand field) and per twin (where
//! the brand field goes, pages, rate, extra rows). Expanding before resolution means a
//! twin is checked exactly as a transcribed page is, and the IR cannot tell them apart.

use std::collections::BTreeMap;

use heck::ToKebabCase;

use super::error::SchemaError;
use super::load::{LoadedEndpoint, LoadedFile};
use super::raw::{EndpointFile, Example, PartnerFile, Source, TypeDef, TypesFile};
use super::resolve::names;

/// Where a twin's brand field goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BrandField {
    Body,
    Query,
    None,
}

pub fn expand(
    partner: &LoadedFile<PartnerFile>,
    endpoints: &mut [LoadedEndpoint],
    type_files: &mut [LoadedFile<TypesFile>],
) -> Result<Vec<LoadedEndpoint>, Vec<SchemaError>> {
    let file = &partner.file;
    let content = &partner.content;
    let family = &content.family;
    let mut errors = Vec::new();
    add_reply_field(partner, endpoints, type_files, &mut errors);
    let (endpoints, type_files) = (&*endpoints, &*type_files);
    let mut fail = |at: String, reason: String| {
        errors.push(SchemaError {
            file: file.clone(),
            path: at,
            reason,
        })
    };
    let id_prefix = format!("{}-", family.name_prefix.to_kebab_case());
    let by_id: BTreeMap<String, &LoadedEndpoint> = endpoints
        .iter()
        .map(|ep| (names::operation_id(&ep.content.endpoint.name), ep))
        .collect();
    // Every type by name, to copy a twin's request from.
    let mut type_defs: BTreeMap<&str, &TypeDef> = BTreeMap::new();
    for ep in endpoints {
        type_defs.extend(ep.content.types.iter().map(|(k, v)| (k.as_str(), v)));
    }
    for tf in type_files {
        type_defs.extend(tf.content.types.iter().map(|(k, v)| (k.as_str(), v)));
    }
    let field_name = &family.brand_field.name;
    let example_value = family.brand_field.example.clone().unwrap_or_default();
    if example_value.is_empty() {
        fail(
            "family.brand_field.example".into(),
            "the brand field needs an example: it goes into every twin's examples".into(),
        );
    }

    // Where each twin puts the brand field, by brand operation id (follow-ups look it up).
    let mut placement: BTreeMap<&str, BrandField> = BTreeMap::new();
    for (i, twin) in content.twins.iter().enumerate() {
        let at = format!("twins[{i}]");
        let where_ = match twin.brand_field.as_str() {
            "body" => BrandField::Body,
            "query" => BrandField::Query,
            "none" => BrandField::None,
            other => {
                fail(
                    format!("{at}.brand_field"),
                    format!("{other:?} is not body, query or none"),
                );
                continue;
            }
        };
        if placement.insert(&twin.of, where_).is_some() {
            fail(format!("{at}.of"), format!("{} has two twins", twin.of));
        }
    }

    let mut out = Vec::new();
    for (i, twin) in content.twins.iter().enumerate() {
        let at = format!("twins[{i}]");
        let Some(brand) = by_id.get(twin.of.as_str()) else {
            fail(
                format!("{at}.of"),
                format!("{:?} is not an operation of endpoints/", twin.of),
            );
            continue;
        };
        let Some(&where_) = placement.get(twin.of.as_str()) else {
            continue;
        };
        let raw = &brand.content.endpoint;
        if raw.auth != "brand" {
            fail(
                format!("{at}.of"),
                format!("{} is a {} operation, not a brand one", twin.of, raw.auth),
            );
            continue;
        }
        let Some(rest) = raw.path.strip_prefix(&family.brand_path_prefix) else {
            fail(
                format!("{at}.of"),
                format!(
                    "{}'s path {} does not start with {}",
                    twin.of, raw.path, family.brand_path_prefix
                ),
            );
            continue;
        };
        let is_get = raw.method == "GET";
        let json_body = !is_get && raw.body.as_deref().unwrap_or("json") == "json";
        match where_ {
            BrandField::Body if !json_body => fail(
                format!("{at}.brand_field"),
                format!("{} has no JSON body: use query or none", twin.of),
            ),
            BrandField::Query if !is_get => fail(
                format!("{at}.brand_field"),
                format!(
                    "{} is a {}: the field goes in the body",
                    twin.of, raw.method
                ),
            ),
            _ => {}
        }
        let Some(mut request) = type_defs.get(raw.request.as_str()).map(|t| (*t).clone()) else {
            fail(
                format!("{at}.of"),
                format!("{}'s request type {} is not defined", twin.of, raw.request),
            );
            continue;
        };
        let request_name = format!("{}{}", family.name_prefix, raw.request);
        request.description = format!(
            "{} (service provider: the brand twin's request{})",
            request.description.trim_end_matches('.'),
            match where_ {
                BrandField::None => ", unchanged".to_owned(),
                _ => format!(" with {field_name}"),
            }
        );
        if where_ != BrandField::None {
            let mut field = family.brand_field.clone();
            field.location = Some(
                match where_ {
                    BrandField::Query => "query",
                    _ => "body",
                }
                .to_owned(),
            );
            request.fields.get_or_insert_with(Vec::new).insert(0, field);
        }
        let response_carries = family.reply_field.types.contains(&raw.response);

        let mut endpoint = raw.clone();
        endpoint.name = format!("{}{}", family.name_prefix, raw.name);
        endpoint.path = format!("{}{rest}", family.path_prefix);
        endpoint.auth = family.auth.clone();
        endpoint.request = request_name.clone();
        endpoint.rate_limit = twin.rate_limit.clone();
        endpoint.rate_limit_source = twin.rate_limit_source.clone();
        endpoint.headers = family.headers.clone();
        endpoint.brand_field = (where_ != BrandField::None).then(|| field_name.clone());
        endpoint.twin_of = Some(twin.of.clone());
        // A provider's request numbers are unique per brand, as a brand's own are.
        if let (Some(number), true) = (&mut endpoint.request_number, where_ != BrandField::None) {
            number.unique_within.insert(0, field_name.clone());
        }
        endpoint.errors.extend(twin.errors.iter().cloned());
        for example in &mut endpoint.examples.requests {
            match where_ {
                BrandField::Body => add_to_body(example, field_name, &example_value),
                BrandField::Query => example
                    .query
                    .insert(0, (field_name.clone(), example_value.clone())),
                BrandField::None => {}
            }
        }
        if response_carries {
            let reply = &family.reply_field.field;
            let value = reply.example.as_deref().unwrap_or(&example_value);
            for example in &mut endpoint.examples.responses {
                if example.status.is_none_or(|s| s < 300) {
                    add_to_body(example, &reply.name, value);
                }
            }
        }
        if let Some(follow_up) = &mut endpoint.follow_up {
            for id in [&mut follow_up.operation, &mut follow_up.status] {
                if placement
                    .get(id.as_str())
                    .is_none_or(|p| *p == BrandField::None)
                {
                    fail(
                        format!("{at}.of"),
                        format!(
                            "{}'s follow-up names {id}, which has no twin carrying {field_name}",
                            twin.of
                        ),
                    );
                }
                *id = format!("{id_prefix}{id}");
            }
            follow_up
                .fields
                .insert(0, (field_name.clone(), format!("request.{field_name}")));
            follow_up.number_from.insert(0, field_name.clone());
        }
        let mut notes = family.notes.clone();
        notes.extend(twin.notes.iter().cloned());
        let source = Source {
            doc: content.source.doc.clone(),
            title: brand.content.source.title.clone(),
            updated: None,
            supported_merchants: family.supported_merchants.clone(),
            summary: brand.content.source.summary.clone(),
            preconditions: twin
                .preconditions
                .clone()
                .or_else(|| brand.content.source.preconditions.clone()),
            pages: twin
                .pages
                .iter()
                .map(|id| format!("partner {id}"))
                .collect(),
            completeness: brand.content.source.completeness.clone(),
            notes,
        };
        out.push(LoadedEndpoint {
            file: format!("{file}#{id_prefix}{}", twin.of),
            content: EndpointFile {
                source,
                endpoint,
                types: BTreeMap::from([(request_name, request)]),
            },
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Appends `family.reply_field.field` to each type it names, wherever the type is defined:
/// the shared entities partner replies extend, declared once here.
fn add_reply_field(
    partner: &LoadedFile<PartnerFile>,
    endpoints: &mut [LoadedEndpoint],
    type_files: &mut [LoadedFile<TypesFile>],
    errors: &mut Vec<SchemaError>,
) {
    let reply = &partner.content.family.reply_field;
    if reply.field.required {
        errors.push(SchemaError {
            file: partner.file.clone(),
            path: "family.reply_field.field.required".into(),
            reason: "must be false: brand replies of the same types do not carry it".into(),
        });
    }
    for (i, name) in reply.types.iter().enumerate() {
        let def = endpoints
            .iter_mut()
            .flat_map(|ep| ep.content.types.iter_mut())
            .chain(
                type_files
                    .iter_mut()
                    .flat_map(|tf| tf.content.types.iter_mut()),
            )
            .find(|(n, _)| *n == name)
            .map(|(_, def)| def);
        match def.and_then(|d| d.fields.as_mut()) {
            Some(fields) if fields.iter().all(|f| f.name != reply.field.name) => {
                fields.push(reply.field.clone())
            }
            Some(_) => errors.push(SchemaError {
                file: partner.file.clone(),
                path: format!("family.reply_field.types[{i}]"),
                reason: format!("{name} already has a field {}", reply.field.name),
            }),
            None => errors.push(SchemaError {
                file: partner.file.clone(),
                path: format!("family.reply_field.types[{i}]"),
                reason: format!("{name} is not an object type of the schema"),
            }),
        }
    }
}

/// Puts `"name": "value"` first in an example's JSON object body, keeping its layout.
fn add_to_body(example: &mut Example, name: &str, value: &str) {
    let Some(body) = &example.body else {
        return;
    };
    let trimmed = body.trim_start();
    let Some(rest) = trimmed.strip_prefix('{') else {
        return;
    };
    let pair = format!("{}: {}", quote(name), quote(value));
    let rest_trimmed = rest.trim_start();
    let text = if rest_trimmed.starts_with('}') {
        format!("{{{pair}{rest_trimmed}")
    } else if let Some(indent) = rest.strip_prefix('\n') {
        let pad: String = indent.chars().take_while(|c| *c == ' ').collect();
        format!("{{\n{pad}{pair},\n{indent}")
    } else {
        format!("{{{pair}, {rest_trimmed}")
    };
    example.body = Some(text);
}

fn quote(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}
