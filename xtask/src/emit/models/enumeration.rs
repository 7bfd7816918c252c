//! A forward-compatible string enum (`Unknown(String)` keeps values added later).

use proc_macro2::TokenStream;
use quote::quote;

use super::super::docs::{code, doc, provenance_line};
use super::super::ident;
use crate::schema::model::*;

pub(super) fn enumeration(e: &EnumType) -> TokenStream {
    let name = ident(&e.name);
    let mut type_text = format!(
        "{}\n\nValues WeChat Pay adds later decode into `Unknown`, which keeps the raw string and serializes back unchanged.",
        e.description,
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
