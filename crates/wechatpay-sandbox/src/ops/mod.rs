//! What each operation does to the state: one typed handler per operation
//! of `wechatpay_endpoints::ALL`, reached by operation id.
//!
//! A handler gets the operation's typed request (already authenticated,
//! validated against the schema and decoded, once, by `validate`) and returns
//! its typed response, so every
//! success body is the schema's response type by construction. It runs
//! inside the request's transaction: an error rolls back everything it did.

mod budget;
mod codes;
mod config;
mod issue;
mod merchant;
mod pre_send;
mod product_coupons;
mod stock_bundles;
mod stocks;
mod stores;
mod user_bundles;
mod user_coupons;

use serde::Serialize;
use wechatpay_endpoints::{self as ep, AnyRequest};
use wechatpay_runtime::{Endpoint, EndpointInfo};

use crate::replies::Rejection;

pub use crate::ctx::Ctx;

/// An operation the sandbox serves.
pub trait Operation: Endpoint
where
    Self::Response: Serialize,
{
    /// Acts on the state and answers.
    fn run(ctx: &mut Ctx<'_>, request: Self::Request) -> Result<Self::Response, Rejection>;
}

type Run = fn(&mut Ctx<'_>, AnyRequest) -> Result<Vec<u8>, Rejection>;

fn run<E: Operation>(ctx: &mut Ctx<'_>, request: AnyRequest) -> Result<Vec<u8>, Rejection>
where
    E::Request: 'static,
    E::Response: Serialize,
{
    // `validate` decoded it by the same operation id: another type is a sandbox bug.
    let request = request.downcast::<E::Request>().map_err(|_| {
        Rejection::internal(format!(
            "{}: the decoded request is not a {}",
            E::INFO.operation_id,
            E::INFO.request.name
        ))
    })?;
    let response = E::run(ctx, *request)?;
    Ok(serde_json::to_vec(&response)?)
}

macro_rules! handlers {
    ($($endpoint:ty),* $(,)?) => {
        &[$((<$endpoint as Endpoint>::INFO, run::<$endpoint> as Run)),*]
    };
}

/// Every operation's handler.
static HANDLERS: &[(&EndpointInfo, Run)] = handlers![
    ep::brand::AssociateStores,
    ep::brand::AssociateStoresForStockBundle,
    ep::brand::ConfirmSendUserProductCoupon,
    ep::brand::CreateProductCoupon,
    ep::brand::CreateStock,
    ep::brand::CreateStockBundle,
    ep::brand::DeactivateProductCoupon,
    ep::brand::DeactivateStock,
    ep::brand::DeactivateUserProductCoupon,
    ep::brand::DeactivateUserProductCouponBundle,
    ep::brand::DisassociateStores,
    ep::brand::DisassociateStoresForStockBundle,
    ep::brand::GetNotifyConfig,
    ep::brand::GetProductCoupon,
    ep::brand::GetStock,
    ep::brand::GetUserProductCoupon,
    ep::brand::ListAssociatedStores,
    ep::brand::ListStocks,
    ep::brand::ListUserProductCoupons,
    ep::brand::PreSendUserProductCoupon,
    ep::brand::PreSendUserProductCouponBundle,
    ep::brand::ReturnUserProductCoupon,
    ep::merchant::SendProductCoupon,
    ep::brand::SendUserProductCoupon,
    ep::brand::SendUserProductCouponBundle,
    ep::brand::SetNotifyConfig,
    ep::brand::UpdateProductCoupon,
    ep::brand::UpdateStock,
    ep::brand::UpdateStockBudget,
    ep::brand::UpdateStockBundle,
    ep::brand::UpdateStockBundleBudget,
    ep::brand::UploadCouponCodes,
    ep::brand::UploadImage,
    ep::brand::UseUserProductCoupon,
];

pub(crate) use pre_send::claim;

/// Runs the operation's handler on its validated, decoded request.
pub fn execute(ctx: &mut Ctx<'_>, request: AnyRequest) -> Result<Vec<u8>, Rejection> {
    let id = ctx.info.operation_id;
    let run = HANDLERS
        .iter()
        .find(|(info, _)| info.operation_id == id)
        .map(|(_, run)| *run)
        .ok_or_else(|| Rejection::internal(format!("no handler for {id}")))?;
    run(ctx, request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_exactly_one_handler() {
        for info in ep::ALL {
            let n = HANDLERS
                .iter()
                .filter(|(h, _)| h.operation_id == info.operation_id)
                .count();
            assert_eq!(n, 1, "{}", info.operation_id);
        }
        assert_eq!(HANDLERS.len(), ep::ALL.len());
    }
}
