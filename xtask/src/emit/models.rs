//! Emits `crates/wechatpay-models/src/generated/**`: one file per schema type.

use std::collections::BTreeMap;

use proc_macro2::TokenStream;
use quote::quote;

use super::docs::{code, doc};
use super::names::{field_ident, module_name, type_ident, variant_ident};
use super::{format, GeneratedFile};
use crate::schema::model::*;

const DIR: &str = "crates/wechatpay-models/src/generated";

pub fn emit(
    schema: &Schema,
    sources: &BTreeMap<String, Source>,
) -> Result<Vec<GeneratedFile>, String> {
    let mut files = Vec::new();
    let mut mods = Vec::new();
    for def in schema.types.values() {
        let (name, file, tokens) = match def {
            TypeDef::Object(obj) => (&obj.name, &obj.file, object(obj, schema, sources)),
            TypeDef::Enum(e) => (&e.name, &e.file, enumeration(e, sources)),
        };
        let module = module_name(name);
        files.push(GeneratedFile {
            path: format!("{DIR}/{module}.rs"),
            contents: format::render(tokens, file)?,
        });
        mods.push((module, name.clone()));
    }
    let decls = mods.iter().map(|(module, name)| {
        let m = quote::format_ident!("{}", module);
        let t = type_ident(name);
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

fn provenance(kind: &str, name: &str, file: &str, sources: &BTreeMap<String, Source>) -> String {
    match sources.get(file) {
        Some(s) => format!(
            "Schema {kind} `{name}` from `{file}` (doc page 《{}》, updated {}).",
            s.title, s.updated
        ),
        None => format!("Schema {kind} `{name}` from `{file}`."),
    }
}

/// The Rust type of a field, without the `Option` for optional fields.
fn rust_type(ty: &FieldType) -> TokenStream {
    match ty {
        FieldType::String => quote!(String),
        FieldType::Integer => quote!(i64),
        FieldType::Boolean => quote!(bool),
        FieldType::DateTime => quote!(crate::DateTime),
        FieldType::Object(name) | FieldType::Enum(name) => {
            let t = type_ident(name);
            quote!(super::#t)
        }
        FieldType::Array(inner) => {
            let inner = rust_type(inner);
            quote!(Vec<#inner>)
        }
    }
}

fn limits_text(f: &Field) -> Option<String> {
    let unit = match f.length_unit {
        LengthUnit::Chars => "characters",
        LengthUnit::Bytes => "bytes",
    };
    match (f.min_length, f.max_length) {
        (Some(min), Some(max)) => Some(format!("{min}–{max} {unit}")),
        (None, Some(max)) => Some(format!("at most {max} {unit}")),
        (Some(min), None) => Some(format!("at least {min} {unit}")),
        (None, None) => None,
    }
}

fn field_doc(f: &Field) -> TokenStream {
    let mut text = String::new();
    if let Some(title) = &f.title {
        text.push_str(&format!("【{title}】 "));
    }
    text.push_str(&f.description);
    let mut facts = vec![
        format!("Wire name {}", code(&f.name)),
        format!("type {}", code(&f.ty.schema_name())),
    ];
    facts.push(if f.required {
        "required".into()
    } else {
        "optional".into()
    });
    match f.location {
        Location::Path => facts.push("path parameter (not in the body)".into()),
        Location::Query => facts.push("query parameter (not in the body)".into()),
        Location::Body => {}
    }
    if let Some(limits) = limits_text(f) {
        facts.push(limits);
    }
    if let Some(charset) = &f.charset {
        facts.push(format!("characters {}", code(&charset.source)));
    }
    if let Some(example) = &f.example {
        facts.push(format!("example {}", code(example)));
    }
    text.push_str(&format!("\n\n{}.", facts.join("; ")));
    for rule in &f.required_if {
        text.push_str(&format!(
            "\n\nRequired when {} is {} ({}); checked by `validate()`.",
            code(&rule.when),
            code(&rule.equals),
            rule.description
        ));
    }
    for note in &f.server_side {
        text.push_str(&format!("\n\nChecked by WeChat Pay, not locally: {note}"));
    }
    doc(&text)
}

fn object(obj: &ObjectType, schema: &Schema, sources: &BTreeMap<String, Source>) -> TokenStream {
    let name = type_ident(&obj.name);
    let type_doc = doc(&format!(
        "{}\n\n{}",
        obj.description,
        provenance("type", &obj.name, &obj.file, sources)
    ));
    let all_optional = obj.fields.iter().all(|f| !f.required);
    let default_derive = if all_optional {
        quote!(Default,)
    } else {
        quote!()
    };

    let fields = obj.fields.iter().map(|f| {
        let ident = field_ident(&f.name);
        let ty = rust_type(&f.ty);
        let docs = field_doc(f);
        let serde_attr = match (f.location, f.required) {
            (Location::Path | Location::Query, _) => quote!(#[serde(default, skip_serializing)]),
            (Location::Body, true) => quote!(),
            (Location::Body, false) => {
                quote!(#[serde(default, skip_serializing_if = "Option::is_none")])
            }
        };
        let ty = if f.required { ty } else { quote!(Option<#ty>) };
        quote! { #docs #serde_attr pub #ident: #ty, }
    });

    let required: Vec<&Field> = obj.fields.iter().filter(|f| f.required).collect();
    let params = required.iter().map(|f| {
        let ident = field_ident(&f.name);
        match f.ty {
            FieldType::String => quote!(#ident: impl Into<String>),
            _ => {
                let ty = rust_type(&f.ty);
                quote!(#ident: #ty)
            }
        }
    });
    let inits = obj.fields.iter().map(|f| {
        let ident = field_ident(&f.name);
        match (f.required, &f.ty) {
            (true, FieldType::String) => quote!(#ident: #ident.into()),
            (true, _) => quote!(#ident),
            (false, _) => quote!(#ident: None),
        }
    });
    let setters = obj.fields.iter().filter(|f| !f.required).map(|f| {
        let ident = field_ident(&f.name);
        let docs = match &f.title {
            Some(title) => doc(&format!("Sets {} ({title}).", code(&f.name))),
            None => doc(&format!("Sets {}.", code(&f.name))),
        };
        match f.ty {
            FieldType::String => quote! {
                #docs
                pub fn #ident(mut self, value: impl Into<String>) -> Self { self.#ident = Some(value.into()); self }
            },
            _ => {
                let ty = rust_type(&f.ty);
                quote! {
                    #docs
                    pub fn #ident(mut self, value: #ty) -> Self { self.#ident = Some(value); self }
                }
            }
        }
    });
    let new_doc = doc(&format!(
        "Creates a `{}` from its required fields{}; optional fields start as `None` and are set with the methods named after them.",
        obj.name,
        if required.is_empty() { " (it has none)".to_string() } else { format!(" in page order ({})", required.iter().map(|f| code(&f.name)).collect::<Vec<_>>().join(", ")) }
    ));
    let many_args = if required.len() > 7 {
        quote!(#[allow(clippy::too_many_arguments)])
    } else {
        quote!()
    };

    let is_endpoint_request = schema.endpoints.iter().any(|e| e.request == obj.name);
    let validate = obj.in_request.then(|| validate_impl(obj));
    let inherent_validate = is_endpoint_request.then(|| {
        quote! {
            /// Checks every local rule of the schema (required, lengths, charsets,
            /// documented enum values, conditional rules) and returns all
            /// violations, each with its field path. Nothing is sent by this call.
            pub fn validate(&self) -> Result<(), crate::Violations> {
                crate::Validate::validate(self)
            }
        }
    });

    quote! {
        use serde::{Deserialize, Serialize};

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

        #validate
    }
}

fn charset_arg(f: &Field) -> TokenStream {
    match &f.charset {
        None => quote!(None),
        Some(charset) => {
            let source = &charset.source;
            let arms = charset.ranges.iter().map(|(lo, hi)| {
                if lo == hi {
                    quote!(#lo)
                } else {
                    quote!(#lo..=#hi)
                }
            });
            quote!(Some((#source, |c: char| matches!(c, #(#arms)|*))))
        }
    }
}

/// `StrRule { max: Some(128), ..StrRule::REQUIRED }`: only what the schema sets.
fn str_rule(f: &Field, required: bool) -> TokenStream {
    let mut parts = Vec::new();
    for (key, value) in [("min", f.min_length), ("max", f.max_length)] {
        if let Some(v) = value {
            let key = quote::format_ident!("{}", key);
            let v = proc_macro2::Literal::usize_unsuffixed(v as usize);
            parts.push(quote!(#key: Some(#v)));
        }
    }
    if f.length_unit == LengthUnit::Bytes {
        parts.push(quote!(unit: crate::LengthUnit::Bytes));
    }
    if f.charset.is_some() {
        let charset = charset_arg(f);
        parts.push(quote!(charset: #charset));
    }
    let base = if required {
        quote!(REQUIRED)
    } else {
        quote!(OPTIONAL)
    };
    if parts.is_empty() {
        quote!(crate::validation::StrRule::#base)
    } else {
        quote!(crate::validation::StrRule { #(#parts,)* ..crate::validation::StrRule::#base })
    }
}

/// The checks for one value of type `ty` at `name` (a `&str` expression).
fn value_checks(
    f: &Field,
    ty: &FieldType,
    value: TokenStream,
    name: TokenStream,
    required: bool,
) -> TokenStream {
    match ty {
        FieldType::String => {
            let rule = str_rule(f, required);
            quote!(crate::validation::check_str(out, prefix, #name, #value, &#rule);)
        }
        FieldType::Enum(_) => quote!(crate::validation::check_enum(out, prefix, #name, #value);),
        FieldType::Object(_) => {
            quote!(crate::Validate::validate_into(#value, &crate::validation::join(prefix, #name), out);)
        }
        FieldType::Array(inner) => {
            let inner_checks = value_checks(f, inner, quote!(item), quote!(&item_name), true);
            quote! {
                for (i, item) in (#value).iter().enumerate() {
                    let item_name = format!("{}[{i}]", #name);
                    #inner_checks
                }
            }
        }
        FieldType::Integer | FieldType::Boolean | FieldType::DateTime => quote!(),
    }
}

fn validate_impl(obj: &ObjectType) -> TokenStream {
    let name = type_ident(&obj.name);
    let checks = obj.fields.iter().map(|f| {
        let ident = field_ident(&f.name);
        let wire = &f.name;
        let base = if f.required {
            value_checks(f, &f.ty, quote!(&self.#ident), quote!(#wire), true)
        } else {
            let inner = value_checks(f, &f.ty, quote!(value), quote!(#wire), false);
            if inner.is_empty() {
                quote!()
            } else {
                quote!(if let Some(value) = &self.#ident { #inner })
            }
        };
        let conditional = f.required_if.iter().map(|rule| {
            let when = field_ident(&rule.when);
            let equals = &rule.equals;
            let when_field = obj.fields.iter().find(|w| w.name == rule.when);
            let condition = match (
                rule.when_is_enum,
                rule.when_required,
                when_field.map(|w| &w.ty),
            ) {
                (true, true, Some(FieldType::Enum(e))) => {
                    let (e, v) = (type_ident(e), variant_ident(equals));
                    quote!(self.#when == super::#e::#v)
                }
                (true, false, Some(FieldType::Enum(e))) => {
                    let (e, v) = (type_ident(e), variant_ident(equals));
                    quote!(self.#when == Some(super::#e::#v))
                }
                (_, true, _) => quote!(self.#when == #equals),
                (_, false, _) => quote!(self.#when.as_deref() == Some(#equals)),
            };
            let missing = if f.ty == FieldType::String {
                quote!(self.#ident.as_deref().is_none_or(str::is_empty))
            } else {
                quote!(self.#ident.is_none())
            };
            let when_wire = &rule.when;
            quote! {
                if #condition && #missing {
                    crate::validation::required_if(out, prefix, #wire, #when_wire, #equals);
                }
            }
        });
        quote! { #base #(#conditional)* }
    });
    quote! {
        impl crate::Validate for #name {
            #[allow(unused_variables)]
            fn validate_into(&self, prefix: &str, out: &mut Vec<crate::Violation>) {
                #(#checks)*
            }
        }
    }
}

fn enumeration(e: &EnumType, sources: &BTreeMap<String, Source>) -> TokenStream {
    let name = type_ident(&e.name);
    let type_doc = doc(&format!(
        "{}\n\n{}\n\nValues WeChat Pay adds later decode into `Unknown`, which keeps the raw string and serializes back unchanged.",
        e.description,
        provenance("enum", &e.name, &e.file, sources)
    ));
    let variants = e.values.iter().map(|v| {
        let ident = variant_ident(&v.value);
        let docs = doc(&format!("{}: {}", code(&v.value), v.meaning));
        quote!(#docs #ident,)
    });
    let from_arms = e.values.iter().map(|v| {
        let ident = variant_ident(&v.value);
        let value = &v.value;
        quote!(#value => Self::#ident,)
    });
    let as_arms = e.values.iter().map(|v| {
        let ident = variant_ident(&v.value);
        let value = &v.value;
        quote!(Self::#ident => #value,)
    });
    let known = e.values.iter().map(|v| &v.value);
    quote! {
        use std::fmt;

        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        use crate::WireEnum;

        #type_doc
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum #name {
            #(#variants)*
            /// A value this SDK version does not know; kept verbatim.
            Unknown(String),
        }

        impl WireEnum for #name {
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
                f.write_str(self.as_wire())
            }
        }

        impl Serialize for #name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                crate::wire_enum::serialize(self, serializer)
            }
        }

        impl<'de> Deserialize<'de> for #name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                crate::wire_enum::deserialize(deserializer)
            }
        }
    }
}
