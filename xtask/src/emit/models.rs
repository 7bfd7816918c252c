//! Emits `crates/wechatpay-models/src/generated/**`: one file per schema type.
//!
//! An object type gets its struct, constructor and setters, its `TypeInfo`
//! (fields, locations, rules) and, when a request reaches it, `Validate`. A
//! field's string or integer rule is emitted once, as a constant that both the
//! `TypeInfo` row and `validate()` use.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::docs::{code, doc, provenance_line};
use super::{format, ident, GeneratedFile};
use crate::schema::model::*;

const DIR: &str = "crates/wechatpay-models/src/generated";

pub fn emit(schema: &Schema) -> Result<Vec<GeneratedFile>, String> {
    let mut files = Vec::new();
    let mut mods = Vec::new();
    for def in schema.types.values() {
        let (name, module, file, tokens) = match def {
            TypeDef::Object(obj) => (&obj.name, &obj.module, &obj.file, object(obj, schema)),
            TypeDef::Enum(e) => (&e.name, &e.module, &e.file, enumeration(e, schema)),
        };
        files.push(GeneratedFile {
            path: format!("{DIR}/{module}.rs"),
            contents: format::render(tokens, file)?,
        });
        mods.push((module, name));
    }
    if !schema.events.is_empty() {
        let (name, module) = &schema.event_enum;
        files.push(GeneratedFile {
            path: format!("{DIR}/{module}.rs"),
            contents: format::render(events(schema), "schema/notifications.yaml")?,
        });
        mods.push((module, name));
    }
    let decls = mods.iter().map(|(module, name)| {
        let (m, t) = (ident(module), ident(name));
        quote! { mod #m; pub use #m::#t; }
    });
    let root = quote! {
        //! Every schema type, one module each, re-exported here and at the crate root.
        #(#decls)*
    };
    files.push(GeneratedFile {
        path: format!("{DIR}/mod.rs"),
        contents: format::render(root, "schema/")?,
    });
    Ok(files)
}

fn origin(kind: &str, name: &str, file: &str, schema: &Schema) -> String {
    match schema.sources.get(file) {
        Some(s) => {
            let updated = s
                .updated
                .as_deref()
                .map(|u| format!(", updated {u}"))
                .unwrap_or_default();
            format!(
                "Schema {kind} `{name}` from `{file}` (doc page 《{}》{updated}).",
                s.title
            )
        }
        None => format!("Schema {kind} `{name}` from `{file}`."),
    }
}

/// The Rust type of a field, without the `Option` for optional fields.
fn rust_type(ty: &FieldType) -> TokenStream {
    match ty {
        FieldType::String => quote!(String),
        FieldType::Integer => quote!(i64),
        FieldType::Boolean => quote!(bool),
        FieldType::DateTime => quote!(rt::DateTime),
        FieldType::Object(name) | FieldType::Enum(name) => {
            let t = ident(name);
            quote!(super::#t)
        }
        FieldType::Array(inner) => {
            let inner = rust_type(inner);
            quote!(Vec<#inner>)
        }
    }
}

fn limits_text(f: &Field) -> Vec<String> {
    let unit = f.length_unit.noun();
    let range = |lo: Option<String>, hi: Option<String>, what: &str| match (lo, hi) {
        (Some(lo), Some(hi)) => Some(format!("{lo}–{hi}{what}")),
        (None, Some(hi)) => Some(format!("at most {hi}{what}")),
        (Some(lo), None) => Some(format!("at least {lo}{what}")),
        (None, None) => None,
    };
    let s = |v: Option<u32>| v.map(|v| v.to_string());
    [
        range(s(f.min_length), s(f.max_length), &format!(" {unit}")),
        range(
            f.minimum.map(|v| v.to_string()),
            f.maximum.map(|v| v.to_string()),
            "",
        ),
        range(s(f.min_items), s(f.max_items), " items"),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn field_doc(f: &Field, rules: &[Rule]) -> TokenStream {
    let mut text = String::new();
    if let Some(title) = &f.title {
        text.push_str(&format!("【{title}】 "));
    }
    text.push_str(&f.description);
    let mut facts = vec![
        format!("Wire name {}", code(&f.name)),
        format!("type {}", code(&f.ty.schema_name())),
        if f.required { "required" } else { "optional" }.to_owned(),
    ];
    match f.location {
        Location::Path => facts.push("path parameter (not in the body)".into()),
        Location::Query => facts.push("query parameter (not in the body)".into()),
        Location::Body => {}
    }
    facts.extend(limits_text(f));
    if let Some(charset) = &f.charset {
        facts.push(format!("characters {}", code(&charset.source)));
    }
    if let Some(example) = &f.example {
        facts.push(format!("example {}", code(example)));
    }
    text.push_str(&format!("\n\n{}.", facts.join("; ")));
    if let Some(line) = provenance_line(&f.provenance) {
        text.push_str(&format!("\n\n{line}"));
    }
    for rule in rules {
        match rule {
            Rule::RequiredIf {
                field,
                when,
                equals,
                description,
            } if field == &f.name => {
                text.push_str(&format!(
                    "\n\nRequired when {} is {} ({description}); checked by `validate()`.",
                    code(when),
                    code(equals)
                ));
            }
            Rule::RequiredWith {
                field,
                when,
                description,
            } if field == &f.name => {
                text.push_str(&format!(
                    "\n\nRequired when {} is given ({description}); checked by `validate()`.",
                    code(when)
                ));
            }
            Rule::AtLeastOneOf {
                fields,
                description,
            } if fields.contains(&f.name) => {
                let names: Vec<String> = fields.iter().map(|n| code(n)).collect();
                text.push_str(&format!(
                    "\n\nAt least one of {} is required ({description}); checked by `validate()`.",
                    names.join(", ")
                ));
            }
            Rule::ServerSide { field, description } if field == &f.name => {
                text.push_str(&format!(
                    "\n\nChecked by WeChat Pay, not locally: {description}"
                ));
            }
            _ => {}
        }
    }
    doc(&text)
}

/// The named constants for the fields whose values have a rule.
fn rule_consts(obj: &ObjectType) -> TokenStream {
    let consts = obj.fields.iter().filter_map(|f| {
        let name = format_ident!("{}", f.rule_const);
        if f.has_str_rule() {
            let mut parts = Vec::new();
            for (key, value) in [("min", f.min_length), ("max", f.max_length)] {
                if let Some(v) = value {
                    let key = format_ident!("{}", key);
                    let v = proc_macro2::Literal::usize_unsuffixed(v as usize);
                    parts.push(quote!(#key: Some(#v)));
                }
            }
            if f.length_unit == LengthUnit::Bytes {
                parts.push(quote!(unit: rt::LengthUnit::Bytes));
            }
            if let Some(charset) = &f.charset {
                let class = &charset.source;
                let arms = charset.ranges.iter().map(|(lo, hi)| {
                    if lo == hi {
                        quote!(#lo)
                    } else {
                        quote!(#lo..=#hi)
                    }
                });
                parts.push(quote!(charset: Some(rt::Charset {
                    class: #class,
                    contains: |c| matches!(c, #(#arms)|*),
                })));
            }
            // The predicate spells the page's class out; clippy's ascii helpers would hide it.
            let allow = f
                .charset
                .is_some()
                .then(|| quote!(#[allow(clippy::manual_is_ascii_check)]));
            Some(quote! {
                #allow
                const #name: rt::StrRule = rt::StrRule { #(#parts,)* ..rt::StrRule::NONE };
            })
        } else if f.minimum.is_some() || f.maximum.is_some() {
            let opt = |v: Option<i64>| match v {
                Some(v) => {
                    let v = proc_macro2::Literal::i64_unsuffixed(v);
                    quote!(Some(#v))
                }
                None => quote!(None),
            };
            let (min, max) = (opt(f.minimum), opt(f.maximum));
            Some(quote!(const #name: rt::IntRule = rt::IntRule { min: #min, max: #max };))
        } else {
            None
        }
    });
    quote!(#(#consts)*)
}

/// The field's value rule: its constant, or the rule-free default.
fn rule_ref(f: &Field, ty: &FieldType) -> TokenStream {
    let name = format_ident!("{}", f.rule_const);
    match ty {
        FieldType::String if f.has_str_rule() => quote!(#name),
        FieldType::String => quote!(rt::StrRule::NONE),
        FieldType::Integer if f.minimum.is_some() || f.maximum.is_some() => quote!(#name),
        _ => quote!(rt::IntRule::NONE),
    }
}

fn opt_str(value: &Option<String>) -> TokenStream {
    match value {
        Some(v) => quote!(Some(#v)),
        None => quote!(None),
    }
}

fn opt_usize(value: Option<u32>) -> TokenStream {
    match value {
        Some(v) => {
            let v = proc_macro2::Literal::usize_unsuffixed(v as usize);
            quote!(Some(#v))
        }
        None => quote!(None),
    }
}

pub fn provenance_tokens(p: &Provenance) -> TokenStream {
    if p.is_empty() {
        return quote!(rt::Provenance::PAGE);
    }
    let (source, limit, uncertain, decision) = (
        opt_str(&p.source),
        opt_str(&p.limit_source),
        opt_str(&p.uncertain),
        opt_str(&p.decision),
    );
    quote!(rt::Provenance { source: #source, limit_source: #limit, uncertain: #uncertain, decision: #decision })
}

fn ty_tokens(f: &Field, ty: &FieldType) -> TokenStream {
    match ty {
        FieldType::String => {
            let rule = rule_ref(f, ty);
            quote!(rt::Ty::String(#rule))
        }
        FieldType::Integer => {
            let rule = rule_ref(f, ty);
            quote!(rt::Ty::Integer(#rule))
        }
        FieldType::Boolean => quote!(rt::Ty::Boolean),
        FieldType::DateTime => quote!(rt::Ty::DateTime),
        FieldType::Enum(name) => {
            let t = ident(name);
            quote!(rt::Ty::Enum { name: #name, values: <super::#t as rt::WireEnum>::KNOWN_VALUES })
        }
        FieldType::Object(name) => {
            let t = ident(name);
            quote!(rt::Ty::Object(<super::#t as rt::Described>::TYPE_INFO))
        }
        FieldType::Array(inner) => {
            let item = ty_tokens(f, inner);
            let (min, max) = if matches!(**inner, FieldType::Array(_)) {
                (quote!(None), quote!(None))
            } else {
                (opt_usize(f.min_items), opt_usize(f.max_items))
            };
            quote!(rt::Ty::Array { item: &#item, min_items: #min, max_items: #max })
        }
    }
}

/// A `FieldInfo` row spelling out only what differs from `FieldInfo::DEFAULT`.
fn field_info(f: &Field) -> TokenStream {
    let name = &f.name;
    let mut parts = vec![quote!(name: #name)];
    if let Some(title) = &f.title {
        parts.push(quote!(title: Some(#title)));
    }
    let default_ty = f.ty == FieldType::String && !f.has_str_rule();
    if !default_ty {
        let ty = ty_tokens(f, &f.ty);
        parts.push(quote!(ty: #ty));
    }
    if f.required {
        parts.push(quote!(required: true));
    }
    match f.location {
        Location::Body => {}
        Location::Path => parts.push(quote!(location: rt::Location::Path)),
        Location::Query => parts.push(quote!(location: rt::Location::Query)),
    }
    let description = &f.description;
    parts.push(quote!(description: #description));
    if !f.provenance.is_empty() {
        let p = provenance_tokens(&f.provenance);
        parts.push(quote!(provenance: #p));
    }
    quote!(rt::FieldInfo { #(#parts,)* ..rt::FieldInfo::DEFAULT })
}

fn rule_info(rule: &Rule) -> TokenStream {
    match rule {
        Rule::RequiredIf {
            field,
            when,
            equals,
            ..
        } => {
            quote!(rt::RuleInfo::RequiredIf { field: #field, when: #when, equals: #equals })
        }
        Rule::RequiredWith { field, when, .. } => {
            quote!(rt::RuleInfo::RequiredWith { field: #field, when: #when })
        }
        Rule::AtLeastOneOf { fields, .. } => {
            quote!(rt::RuleInfo::AtLeastOneOf { fields: &[#(#fields),*] })
        }
        Rule::ServerSide { field, description } => {
            quote!(rt::RuleInfo::ServerSide { field: #field, description: #description })
        }
    }
}

fn object(obj: &ObjectType, schema: &Schema) -> TokenStream {
    let name = ident(&obj.name);
    let mut type_text = format!(
        "{}\n\n{}",
        obj.description,
        origin("type", &obj.name, &obj.file, schema)
    );
    if let Some(line) = provenance_line(&obj.provenance) {
        type_text.push_str(&format!("\n\n{line}"));
    }
    let type_doc = doc(&type_text);
    let all_optional = obj.fields.iter().all(|f| !f.required);
    let default_derive = if all_optional {
        quote!(Default,)
    } else {
        quote!()
    };

    let fields = obj.fields.iter().map(|f| {
        let field = ident(&f.ident);
        let ty = rust_type(&f.ty);
        let docs = field_doc(f, &obj.rules);
        let serde_attr = match (f.location, f.required) {
            (Location::Path | Location::Query, _) => quote!(#[serde(default, skip_serializing)]),
            (Location::Body, true) => quote!(),
            (Location::Body, false) => {
                quote!(#[serde(default, skip_serializing_if = "Option::is_none")])
            }
        };
        let ty = if f.required { ty } else { quote!(Option<#ty>) };
        quote! { #docs #serde_attr pub #field: #ty, }
    });

    let required: Vec<&Field> = obj.fields.iter().filter(|f| f.required).collect();
    let params = required.iter().map(|f| {
        let field = ident(&f.ident);
        match f.ty {
            FieldType::String => quote!(#field: impl Into<String>),
            _ => {
                let ty = rust_type(&f.ty);
                quote!(#field: #ty)
            }
        }
    });
    let inits = obj.fields.iter().map(|f| {
        let field = ident(&f.ident);
        match (f.required, &f.ty) {
            (true, FieldType::String) => quote!(#field: #field.into()),
            (true, _) => quote!(#field),
            (false, _) => quote!(#field: None),
        }
    });
    let setters = obj.fields.iter().filter(|f| !f.required).map(|f| {
        let field = ident(&f.ident);
        let docs = match &f.title {
            Some(title) => doc(&format!("Sets {} ({title}).", code(&f.name))),
            None => doc(&format!("Sets {}.", code(&f.name))),
        };
        match f.ty {
            FieldType::String => quote! {
                #docs
                pub fn #field(mut self, value: impl Into<String>) -> Self { self.#field = Some(value.into()); self }
            },
            _ => {
                let ty = rust_type(&f.ty);
                quote! {
                    #docs
                    pub fn #field(mut self, value: #ty) -> Self { self.#field = Some(value); self }
                }
            }
        }
    });
    let new_doc = doc(&format!(
        "Creates a `{}` from its required fields{}; optional fields start as `None` and are set with the methods named after them.",
        obj.name,
        if required.is_empty() {
            " (it has none)".to_string()
        } else {
            format!(
                " in page order ({})",
                required.iter().map(|f| code(&f.name)).collect::<Vec<_>>().join(", ")
            )
        }
    ));
    let many_args = (required.len() > 7).then(|| quote!(#[allow(clippy::too_many_arguments)]));
    let inherent_validate = obj.is_endpoint_request.then(|| {
        quote! {
            /// Checks every local rule of the schema (required, lengths, charsets,
            /// ranges, documented enum values, conditional rules) and returns all
            /// violations, each with its field path. Nothing is sent by this call.
            pub fn validate(&self) -> Result<(), rt::Violations> {
                rt::Validate::validate(self)
            }
        }
    });
    let validate = obj.in_request.then(|| validate_impl(obj, schema));
    let consts = rule_consts(obj);
    let infos = obj.fields.iter().map(field_info);
    let rules = obj.rules.iter().map(rule_info);
    let (type_name, description) = (&obj.name, &obj.description);
    let provenance = provenance_tokens(&obj.provenance);

    quote! {
        use serde::{Deserialize, Serialize};
        use wechatpay_runtime as rt;

        #type_doc
        #[derive(Debug, Clone, PartialEq, Eq, #default_derive Serialize, Deserialize)]
        #[non_exhaustive]
        pub struct #name {
            #(#fields)*
        }

        impl #name {
            #new_doc
            #many_args
            pub fn new(#(#params),*) -> Self {
                Self { #(#inits),* }
            }
            #(#setters)*
            #inherent_validate
        }

        #consts

        impl rt::Described for #name {
            const TYPE_INFO: &'static rt::TypeInfo = &rt::TypeInfo {
                name: #type_name,
                description: #description,
                fields: &[#(#infos),*],
                rules: &[#(#rules),*],
                provenance: #provenance,
            };
        }

        #validate
    }
}

/// The checks for one value of type `ty`. `path` is an expression of type `&dyn Fn() -> String`
/// (the path is built only when a rule is broken), `path_string` the same path as a `String`.
fn value_checks(
    f: &Field,
    ty: &FieldType,
    value: TokenStream,
    (path, path_string): (TokenStream, TokenStream),
    required: bool,
) -> TokenStream {
    match ty {
        FieldType::String => {
            let rule = rule_ref(f, ty);
            quote!(rt::validation::check_str(out, #path, #value, #required, &#rule);)
        }
        FieldType::Integer if f.minimum.is_some() || f.maximum.is_some() => {
            let rule = rule_ref(f, ty);
            quote!(rt::validation::check_int(out, #path, #value, &#rule);)
        }
        FieldType::Enum(_) => quote!(rt::validation::check_enum(out, #path, #value);),
        FieldType::Object(_) => quote!(rt::Validate::validate_into(#value, &#path_string, out);),
        FieldType::Array(inner) => {
            let items = (f.min_items.is_some() || f.max_items.is_some()).then(|| {
                let (min, max) = (opt_usize(f.min_items), opt_usize(f.max_items));
                quote!(rt::validation::check_items(out, #path, list.len(), #min, #max);)
            });
            let item_path = (quote!(&item_path), quote!(item_path()));
            let inner_checks = value_checks(f, inner, quote!(item), item_path, true);
            let each = (!inner_checks.is_empty()).then(|| {
                quote! {
                    for (i, item) in list.iter().enumerate() {
                        let item_path = || format!("{}[{i}]", #path_string);
                        #inner_checks
                    }
                }
            });
            if items.is_none() && each.is_none() {
                return quote!();
            }
            quote! {
                let list: &Vec<_> = #value;
                #items
                #each
            }
        }
        FieldType::Integer | FieldType::Boolean | FieldType::DateTime => quote!(),
    }
}

fn validate_impl(obj: &ObjectType, schema: &Schema) -> TokenStream {
    let name = ident(&obj.name);
    let field_of = |wire: &str| obj.fields.iter().find(|f| f.name == wire);
    let checks = obj.fields.iter().map(|f| {
        let field = ident(&f.ident);
        let wire = &f.name;
        let path_string = quote!(rt::validation::join(prefix, #wire));
        let path = (quote!(&|| #path_string), path_string);
        if f.required {
            value_checks(f, &f.ty, quote!(&self.#field), path, true)
        } else {
            let inner = value_checks(f, &f.ty, quote!(value), path, false);
            if inner.is_empty() {
                quote!()
            } else {
                quote!(if let Some(value) = &self.#field { #inner })
            }
        }
    });
    // Whether a field is absent (an empty string counts as absent).
    let missing = |f: &Field| {
        let field = ident(&f.ident);
        match (f.required, &f.ty) {
            (true, FieldType::String) => quote!(self.#field.is_empty()),
            (true, FieldType::Array(_)) => quote!(self.#field.is_empty()),
            (true, _) => quote!(false),
            (false, FieldType::String) => quote!(self.#field.as_deref().is_none_or(str::is_empty)),
            (false, _) => quote!(self.#field.is_none()),
        }
    };
    let conditionals = obj.rules.iter().filter_map(|rule| match rule {
        Rule::RequiredIf { field, when, equals, .. } => {
            let (target, when_field) = (field_of(field)?, field_of(when)?);
            let w = ident(&when_field.ident);
            let condition = match (&when_field.ty, when_field.required) {
                (FieldType::Enum(e), true) => {
                    let (e, v) = (ident(e), ident(&enum_variant(schema, e, equals)));
                    quote!(self.#w == super::#e::#v)
                }
                (FieldType::Enum(e), false) => {
                    let (e, v) = (ident(e), ident(&enum_variant(schema, e, equals)));
                    quote!(self.#w == Some(super::#e::#v))
                }
                (FieldType::Array(inner), required) => {
                    let FieldType::Enum(e) = &**inner else { return None };
                    let (e, v) = (ident(e), ident(&enum_variant(schema, e, equals)));
                    if required {
                        quote!(self.#w.contains(&super::#e::#v))
                    } else {
                        quote!(self.#w.as_ref().is_some_and(|list| list.contains(&super::#e::#v)))
                    }
                }
                (_, true) => quote!(self.#w == #equals),
                (_, false) => quote!(self.#w.as_deref() == Some(#equals)),
            };
            let missing = missing(target);
            Some(quote! {
                if #condition && #missing {
                    rt::validation::conditional(out, prefix, #field, rt::Rule::RequiredIf { other: #when, equals: #equals });
                }
            })
        }
        Rule::RequiredWith { field, when, .. } => {
            let (target, when_field) = (field_of(field)?, field_of(when)?);
            let w = ident(&when_field.ident);
            let present = match (when_field.required, &when_field.ty) {
                (true, FieldType::String | FieldType::Array(_)) => quote!(!self.#w.is_empty()),
                (true, _) => quote!(true),
                (false, FieldType::String) => {
                    quote!(self.#w.as_deref().is_some_and(|v| !v.is_empty()))
                }
                (false, _) => quote!(self.#w.is_some()),
            };
            let missing = missing(target);
            Some(quote! {
                if #present && #missing {
                    rt::validation::conditional(out, prefix, #field, rt::Rule::RequiredWith { other: #when });
                }
            })
        }
        Rule::AtLeastOneOf { fields, .. } => {
            let all_missing = fields.iter().filter_map(|n| field_of(n)).map(missing);
            let first = &fields[0];
            Some(quote! {
                if #(#all_missing)&&* {
                    rt::validation::conditional(out, prefix, #first, rt::Rule::AtLeastOneOf { fields: &[#(#fields),*] });
                }
            })
        }
        Rule::ServerSide { .. } => None,
    });
    quote! {
        impl rt::Validate for #name {
            #[allow(unused_variables)]
            fn validate_into(&self, prefix: &str, out: &mut Vec<rt::Violation>) {
                #(#checks)*
                #(#conditionals)*
            }
        }
    }
}

fn enum_variant(schema: &Schema, enum_name: &str, value: &str) -> String {
    match schema.types.get(enum_name) {
        Some(TypeDef::Enum(e)) => e
            .values
            .iter()
            .find(|v| v.value == value)
            .map(|v| v.variant.clone())
            .unwrap_or_default(),
        _ => String::new(),
    }
}

fn enumeration(e: &EnumType, schema: &Schema) -> TokenStream {
    let name = ident(&e.name);
    let mut type_text = format!(
        "{}\n\n{}\n\nValues WeChat Pay adds later decode into `Unknown`, which keeps the raw string and serializes back unchanged.",
        e.description,
        origin("enum", &e.name, &e.file, schema)
    );
    if let Some(line) = provenance_line(&e.provenance) {
        type_text.push_str(&format!("\n\n{line}"));
    }
    let type_doc = doc(&type_text);
    let variants = e.values.iter().map(|v| {
        let variant = ident(&v.variant);
        let mut text = format!("{}: {}", code(&v.value), v.meaning);
        if let Some(line) = provenance_line(&v.provenance) {
            text.push_str(&format!(" ({line})"));
        }
        let docs = doc(&text);
        quote!(#docs #variant,)
    });
    let from_arms = e.values.iter().map(|v| {
        let (variant, value) = (ident(&v.variant), &v.value);
        quote!(#value => Self::#variant,)
    });
    let as_arms = e.values.iter().map(|v| {
        let (variant, value) = (ident(&v.variant), &v.value);
        quote!(Self::#variant => #value,)
    });
    let known = e.values.iter().map(|v| &v.value);
    quote! {
        use std::fmt;

        use serde::{Deserialize, Deserializer, Serialize, Serializer};
        use wechatpay_runtime as rt;

        #type_doc
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum #name {
            #(#variants)*
            /// A value this SDK version does not know; kept verbatim.
            Unknown(String),
        }

        impl rt::WireEnum for #name {
            const KNOWN_VALUES: &'static [&'static str] = &[#(#known),*];

            fn from_wire(value: &str) -> Self {
                match value {
                    #(#from_arms)*
                    other => Self::Unknown(other.to_owned()),
                }
            }

            fn as_wire(&self) -> &str {
                match self {
                    #(#as_arms)*
                    Self::Unknown(raw) => raw,
                }
            }
        }

        impl fmt::Display for #name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(rt::WireEnum::as_wire(self))
            }
        }

        impl Serialize for #name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                rt::wire_enum::serialize(self, serializer)
            }
        }

        impl<'de> Deserialize<'de> for #name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                rt::wire_enum::deserialize(deserializer)
            }
        }
    }
}

/// The enum of the notification events, each variant holding its typed payload.
fn events(schema: &Schema) -> TokenStream {
    let name = ident(&schema.event_enum.0);
    let variants = schema.events.iter().map(|e| {
        let (variant, payload) = (ident(&e.variant), ident(&e.payload));
        let mut text = format!("{}: {}", code(&e.event_type), e.summary);
        if let Some(line) = provenance_line(&e.provenance) {
            text.push_str(&format!("\n\n{line}"));
        }
        let docs = doc(&text);
        quote!(#docs #variant(super::#payload),)
    });
    let decode_arms = schema.events.iter().map(|e| {
        let (variant, payload, event_type) = (ident(&e.variant), ident(&e.payload), &e.event_type);
        quote!(#event_type => Some(<super::#payload as serde::Deserialize>::deserialize(payload).map(Self::#variant)),)
    });
    let type_arms = schema.events.iter().map(|e| {
        let (variant, event_type) = (ident(&e.variant), &e.event_type);
        quote!(Self::#variant(_) => #event_type,)
    });
    let known = schema.events.iter().map(|e| &e.event_type);
    let type_doc = doc(
        "The product-coupon notification events (`schema/notifications.yaml`), each with its \
         decrypted payload. Event types WeChat Pay adds later decode into `Unknown`, which keeps \
         the type and the decrypted JSON text.",
    );
    quote! {
        use wechatpay_runtime as rt;

        #type_doc
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum #name {
            #(#variants)*
            /// An event type this SDK does not know; kept raw.
            Unknown {
                event_type: String,
                /// The decrypted resource, as JSON text.
                plaintext: String,
            },
        }

        impl rt::Event for #name {
            const EVENT_TYPES: &'static [&'static str] = &[#(#known),*];

            fn decode<'de, D: serde::Deserializer<'de>>(
                event_type: &str,
                payload: D,
            ) -> Option<Result<Self, D::Error>> {
                match event_type {
                    #(#decode_arms)*
                    _ => None,
                }
            }

            fn unknown(event_type: String, plaintext: String) -> Self {
                Self::Unknown { event_type, plaintext }
            }

            fn event_type(&self) -> &str {
                match self {
                    #(#type_arms)*
                    Self::Unknown { event_type, .. } => event_type,
                }
            }
        }
    }
}
