//! What each operation does to the state: one typed handler per operation
//! of `wechatpay_endpoints::ALL`, reached by operation id. A partner twin
//! (`EndpointInfo::twin_of`) is served by its brand operation's handler, acting
//! for the brand it names (`tenancy`), and its reply carries that brand.
//!
//! A handler gets the operation's typed request (already authenticated,
//! validated against the schema and decoded, once, by `validate`) and returns
//! its typed response, so every
//! success body is the schema's response type by construction. It runs
//! inside the request's transaction: an error rolls back everything it did.

mod budget;
mod codes;
mod config;
mod image_tasks;
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
    ep::partner::PartnerCreateImageGenerationTask,
    ep::partner::PartnerGetImageGenerationTask,
];

pub(crate) use pre_send::{claim, claimer};

/// Runs the operation's handler (a twin's: its brand operation's) on its
/// validated, decoded request.
pub fn execute(ctx: &mut Ctx<'_>, request: AnyRequest) -> Result<Vec<u8>, Rejection> {
    let id = ctx.info.twin_of.unwrap_or(ctx.info.operation_id);
    let run = HANDLERS
        .iter()
        .find(|(info, _)| info.operation_id == id)
        .map(|(_, run)| *run)
        .ok_or_else(|| Rejection::internal(format!("no handler for {id}")))?;
    let body = run(ctx, request)?;
    match (ctx.info.twin_of, ctx.info.brand_field, &ctx.caller.brand) {
        (Some(_), Some(field), Some(brand)) => {
            let mut reply: serde_json::Value = serde_json::from_slice(&body)?;
            crate::twin::stamp(&mut reply, ctx.info.response, field, brand);
            Ok(serde_json::to_vec(&reply)?)
        }
        _ => Ok(body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_exactly_one_handler() {
        for info in ep::ALL {
            let id = info.twin_of.unwrap_or(info.operation_id);
            let n = HANDLERS
                .iter()
                .filter(|(h, _)| h.operation_id == id)
                .count();
            assert_eq!(n, 1, "{}", info.operation_id);
        }
        let served_alone = ep::ALL.iter().filter(|i| i.twin_of.is_none()).count();
        assert_eq!(HANDLERS.len(), served_alone);
    }
}
