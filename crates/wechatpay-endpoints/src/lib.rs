//! One type per WeChat Pay product-coupon operation.
//!
//! Each operation is a unit type implementing [`Endpoint`] with its typed
//! error-code enum; [`ALL`] lists every operation's schema facts and
//! [`dispatch`] reaches an operation's types from its id. Everything under
//! [`generated`] is written by `cargo xtask codegen`. This crate and its
//! runtime depend on serde alone: the HTTP client is `wechatpay-transport`.

// Formatted by prettyplease at generation time; rustfmt would only churn it.
#[rustfmt::skip]
pub mod generated;

pub use generated::*;
pub use wechatpay_runtime::{Endpoint, EndpointInfo, EndpointVisitor, ErrorCode};

/// Finds an operation's schema facts by its kebab-case id.
pub fn find(operation_id: &str) -> Option<&'static EndpointInfo> {
    ALL.iter()
        .copied()
        .find(|info| info.operation_id == operation_id)
}

/// The operation whose path template matches `path` (without the query), with its
/// path parameters still percent-encoded; the CLI's `sign` and the sandbox route with it.
pub fn route(path: &str) -> Option<(&'static EndpointInfo, Vec<(&'static str, &str)>)> {
    ALL.iter()
        .find_map(|info| info.path.match_path(path).map(|params| (*info, params)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_paths_to_operations() {
        let (info, params) = route("/brand/marketing/product-coupon/users/o%2F1/coupons").unwrap();
        assert_eq!(info.operation_id, "send-user-product-coupon");
        assert_eq!(params, [("openid", "o%2F1")]);
        let (info, params) = route("/v3/marketing/busifavor/product-coupons/send").unwrap();
        assert_eq!(info.operation_id, "send-product-coupon");
        assert!(params.is_empty());
        assert!(route("/brand/marketing/product-coupon/users//coupons").is_none());
        assert!(route("/v3/marketing/busifavor/product-coupons/send/x").is_none());
    }
}
