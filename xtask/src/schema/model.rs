//! The validated schema (the IR): references resolved, rules checked, and every
//! Rust name decided. This is the only input of the emitters; they never see
//! YAML and never derive a name themselves.

use std::collections::BTreeMap;

pub use super::raw::{Event as RawEvent, Source};

#[derive(Debug, Clone)]
pub struct Schema {
    /// The common error rows (api.yaml), each with its constant's name.
    pub common_errors: Vec<ErrorRow>,
    /// In file-name order.
    pub endpoints: Vec<Endpoint>,
    /// Every type by name (deterministic order).
    pub types: BTreeMap<String, TypeDef>,
    /// The notification events, when the schema has `notifications.yaml`.
    pub events: Vec<Event>,
    /// The generated enum of the events (`ProductCouponEvent`) and its module.
    pub event_enum: (String, String),
    /// Where each schema file came from, by file label (for generated docs).
    pub sources: BTreeMap<String, Source>,
}

/// The runtime's own enums: the IR and the generated metadata speak one vocabulary.
pub use wechatpay_runtime::{AuthScheme as Auth, BodyKind, ErrorScope, Location, Method};

/// One error table row, with the variant of the operation's error enum it maps to.
#[derive(Debug, Clone)]
pub struct ErrorRow {
    pub status: u16,
    pub code: String,
    pub description: String,
    pub solution: String,
    pub scope: ErrorScope,
    /// Provenance of a row the page does not print.
    pub source: Option<String>,
    /// `ParamError` for `PARAM_ERROR`.
    pub variant: String,
    /// For a common row (api.yaml), the name of its one generated constant.
    pub common: Option<String>,
    /// A shared row's `key:` (what its code means here), carried into `ErrorDoc::key`.
    pub key: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RequestNumber {
    pub field: String,
    pub unique_within: Vec<String>,
}

/// A declared follow-up, every name checked against the operations and types it names.
#[derive(Debug, Clone)]
pub struct FollowUp {
    /// The follow-up operation's id.
    pub operation: String,
    pub items: Option<String>,
    pub while_field: String,
    pub while_equals: String,
    /// The status operation's id.
    pub status: String,
    pub done_field: String,
    pub fields: Vec<(String, ValueFrom)>,
    pub number_from: Vec<String>,
    pub source: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueFrom {
    Request(String),
    Result(String),
    Payload(String),
    Setting(String),
}

#[derive(Debug, Clone)]
pub struct Pagination {
    pub page_size: String,
    pub page_token: String,
    pub next_page_token: String,
    pub items: String,
    /// The Rust type of one item (`StockEntity`), for the page stream.
    pub item_type: String,
}

#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `SendProductCoupon`: the operation name and the Rust type of the endpoint.
    pub name: String,
    /// `send-product-coupon`.
    pub id: String,
    /// `send_product_coupon`: the generated module.
    pub module: String,
    /// `brand`, `merchant` or `partner`: the module of the operations its caller calls, decided by
    /// the auth scheme (`wechatpay_endpoints::brand::SendUserProductCoupon`).
    pub caller: String,
    /// `SendProductCouponErrorCode`.
    pub error_enum: String,
    /// The schema file it came from, for generated docs.
    pub file: String,
    pub source: Source,
    pub method: Method,
    pub path: String,
    /// Placeholders of `path`, in order, with the Rust ident of each request field.
    pub path_params: Vec<(String, String)>,
    pub auth: Auth,
    /// The request field naming the brand a partner operation acts for.
    pub brand_field: Option<String>,
    /// The id of the brand operation a partner twin doubles.
    pub twin_of: Option<String>,
    pub body: BodyKind,
    pub rate_limit: Option<String>,
    pub rate_limit_source: Option<String>,
    /// Requests per second, when the limit is written per second.
    pub rate_per_second: Option<u32>,
    pub request_number: Option<RequestNumber>,
    pub pagination: Option<Pagination>,
    pub follow_up: Option<FollowUp>,
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
    /// Path and query parameters in the page's order.
    pub path: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
    /// Empty for a request without a body.
    pub body: String,
    pub source: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Event {
    pub event_type: String,
    pub summary: String,
    pub payload: String,
    /// `ProductCouponSend` for `PRODUCT_COUPON.SEND`.
    pub variant: String,
    pub provenance: Provenance,
    pub follow_up: Option<FollowUp>,
}

#[derive(Debug, Clone)]
pub enum TypeDef {
    Object(ObjectType),
    Enum(EnumType),
}

impl TypeDef {
    pub fn file(&self) -> &str {
        match self {
            TypeDef::Object(o) => &o.file,
            TypeDef::Enum(e) => &e.file,
        }
    }
}

/// Where a fact comes from and how sure it is (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    pub source: Option<String>,
    pub limit_source: Option<String>,
    pub uncertain: Option<String>,
    pub decision: Option<String>,
}

impl Provenance {
    pub fn is_empty(&self) -> bool {
        *self == Provenance::default()
    }
}

#[derive(Debug, Clone)]
pub struct ObjectType {
    pub name: String,
    /// `user_product_coupon_entity`: the generated module and file.
    pub module: String,
    pub file: String,
    pub description: String,
    pub provenance: Provenance,
    pub fields: Vec<Field>,
    pub rules: Vec<Rule>,
    /// Reachable from an endpoint's request: gets a `Validate` impl.
    pub in_request: bool,
    /// The request type of an endpoint: gets an inherent `validate()`.
    pub is_endpoint_request: bool,
}

/// What a length counts: the runtime's own type, so the generator words it as `validate()` does.
pub use wechatpay_runtime::LengthUnit;

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

    /// The type inside any number of arrays.
    pub fn innermost(&self) -> &FieldType {
        let mut ty = self;
        while let FieldType::Array(inner) = ty {
            ty = inner;
        }
        ty
    }
}

#[derive(Debug, Clone)]
pub struct Field {
    /// The wire name.
    pub name: String,
    /// The Rust field and setter name: the wire name, `r#type` for a keyword.
    pub ident: String,
    pub title: Option<String>,
    pub ty: FieldType,
    pub required: bool,
    pub location: Location,
    pub min_length: Option<u32>,
    pub max_length: Option<u32>,
    pub length_unit: LengthUnit,
    pub charset: Option<Charset>,
    pub minimum: Option<i64>,
    pub maximum: Option<i64>,
    pub min_items: Option<u32>,
    pub max_items: Option<u32>,
    pub description: String,
    pub example: Option<String>,
    pub provenance: Provenance,
    /// `SEND_REQUEST_NO`: the generated constant of the field's value rule.
    pub rule_const: String,
}

impl Field {
    /// Whether the field's string values have a rule beyond "no control characters".
    pub fn has_str_rule(&self) -> bool {
        *self.ty.innermost() == FieldType::String
            && (self.min_length.is_some()
                || self.location == Location::Path
                || self.max_length.is_some()
                || self.charset.is_some()
                || self.length_unit == LengthUnit::Bytes)
    }
}

/// A conditional rule between fields of one type.
#[derive(Debug, Clone)]
pub enum Rule {
    /// `field` is required when `when` is (or, for an enum list, contains) `equals`.
    RequiredIf {
        field: String,
        when: String,
        equals: String,
        /// The enum variant of `equals` when `when` is an enum (or a list of one).
        equals_variant: Option<String>,
        description: String,
    },
    /// `field` is required when `when` is present.
    RequiredWith {
        field: String,
        when: String,
        description: String,
    },
    /// At least one of `fields` is present.
    AtLeastOneOf {
        fields: Vec<String>,
        description: String,
    },
    /// Exactly one of `fields` is present.
    ExactlyOneOf {
        fields: Vec<String>,
        description: String,
    },
    /// Documented on the field, not enforced.
    ServerSide { field: String, description: String },
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
    pub module: String,
    pub file: String,
    pub description: String,
    pub provenance: Provenance,
    pub values: Vec<EnumValue>,
}

#[derive(Debug, Clone)]
pub struct EnumValue {
    pub value: String,
    /// `ProgressiveBundle` for `PROGRESSIVE_BUNDLE`.
    pub variant: String,
    pub meaning: String,
    pub provenance: Provenance,
}
