//! The serde-only runtime under the generated WeChat Pay product-coupon crates.
//!
//! `wechatpay-models` (generated types) and `wechatpay-endpoints` (one type per
//! operation) are built on this crate, and so is the HTTP client in
//! `wechatpay-transport`, which re-exports it. It holds what the generated code
//! leans on and what tools read at run time:
//!
//! - [`meta`]: the [`Endpoint`] trait and the schema facts as static data
//!   ([`EndpointInfo`], [`TypeInfo`], [`FieldInfo`] with the same rules `validate()` checks);
//! - [`validation`]: [`Validate`] and the checks behind it;
//! - [`DateTime`] (RFC 3339 values that print back exactly as received) and
//!   [`WireEnum`] (forward-compatible string enums);
//! - [`path`]: one [`PathTemplate`] for filling and matching paths, and query strings;
//! - [`retry`] and [`hosts`]: the retry classification and the API hosts, once each;
//! - with the `json` feature, [`json`]: a JSON body checked against an operation's schema.

#![warn(missing_docs)]

pub mod datetime;
pub mod hosts;
#[cfg(feature = "json")]
pub mod json;
pub mod meta;
pub mod path;
pub mod retry;
pub mod validation;
pub mod wire_enum;

pub use datetime::{DateTime, DateTimeError};
pub use meta::{
    AuthScheme, BodyKind, Described, Endpoint, EndpointInfo, ErrorCode, ErrorDoc, ErrorScope,
    Event, Example, FieldInfo, FollowUp, FollowUpField, HeaderInfo, Location, Method,
    OperationRequest, Paginated, Pagination, Provenance, RequestNumber, RuleInfo, Ty, TypeInfo,
    ValueFrom,
};
pub use path::{PathTemplate, QueryString};
pub use validation::{
    Charset, IntRule, LengthUnit, Rule, StrRule, Validate, Violation, Violations,
};
pub use wire_enum::WireEnum;
