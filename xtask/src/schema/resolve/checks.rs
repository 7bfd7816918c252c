//! Checks across types and endpoints, once everything is resolved.

use std::collections::{BTreeMap, BTreeSet};

use super::Checker;
use crate::schema::model::*;

/// Rejects types that contain themselves (infinite size, or a recursive static description).
pub fn cycles(ck: &mut Checker, types: &BTreeMap<String, TypeDef>) {
    fn visit(
        name: &str,
        types: &BTreeMap<String, TypeDef>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(pos) = stack.iter().position(|n| n == name) {
            let mut cycle = stack[pos..].to_vec();
            cycle.push(name.to_owned());
            return Some(cycle);
        }
        if done.contains(name) {
            return None;
        }
        stack.push(name.to_owned());
        if let Some(TypeDef::Object(obj)) = types.get(name) {
            for f in &obj.fields {
                if let FieldType::Object(inner) = f.ty.innermost() {
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
            ck.fail(
                def.file(),
                format!("types.{name}"),
                format!(
                    "{} contains itself ({}); the schema has no recursive types",
                    name,
                    cycle.join(" → ")
                ),
            );
            return;
        }
    }
}

/// Marks the types reachable from an endpoint's request (they get `Validate`).
pub fn mark_request_types(types: &mut BTreeMap<String, TypeDef>, endpoints: &[Endpoint]) {
    let mut pending: Vec<String> = endpoints.iter().map(|e| e.request.clone()).collect();
    for e in endpoints {
        if let Some(TypeDef::Object(obj)) = types.get_mut(&e.request) {
            obj.is_endpoint_request = true;
        }
    }
    let mut seen = BTreeSet::new();
    while let Some(name) = pending.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(TypeDef::Object(obj)) = types.get_mut(&name) {
            obj.in_request = true;
            for f in &obj.fields {
                if let FieldType::Object(inner) = f.ty.innermost() {
                    pending.push(inner.clone());
                }
            }
        }
    }
}

pub fn path_fields_only_in_requests(
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

/// Checks `required_if` values against the enums they compare with, and records the variant.
pub fn required_if_values(ck: &mut Checker, types: &mut BTreeMap<String, TypeDef>) {
    let enums: BTreeMap<String, Vec<EnumValue>> = types
        .values()
        .filter_map(|def| match def {
            TypeDef::Enum(e) => Some((e.name.clone(), e.values.clone())),
            TypeDef::Object(_) => None,
        })
        .collect();
    for def in types.values_mut() {
        let TypeDef::Object(obj) = def else { continue };
        let when_types: BTreeMap<String, FieldType> = obj
            .fields
            .iter()
            .map(|f| (f.name.clone(), f.ty.innermost().clone()))
            .collect();
        for (index, rule) in obj.rules.iter_mut().enumerate() {
            let Rule::RequiredIf {
                field,
                when,
                equals,
                equals_variant,
                ..
            } = rule
            else {
                continue;
            };
            let Some(FieldType::Enum(enum_name)) = when_types.get(when.as_str()) else {
                continue;
            };
            let Some(values) = enums.get(enum_name) else {
                continue;
            };
            match values.iter().find(|v| &v.value == equals) {
                Some(value) => *equals_variant = Some(value.variant.clone()),
                None => ck.fail(
                    &obj.file,
                    format!("types.{}.rules[{index}].equals", obj.name),
                    format!("required_if on {field}: {equals:?} is not a value of {enum_name}"),
                ),
            }
        }
    }
}

/// Each type becomes a module named after it: two names must not share one, nor be a keyword.
pub fn module_names(ck: &mut Checker, types: &BTreeMap<String, TypeDef>) {
    let mut modules: BTreeMap<&str, &str> = BTreeMap::new();
    for (name, def) in types {
        let module = match def {
            TypeDef::Object(o) => o.module.as_str(),
            TypeDef::Enum(e) => e.module.as_str(),
        };
        if super::names::is_keyword(module) || name == "Self" {
            ck.fail(
                def.file(),
                format!("types.{name}"),
                format!("{name} would become the module `{module}`, a Rust keyword"),
            );
        } else if let Some(other) = modules.insert(module, name) {
            ck.fail(
                def.file(),
                format!("types.{name}"),
                format!("{name} and {other} would both become the module `{module}`"),
            );
        }
    }
}

/// Two operations of one method whose path templates could match the same path would make
/// routing (the sandbox, `sign`) depend on their order: refused.
pub fn overlapping_paths(ck: &mut Checker, endpoints: &[Endpoint]) {
    let segments = |path: &str| -> Vec<Option<String>> {
        path.split('/')
            .map(|s| (!(s.starts_with('{') && s.ends_with('}'))).then(|| s.to_owned()))
            .collect()
    };
    for (i, a) in endpoints.iter().enumerate() {
        for b in &endpoints[i + 1..] {
            if a.method != b.method {
                continue;
            }
            let (sa, sb) = (segments(&a.path), segments(&b.path));
            let overlap = sa.len() == sb.len()
                && sa.iter().zip(&sb).all(|pair| match pair {
                    (Some(x), Some(y)) => x == y,
                    _ => true,
                });
            if overlap {
                ck.fail(
                    &b.file,
                    "endpoint.path",
                    format!(
                        "{} {} can match the same paths as {} ({})",
                        b.method.as_str(),
                        b.path,
                        a.path,
                        a.file
                    ),
                );
            }
        }
    }
}
