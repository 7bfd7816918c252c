//! Rust names for schema names.

use heck::{ToSnakeCase, ToUpperCamelCase};
use proc_macro2::Ident;
use quote::format_ident;

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "static", "struct", "trait", "true", "type", "unsafe", "use", "where",
    "while", "abstract", "become", "box", "do", "final", "gen", "macro", "override", "priv", "try",
    "typeof", "unsized", "virtual", "yield",
];

/// Whether `word` is a Rust keyword (strict or reserved).
pub fn is_keyword(word: &str) -> bool {
    KEYWORDS.contains(&word) || matches!(word, "self" | "super" | "crate")
}

/// A field or setter name: the wire name, raw (`r#type`) when it is a keyword.
pub fn field_ident(wire: &str) -> Ident {
    if KEYWORDS.contains(&wire) {
        format_ident!("r#{}", wire)
    } else {
        format_ident!("{}", wire)
    }
}

pub fn type_ident(name: &str) -> Ident {
    format_ident!("{}", name)
}

/// `PROGRESSIVE_BUNDLE` → `ProgressiveBundle`.
pub fn variant_ident(value: &str) -> Ident {
    format_ident!("{}", value.to_upper_camel_case())
}

/// `UserProductCouponEntity` → `user_product_coupon_entity` (module and file names).
pub fn module_name(name: &str) -> String {
    name.to_snake_case()
}
