//! One type per WeChat Pay product-coupon operation.
//!
//! Each operation is a unit type implementing [`wechatpay_transport::Endpoint`]
//! with its typed error-code enum; [`ALL`] lists every operation's schema facts.
//! Everything under [`generated`] is written by `cargo xtask codegen`.

// Formatted by prettyplease at generation time; rustfmt would only churn it.
#[rustfmt::skip]
pub mod generated;

pub use generated::*;
pub use wechatpay_transport::{Endpoint, EndpointInfo, ErrorCode};

/// Finds an operation's schema facts by its kebab-case id.
pub fn find(operation_id: &str) -> Option<&'static EndpointInfo> {
    ALL.iter()
        .copied()
        .find(|info| info.operation_id == operation_id)
}
