//! Serde types for the WeChat Pay product-coupon (商品券) APIs.
//!
//! Everything under [`generated`] is written by `cargo xtask codegen` from
//! `schema/*.yaml`; the type names are the doc pages' own class names and are
//! re-exported at the crate root. Each type also describes itself
//! ([`Described::TYPE_INFO`]: fields, locations and the rules `validate()`
//! checks). What the generated code leans on ([`DateTime`], [`WireEnum`],
//! [`Validate`]) comes from `wechatpay-runtime`, re-exported here.

#![warn(missing_docs)]

// Formatted by prettyplease at generation time; rustfmt would only churn it.
#[rustfmt::skip]
pub mod generated;

pub use generated::*;
pub use wechatpay_runtime::{datetime, validation, wire_enum};
pub use wechatpay_runtime::{
    DateTime, DateTimeError, Described, Event, FieldInfo, LengthUnit, Rule, TypeInfo, Validate,
    Violation, Violations, WireEnum,
};
