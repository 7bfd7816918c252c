//! A declared follow-up as a `wechatpay_runtime::FollowUp` literal (endpoints and events).

use proc_macro2::TokenStream;
use quote::quote;

use crate::schema::model::{FollowUp, ValueFrom};

/// `Some(rt::FollowUp { … })` or `None`; `rt` must name the runtime crate where it is used.
pub fn literal(follow_up: Option<&FollowUp>) -> TokenStream {
    let Some(f) = follow_up else {
        return quote!(None);
    };
    let (operation, while_field, while_equals, status, done_field) = (
        &f.operation,
        &f.while_field,
        &f.while_equals,
        &f.status,
        &f.done_field,
    );
    let items = match &f.items {
        Some(items) => quote!(Some(#items)),
        None => quote!(None),
    };
    let fields = f.fields.iter().map(|(name, from)| {
        let from = match from {
            ValueFrom::Request(s) => quote!(rt::ValueFrom::Request(#s)),
            ValueFrom::Result(s) => quote!(rt::ValueFrom::Result(#s)),
            ValueFrom::Payload(s) => quote!(rt::ValueFrom::Payload(#s)),
            ValueFrom::Setting(s) => quote!(rt::ValueFrom::Setting(#s)),
        };
        quote!(rt::FollowUpField { name: #name, from: #from })
    });
    let number_from = &f.number_from;
    quote! {
        Some(rt::FollowUp {
            operation_id: #operation,
            items: #items,
            while_field: #while_field,
            while_equals: #while_equals,
            status_operation_id: #status,
            done_field: #done_field,
            fields: &[#(#fields),*],
            number_from: &[#(#number_from),*],
        })
    }
}

/// One sentence for rustdoc: what the result needs and who provides it.
pub fn doc_sentence(f: &FollowUp) -> String {
    format!(
        "Follow-up: while a result's `{}` is `{}`, it is not usable until `{}` is called for it \
         (request number derived from the caller and {}); `{}` tells where it stands.",
        f.while_field,
        f.while_equals,
        f.operation,
        f.number_from
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", "),
        f.status,
    )
}
