//! An object type: struct, constructor and setters, the rule constants and its `TypeInfo`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::super::docs::{code, doc, provenance_line, sentence};
use super::super::ident;
use crate::schema::model::*;

use super::rust_type;
use super::validate::validate_impl;

/// The field's documented limits, worded as the runtime words them everywhere.
fn limits_text(f: &Field) -> Vec<String> {
    use wechatpay_runtime::validation::range_text;
    [
        range_text(f.min_length, f.max_length, f.length_unit.noun()),
        range_text(f.minimum, f.maximum, ""),
        range_text(f.min_items, f.max_items, "items"),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// A field's rustdoc: its title and description, the rule a caller must meet (required,
/// location, lengths and their unit, charset, ranges), its conditional rules, and a
/// provenance line only when the schema marks the field uncertain or decided. The wire
/// name is spelt out only where the Rust name differs (`r#type`).
fn field_doc(f: &Field, rules: &[Rule]) -> TokenStream {
    let mut text = String::new();
    if let Some(title) = &f.title {
        text.push_str(&format!("【{title}】 "));
    }
    text.push_str(&f.description);
    let mut facts = vec![if f.required { "required" } else { "optional" }.to_owned()];
    if f.ident != f.name {
        facts.push(format!("wire name {}", code(&f.name)));
    }
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
    text.push_str(&format!("\n\n{}.", sentence(&facts.join("; "))));
    if let Some(line) = provenance_line(&f.provenance) {
        text.push_str(&format!("\n\n{line}"));
    }
    use wechatpay_runtime::meta::{
        at_least_one_of_text, exactly_one_of_text, required_if_text, required_with_text,
        server_side_text,
    };
    for rule in rules {
        let (sentence, description, local) = match rule {
            Rule::RequiredIf {
                field,
                when,
                equals,
                description,
                ..
            } if field == &f.name => (
                required_if_text(&code(when), &code(equals)),
                description,
                true,
            ),
            Rule::RequiredWith {
                field,
                when,
                description,
            } if field == &f.name => (required_with_text(&code(when)), description, true),
            Rule::AtLeastOneOf {
                fields,
                description,
            } if fields.contains(&f.name) => {
                let names: Vec<String> = fields.iter().map(|n| code(n)).collect();
                (at_least_one_of_text(&names), description, true)
            }
            Rule::ExactlyOneOf {
                fields,
                description,
            } if fields.contains(&f.name) => {
                let names: Vec<String> = fields.iter().map(|n| code(n)).collect();
                (exactly_one_of_text(&names), description, true)
            }
            Rule::ServerSide { field, description } if field == &f.name => {
                (server_side_text(description), description, false)
            }
            _ => continue,
        };
        let sentence = super::super::docs::sentence(&sentence);
        if local {
            // The rule first, as `validate()` words it; then the schema's own wording
            // of it, which names the condition's source.
            let description = super::super::docs::sentence(description.trim());
            let end = match description.chars().last() {
                Some('.' | '。' | ')' | '）') | None => "",
                Some(c) if c.is_ascii() => ".",
                Some(_) => "。",
            };
            text.push_str(&format!(
                "\n\n{sentence}; checked by `validate()`. {description}{end}"
            ));
        } else {
            text.push_str(&format!("\n\n{sentence}"));
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
            if f.location == Location::Path {
                parts.push(quote!(path_segment: true));
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
pub(super) fn rule_ref(f: &Field, ty: &FieldType) -> TokenStream {
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

pub(super) fn opt_usize(value: Option<u32>) -> TokenStream {
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
    // FieldInfo has 7 fields: with all of them spelt out, `..DEFAULT` would be needless.
    if parts.len() == 7 {
        return quote!(rt::FieldInfo { #(#parts,)* });
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
        Rule::ExactlyOneOf { fields, .. } => {
            quote!(rt::RuleInfo::ExactlyOneOf { fields: &[#(#fields),*] })
        }
        Rule::ServerSide { field, description } => {
            quote!(rt::RuleInfo::ServerSide { field: #field, description: #description })
        }
    }
}

pub(super) fn object(obj: &ObjectType) -> TokenStream {
    let name = ident(&obj.name);
    let mut type_text = obj.description.clone();
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
            // A required enum has no `Default`: it starts as the empty, refused value.
            (Location::Path | Location::Query, true) if matches!(f.ty, FieldType::Enum(_)) => {
                quote!(#[serde(default = "rt::wire_enum::absent", skip_serializing)])
            }
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
    let validate = obj.in_request.then(|| validate_impl(obj));
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
