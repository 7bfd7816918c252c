//! One type per WeChat Pay product-coupon operation, in the module of who calls it.
//!
//! Each operation is a unit type implementing [`Endpoint`] with its typed
//! error-code enum, in [`brand`] (signed `WECHATPAY-BRAND-SHA256-RSA2048`) or
//! [`merchant`] (signed `WECHATPAY2-SHA256-RSA2048`):
//! `brand::SendUserProductCoupon` and `merchant::SendProductCoupon` are told apart
//! by their module. [`ALL`] lists every operation's schema facts, [`find`] one by
//! its id, [`route`] one by method and path, and [`dispatch`] gives an operation's
//! run-time entry points by its id. Everything under [`generated`] is written by
//! `cargo xtask codegen`. This crate and its runtime depend on serde and serde_json
//! alone: the HTTP client is `wechatpay-transport`.

#![warn(missing_docs)]

// Formatted by prettyplease at generation time; rustfmt would only churn it.
#[rustfmt::skip]
pub mod generated;
mod dispatch;

pub use dispatch::{dispatch, operation_for, AnyRequest, Operation};
pub use generated::*;
pub use wechatpay_runtime::{Endpoint, EndpointInfo, ErrorCode, OperationRequest, Paginated};

/// Finds an operation's schema facts by its kebab-case id.
pub fn find(operation_id: &str) -> Option<&'static EndpointInfo> {
    ALL.iter()
        .copied()
        .find(|info| info.operation_id == operation_id)
}

/// Where a request goes: the operation at a method and path, with its path parameters
/// still percent-encoded. The CLI's `sign` and the sandbox route with it.
#[derive(Debug, Clone)]
pub enum Route<'p> {
    /// The operation, and its path parameters by name.
    Found(&'static EndpointInfo, Vec<(&'static str, &'p str)>),
    /// Operations exist at this path, but none takes this method (the first one is given).
    WrongMethod(&'static EndpointInfo),
    /// No operation has this path.
    NotFound,
}

/// Routes `method` + `path` (without the query); an empty method matches any.
pub fn route<'p>(method: &str, path: &'p str) -> Route<'p> {
    let mut at_path = None;
    for info in ALL {
        if let Some(params) = info.path.match_path(path) {
            if method.is_empty() || info.method.as_str() == method {
                return Route::Found(info, params);
            }
            at_path.get_or_insert(*info);
        }
    }
    at_path.map_or(Route::NotFound, Route::WrongMethod)
}
