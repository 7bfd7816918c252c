//! The enum of the notification events, each variant holding its typed payload.

use proc_macro2::TokenStream;
use quote::quote;

use super::super::docs::{code, doc, provenance_line};
use super::super::ident;
use crate::schema::model::*;

/// The enum of the notification events, each variant holding its typed payload.
pub(super) fn events(schema: &Schema) -> TokenStream {
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
    let follow_up_arms: Vec<_> = schema
        .events
        .iter()
        .filter_map(|e| {
            let event_type = &e.event_type;
            let literal = super::super::follow_up::literal(Some(e.follow_up.as_ref()?));
            Some(quote! {
                #event_type => {
                    static FOLLOW_UP: Option<rt::FollowUp> = #literal;
                    FOLLOW_UP.as_ref()
                }
            })
        })
        .collect();
    let follow_up_fn = if follow_up_arms.is_empty() {
        quote! {
            fn follow_up(_event_type: &str) -> Option<&'static rt::FollowUp> {
                None
            }
        }
    } else {
        quote! {
            fn follow_up(event_type: &str) -> Option<&'static rt::FollowUp> {
                match event_type {
                    #(#follow_up_arms)*
                    _ => None,
                }
            }
        }
    };
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
        // One event is decoded per notification and matched at once: boxing payloads
        // would cost every match a deref for no memory that matters.
        #[allow(clippy::large_enum_variant)]
        pub enum #name {
            #(#variants)*
            /// An event type this SDK does not know; kept raw.
            Unknown {
                /// The notification's `event_type`, as received.
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

            #follow_up_fn
        }
    }
}
