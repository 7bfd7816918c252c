//! Emits `crates/wechatpay-models/src/generated/**`: one file per schema type.
//!
//! An object type gets its struct, constructor and setters, its `TypeInfo`
//! (fields, locations, rules) and, when a request reaches it, `Validate`. A
//! field's string or integer rule is emitted once, as a constant that both the
//! `TypeInfo` row and `validate()` use.

mod enumeration;
mod events;
mod object;
mod validate;

use proc_macro2::TokenStream;
use quote::quote;

use super::{format, ident, GeneratedFile};
use crate::schema::model::*;
use enumeration::enumeration;
use events::events;
use object::object;

const DIR: &str = "crates/wechatpay-models/src/generated";

pub fn emit(schema: &Schema) -> Result<Vec<GeneratedFile>, String> {
    let mut files = Vec::new();
    let mut mods = Vec::new();
    for def in schema.types.values() {
        let (name, module, file, tokens) = match def {
            TypeDef::Object(obj) => (&obj.name, &obj.module, &obj.file, object(obj)),
            TypeDef::Enum(e) => (&e.name, &e.module, &e.file, enumeration(e)),
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

/// The Rust type of a field, without the `Option` for optional fields.
pub(super) fn rust_type(ty: &FieldType) -> TokenStream {
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
