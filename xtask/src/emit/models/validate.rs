//! `Validate` for the types a request reaches: each field's rule constant, then the
//! conditional rules.

use proc_macro2::TokenStream;
use quote::quote;

use super::super::ident;
use crate::schema::model::*;

use super::object::{opt_usize, rule_ref};

/// The checks for one value of type `ty`. `path` is an expression of type `&dyn Fn() -> String`
/// (the path is built only when a rule is broken), `path_string` the same path as a `String`.
pub(super) fn value_checks(
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
            // The item-count rule is the outer list's; inner lists of a nested array have none.
            let item_field = Field {
                min_items: None,
                max_items: None,
                ..f.clone()
            };
            let inner_checks = value_checks(&item_field, inner, quote!(item), item_path, true);
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

pub(super) fn validate_impl(obj: &ObjectType) -> TokenStream {
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
    // Conditional rules name optional fields only (the loader refuses required ones); an
    // empty string or an empty list counts as absent.
    let missing = |f: &Field| {
        let field = ident(&f.ident);
        match &f.ty {
            FieldType::String => quote!(self.#field.as_deref().is_none_or(str::is_empty)),
            FieldType::Array(_) => quote!(self.#field.as_ref().is_none_or(Vec::is_empty)),
            _ => quote!(self.#field.is_none()),
        }
    };
    let conditionals = obj.rules.iter().filter_map(|rule| match rule {
        Rule::RequiredIf {
            field,
            when,
            equals,
            equals_variant,
            ..
        } => {
            let (target, when_field) = (field_of(field)?, field_of(when)?);
            let w = ident(&when_field.ident);
            let condition = match (&when_field.ty, when_field.required) {
                (FieldType::Enum(e), true) => {
                    let (e, v) = (ident(e), ident(equals_variant.as_deref()?));
                    quote!(self.#w == super::#e::#v)
                }
                (FieldType::Enum(e), false) => {
                    let (e, v) = (ident(e), ident(equals_variant.as_deref()?));
                    quote!(self.#w == Some(super::#e::#v))
                }
                (FieldType::Array(inner), required) => {
                    let FieldType::Enum(e) = &**inner else { return None };
                    let (e, v) = (ident(e), ident(equals_variant.as_deref()?));
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
                (false, FieldType::Array(_)) => {
                    quote!(self.#w.as_ref().is_some_and(|list| !list.is_empty()))
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
        Rule::ExactlyOneOf { fields, .. } => {
            // Conditional rules name optional fields only; empty counts as absent.
            let present = fields.iter().filter_map(|n| field_of(n)).map(|f| {
                let field = ident(&f.ident);
                match &f.ty {
                    FieldType::String => {
                        quote!(usize::from(self.#field.as_deref().is_some_and(|v| !v.is_empty())))
                    }
                    FieldType::Array(_) => {
                        quote!(usize::from(self.#field.as_ref().is_some_and(|list| !list.is_empty())))
                    }
                    _ => quote!(usize::from(self.#field.is_some())),
                }
            });
            let first = &fields[0];
            Some(quote! {
                {
                    let present = #(#present)+*;
                    if present != 1 {
                        rt::validation::conditional(out, prefix, #first, rt::Rule::ExactlyOneOf { fields: &[#(#fields),*], present });
                    }
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
