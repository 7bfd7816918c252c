//! Serde types for the WeChat Pay product-coupon (商品券) APIs.
//!
//! Everything under [`generated`] is written by `cargo xtask codegen` from
//! `schema/*.yaml`; the type names are the doc pages' own class names and are
//! re-exported at the crate root. The small hand-written runtime beside it
//! holds what the generated code leans on: [`DateTime`] (RFC 3339 values that
//! print back exactly as received), [`WireEnum`] (forward-compatible enums)
//! and [`Validate`] (local request checks that report every violation).

pub mod datetime;
// Formatted by prettyplease at generation time; rustfmt would only churn it.
#[rustfmt::skip]
pub mod generated;
pub mod validation;
pub mod wire_enum;

pub use datetime::{DateTime, DateTimeError};
pub use generated::*;
pub use validation::{LengthUnit, Rule, Validate, Violation, Violations};
pub use wire_enum::WireEnum;
