//! The validated schema: references resolved, rules checked, ready to emit.
//!
//! This is the only input of the emitters; they never see YAML.

use std::collections::BTreeMap;

pub use super::raw::{ErrorRow, Hosts, Source};

#[derive(Debug, Clone)]
pub struct Schema {
    pub hosts: Hosts,
    pub common_errors: Vec<ErrorRow>,
    /// In file-name order.
    pub endpoints: Vec<Endpoint>,
    /// Every type by name (deterministic order).
    pub types: BTreeMap<String, TypeDef>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    Merchant,
    Brand,
}

#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `SendProductCoupon`.
    pub name: String,
    /// `send-product-coupon`.
    pub id: String,
    /// The schema file it came from, for generated docs.
    pub file: String,
    pub source: Source,
    pub method: Method,
    pub path: String,
    pub auth: Auth,
    pub rate_limit: Option<String>,
    pub headers: Vec<Header>,
    pub request: String,
    pub response: String,
    /// The page's rows followed by the common rows the page does not repeat.
    pub errors: Vec<ErrorRow>,
    pub request_examples: Vec<Example>,
    pub response_examples: Vec<Example>,
}

#[derive(Debug, Clone)]
pub struct Header {
    pub name: String,
    pub required: bool,
    pub description: String,
}

#[derive(Debug, Clone)]
pub struct Example {
    pub name: String,
    pub status: Option<u16>,
    pub path: BTreeMap<String, String>,
    pub body: String,
}

#[derive(Debug, Clone)]
pub enum TypeDef {
    Object(ObjectType),
    Enum(EnumType),
}

#[derive(Debug, Clone)]
pub struct ObjectType {
    pub name: String,
    pub file: String,
    pub description: String,
    pub fields: Vec<Field>,
    /// Reachable from an endpoint's request: gets a `Validate` impl.
    pub in_request: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Body,
    Path,
    Query,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthUnit {
    Chars,
    Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldType {
    String,
    Integer,
    Boolean,
    DateTime,
    Object(String),
    Enum(String),
    Array(Box<FieldType>),
}

impl FieldType {
    /// The schema spelling: `string`, `array<CouponTagInfo>`.
    pub fn schema_name(&self) -> String {
        match self {
            FieldType::String => "string".into(),
            FieldType::Integer => "integer".into(),
            FieldType::Boolean => "boolean".into(),
            FieldType::DateTime => "datetime".into(),
            FieldType::Object(name) | FieldType::Enum(name) => name.clone(),
            FieldType::Array(inner) => format!("array<{}>", inner.schema_name()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub title: Option<String>,
    pub ty: FieldType,
    pub required: bool,
    pub location: Location,
    pub min_length: Option<u32>,
    pub max_length: Option<u32>,
    pub length_unit: LengthUnit,
    pub charset: Option<Charset>,
    pub description: String,
    pub example: Option<String>,
    /// `required_if` rules targeting this field: (other field, value).
    pub required_if: Vec<RequiredIf>,
    /// `server_side` rules targeting this field: documented, not enforced.
    pub server_side: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct RequiredIf {
    pub when: String,
    pub equals: String,
    /// Whether `when` is an enum field (compare variants) or a string (compare text).
    pub when_is_enum: bool,
    pub when_required: bool,
    pub description: String,
    /// Position in the type's `rules` list, for error paths.
    pub rule_index: usize,
}

/// An allowed-character class such as `A-Za-z0-9|_*-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charset {
    pub source: String,
    pub ranges: Vec<(char, char)>,
}

#[derive(Debug, Clone)]
pub struct EnumType {
    pub name: String,
    pub file: String,
    pub description: String,
    pub values: Vec<EnumValue>,
}

#[derive(Debug, Clone)]
pub struct EnumValue {
    pub value: String,
    pub meaning: String,
}
