//! The Rust name of every schema name, decided here once, and the rules a
//! schema name must follow to have one.

use heck::{ToSnakeCase, ToUpperCamelCase};

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

/// `UpperCamelCase` ASCII: a type or operation name.
pub fn is_type_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && name.chars().all(|c| c.is_ascii_alphanumeric())
}

/// A snake_case wire name that can also be a Rust field (`self`, `super`,
/// `crate` and `_` cannot be, even as raw identifiers).
pub fn is_wire_name(name: &str) -> bool {
    !matches!(name, "self" | "super" | "crate" | "_")
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The Rust field and setter name: the wire name, raw (`r#type`) when it is a keyword.
pub fn field_ident(wire: &str) -> String {
    if KEYWORDS.contains(&wire) {
        format!("r#{wire}")
    } else {
        wire.to_owned()
    }
}

/// `PROGRESSIVE_BUNDLE` → `ProgressiveBundle`; `PRODUCT_COUPON.SEND` → `ProductCouponSend`.
pub fn variant(value: &str) -> String {
    value.replace('.', "_").to_upper_camel_case()
}

/// `UserProductCouponEntity` → `user_product_coupon_entity` (module and file names).
pub fn module(name: &str) -> String {
    name.to_snake_case()
}

/// `SendProductCoupon` → `send-product-coupon`.
pub fn operation_id(name: &str) -> String {
    heck::ToKebabCase::to_kebab_case(name)
}

/// The module of an operation in the endpoints crate: who calls it, by its auth scheme
/// (a brand signs `WECHATPAY-BRAND-SHA256-RSA2048`, a merchant `WECHATPAY2-SHA256-RSA2048`).
pub fn caller_module(auth: crate::schema::model::Auth) -> &'static str {
    match auth {
        crate::schema::model::Auth::Brand => "brand",
        crate::schema::model::Auth::Merchant => "merchant",
        crate::schema::model::Auth::Partner => "partner",
    }
}

/// `SendProductCoupon` → `SendProductCouponErrorCode`.
pub fn error_enum(operation: &str) -> String {
    format!("{operation}ErrorCode")
}

/// The constant of a shared error row (`api.yaml`), named by what the row means,
/// never by its position, so that adding or reordering rows renames nothing:
///
/// - a row without `key:` is named by its code alone (`PARAM_ERROR`);
/// - a row with `key: page_size_out_of_range` is `PARAM_ERROR_PAGE_SIZE_OUT_OF_RANGE`
///   (code, then the key upper-cased).
///
/// A code the shared tables hold more than once needs a key on every row but one
/// (usually the generic common row), so each name is unique; `resolve` reports a
/// repeat without a key, a key that is not snake_case ASCII, and a name taken twice.
pub fn common_error_const(code: &str, key: Option<&str>) -> String {
    match key {
        Some(key) => format!("{code}_{}", key.to_uppercase()),
        None => code.to_owned(),
    }
}

/// Whether `key` can name an error row: snake_case ASCII, starting with a letter.
pub fn is_error_key(key: &str) -> bool {
    key.starts_with(|c: char| c.is_ascii_lowercase())
        && !key.ends_with('_')
        && !key.contains("__")
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// `send_request_no` → `SEND_REQUEST_NO`: the constant holding a field's value rule.
pub fn rule_const(wire: &str) -> String {
    wire.to_uppercase()
}

/// The generated enum of the notification events and its module.
pub fn event_enum() -> (String, String) {
    (
        "ProductCouponEvent".to_owned(),
        "product_coupon_event".to_owned(),
    )
}
