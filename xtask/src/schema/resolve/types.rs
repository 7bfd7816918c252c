//! Object and enum types: fields, their rules, conditional rules, enum values.

use std::collections::{BTreeMap, BTreeSet};

use super::names;
use super::Checker;
use crate::schema::charset;
use crate::schema::model::*;
use crate::schema::raw;

/// What a type name stands for, before fields are resolved.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Object,
    Enum,
}

/// Every type name with its kind and defining file.
pub type Kinds = BTreeMap<String, (Kind, String)>;

/// The provenance kinds a source string may start with.
const PROVENANCE_KINDS: &[&str] = &[
    "seed",
    "official",
    "partner",
    "sample-code",
    "guide",
    "support-code",
    "mirror",
    "captured",
    "inferred",
];

/// Checks a provenance string (`official 4016427405`, `mirror`); returns it trimmed.
pub fn provenance_string(ck: &mut Checker, file: &str, at: &str, text: &str) -> String {
    let text = text.trim();
    let kind = text.split_whitespace().next().unwrap_or("");
    if !PROVENANCE_KINDS.contains(&kind) {
        ck.fail(
            file,
            at,
            format!(
                "{text:?} must start with one of {} (then an optional page id)",
                PROVENANCE_KINDS.join(", ")
            ),
        );
    }
    text.to_owned()
}

fn provenance(
    ck: &mut Checker,
    file: &str,
    at: &str,
    source: &Option<String>,
    limit_source: &Option<String>,
    uncertain: &Option<String>,
    decision: &Option<String>,
) -> Provenance {
    let mut text = |key: &str, value: &Option<String>| {
        value.as_deref().map(|v| {
            if v.trim().is_empty() {
                ck.fail(file, format!("{at}.{key}"), "must not be empty");
            }
            v.trim().to_owned()
        })
    };
    let uncertain = text("uncertain", uncertain);
    let decision = text("decision", decision);
    Provenance {
        source: source
            .as_deref()
            .map(|s| provenance_string(ck, file, &format!("{at}.source"), s)),
        limit_source: limit_source
            .as_deref()
            .map(|s| provenance_string(ck, file, &format!("{at}.length_source"), s)),
        uncertain,
        decision,
    }
}

/// A type's own provenance (`source`, `uncertain`, `decision` beside its description).
fn type_provenance(ck: &mut Checker, file: &str, at: &str, def: &raw::TypeDef) -> Provenance {
    provenance(
        ck,
        file,
        at,
        &def.source,
        &None,
        &def.uncertain,
        &def.decision,
    )
}

pub fn parse_type(text: &str, kinds: &Kinds) -> Result<FieldType, String> {
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

/// Resolves one object type's fields and rules.
pub fn object(
    ck: &mut Checker,
    file: &str,
    name: &str,
    def: &raw::TypeDef,
    raw_fields: &[raw::Field],
    kinds: &Kinds,
) -> ObjectType {
    let at = format!("types.{name}");
    let mut fields: Vec<Field> = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, f) in raw_fields.iter().enumerate() {
        let fat = format!("{at}.fields[{i}]");
        if !names::is_wire_name(&f.name) {
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
        if let Some(field) = field(ck, file, &fat, f, kinds) {
            fields.push(field);
        }
    }
    let rules = def
        .rules
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter_map(|(i, rule)| {
            object_rule(ck, file, &format!("{at}.rules[{i}]"), name, rule, &fields)
        })
        .collect();
    ObjectType {
        name: name.to_owned(),
        module: names::module(name),
        file: file.to_owned(),
        description: def.description.trim().to_owned(),
        provenance: type_provenance(ck, file, &at, def),
        fields,
        rules,
        in_request: false,
        is_endpoint_request: false,
    }
}

fn field(ck: &mut Checker, file: &str, fat: &str, f: &raw::Field, kinds: &Kinds) -> Option<Field> {
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
    if location == Location::Query
        && !matches!(
            ty,
            FieldType::String | FieldType::Integer | FieldType::Boolean | FieldType::Enum(_)
        )
    {
        ck.fail(
            file,
            format!("{fat}.in"),
            "a query parameter is a string, integer, boolean or enum",
        );
    }
    let element = ty.innermost();
    // On an array of strings, the limits apply to each element. A length on an enum is
    // kept as the page's fact (documented); its values are checked against the enum.
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
    for (key, value) in [("minimum", f.minimum), ("maximum", f.maximum)] {
        if value.is_some() && *element != FieldType::Integer {
            ck.fail(
                file,
                format!("{fat}.{key}"),
                format!("{key} applies to integers, not {}", ty.schema_name()),
            );
        }
    }
    for (key, value) in [("min_items", f.min_items), ("max_items", f.max_items)] {
        if value.is_some() && !matches!(ty, FieldType::Array(_)) {
            ck.fail(
                file,
                format!("{fat}.{key}"),
                format!("{key} applies to arrays, not {}", ty.schema_name()),
            );
        }
    }
    let below =
        |lo: Option<i64>, hi: Option<i64>| matches!((lo, hi), (Some(lo), Some(hi)) if hi < lo);
    if below(f.min_length.map(i64::from), f.max_length.map(i64::from)) {
        ck.fail(
            file,
            format!("{fat}.max_length"),
            format!(
                "max_length {} is below min_length {}",
                f.max_length.unwrap_or_default(),
                f.min_length.unwrap_or_default()
            ),
        );
    }
    if below(f.minimum, f.maximum) {
        ck.fail(file, format!("{fat}.maximum"), "maximum is below minimum");
    }
    if below(f.min_items.map(i64::from), f.max_items.map(i64::from)) {
        ck.fail(
            file,
            format!("{fat}.max_items"),
            "max_items is below min_items",
        );
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
    let provenance = provenance(
        ck,
        file,
        fat,
        &f.source,
        &f.length_source,
        &f.uncertain,
        &f.decision,
    );
    Some(Field {
        name: f.name.clone(),
        ident: names::field_ident(&f.name),
        title: f.title.clone(),
        ty,
        required: f.required,
        location,
        min_length: f.min_length,
        max_length: f.max_length,
        length_unit,
        charset,
        minimum: f.minimum,
        maximum: f.maximum,
        min_items: f.min_items,
        max_items: f.max_items,
        description: f.description.trim().to_owned(),
        example: f.example.clone(),
        provenance,
        rule_const: names::rule_const(&f.name),
    })
}

fn object_rule(
    ck: &mut Checker,
    file: &str,
    rat: &str,
    name: &str,
    rule: &raw::RuleDef,
    fields: &[Field],
) -> Option<Rule> {
    let description = rule.description.trim().to_owned();
    let named = |key: &str, value: &Option<String>, ck: &mut Checker| -> Option<String> {
        let Some(value) = value else {
            ck.fail(file, rat, format!("a {} rule needs `{key}`", rule.kind));
            return None;
        };
        if !fields.iter().any(|f| &f.name == value) {
            ck.fail(
                file,
                format!("{rat}.{key}"),
                format!("{name} has no field {value:?}"),
            );
            return None;
        }
        Some(value.clone())
    };
    let unexpected = |ck: &mut Checker, keys: &[(&str, bool)]| {
        for (key, present) in keys {
            if *present {
                ck.fail(
                    file,
                    format!("{rat}.{key}"),
                    format!("a {} rule has no `{key}`", rule.kind),
                );
            }
        }
    };
    let optional_target = |ck: &mut Checker, field: &str| {
        if fields.iter().any(|f| f.name == field && f.required) {
            ck.fail(
                file,
                format!("{rat}.field"),
                format!("{field} is always required; {} adds nothing", rule.kind),
            );
        }
    };
    match rule.kind.as_str() {
        "required_if" => {
            unexpected(ck, &[("fields", rule.fields.is_some())]);
            let field = named("field", &rule.field, ck)?;
            let when = named("when", &rule.when, ck)?;
            let Some(equals) = rule.equals.clone() else {
                ck.fail(file, rat, "a required_if rule needs `equals`");
                return None;
            };
            optional_target(ck, &field);
            let when_ty = &fields.iter().find(|f| f.name == when)?.ty;
            match when_ty {
                FieldType::String | FieldType::Enum(_) => {}
                FieldType::Array(inner) if matches!(**inner, FieldType::Enum(_)) => {}
                other => {
                    ck.fail(
                        file,
                        format!("{rat}.when"),
                        format!(
                            "required_if compares strings, enums or lists of enums, not {}",
                            other.schema_name()
                        ),
                    );
                    return None;
                }
            }
            Some(Rule::RequiredIf {
                field,
                when,
                equals,
                equals_variant: None, // set once every enum is resolved (checks::required_if_values)
                description,
            })
        }
        "required_with" => {
            unexpected(
                ck,
                &[
                    ("fields", rule.fields.is_some()),
                    ("equals", rule.equals.is_some()),
                ],
            );
            let field = named("field", &rule.field, ck)?;
            let when = named("when", &rule.when, ck)?;
            optional_target(ck, &field);
            Some(Rule::RequiredWith {
                field,
                when,
                description,
            })
        }
        kind @ ("at_least_one_of" | "exactly_one_of") => {
            unexpected(
                ck,
                &[
                    ("field", rule.field.is_some()),
                    ("when", rule.when.is_some()),
                    ("equals", rule.equals.is_some()),
                ],
            );
            let list = rule.fields.clone().unwrap_or_default();
            if list.len() < 2 {
                ck.fail(
                    file,
                    format!("{rat}.fields"),
                    format!("{kind} names two fields or more"),
                );
                return None;
            }
            for f in &list {
                named("fields", &Some(f.clone()), ck)?;
                optional_target(ck, f);
            }
            Some(if kind == "exactly_one_of" {
                Rule::ExactlyOneOf {
                    fields: list,
                    description,
                }
            } else {
                Rule::AtLeastOneOf {
                    fields: list,
                    description,
                }
            })
        }
        "server_side" => {
            unexpected(
                ck,
                &[
                    ("fields", rule.fields.is_some()),
                    ("when", rule.when.is_some()),
                    ("equals", rule.equals.is_some()),
                ],
            );
            let field = named("field", &rule.field, ck)?;
            Some(Rule::ServerSide { field, description })
        }
        other => {
            ck.fail(
                file,
                format!("{rat}.kind"),
                format!(
                    "{other:?} is not required_if, required_with, at_least_one_of, exactly_one_of or server_side"
                ),
            );
            None
        }
    }
}

pub fn enumeration(
    ck: &mut Checker,
    file: &str,
    name: &str,
    def: &raw::TypeDef,
    values: &[raw::EnumValue],
) -> EnumType {
    let at = format!("types.{name}");
    if values.is_empty() {
        ck.fail(
            file,
            format!("{at}.values"),
            format!("enum {name} has no values"),
        );
    }
    let mut seen = BTreeSet::new();
    let mut variants: BTreeMap<String, String> = BTreeMap::new();
    let mut out = Vec::new();
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
        let variant = names::variant(&v.value);
        if !variant.starts_with(|c: char| c.is_ascii_alphabetic()) {
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
        if variant == "Unknown" {
            ck.fail(
                file,
                format!("{vat}.value"),
                "UNKNOWN clashes with the generated fallback variant Unknown",
            );
        }
        if let Some(first) = variants.insert(variant.clone(), v.value.clone()) {
            ck.fail(
                file,
                format!("{vat}.value"),
                format!("{} and {first} both become the variant {variant}", v.value),
            );
        }
        if v.meaning.trim().is_empty() {
            ck.fail(
                file,
                format!("{vat}.meaning"),
                "every enum value needs its meaning (页面未说明 if the page gives none)",
            );
        }
        out.push(EnumValue {
            value: v.value.clone(),
            variant,
            meaning: v.meaning.trim().to_owned(),
            provenance: provenance(ck, file, &vat, &v.source, &None, &v.uncertain, &v.decision),
        });
    }
    EnumType {
        name: name.to_owned(),
        module: names::module(name),
        file: file.to_owned(),
        description: def.description.trim().to_owned(),
        provenance: type_provenance(ck, file, &at, def),
        values: out,
    }
}
