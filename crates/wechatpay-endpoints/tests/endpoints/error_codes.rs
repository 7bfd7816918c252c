//! Typed error codes generated from the error tables.

use wechatpay_endpoints::brand::PreSendUserProductCouponBundleErrorCode;
use wechatpay_endpoints::merchant::SendProductCouponErrorCode;
use wechatpay_endpoints::*;

#[test]
fn repeated_codes_keep_every_row() {
    let code = SendProductCouponErrorCode::from_code("RULE_LIMIT");
    assert_eq!(code, SendProductCouponErrorCode::RuleLimit);
    let descriptions: Vec<&str> = code.docs().iter().map(|row| row.description).collect();
    assert_eq!(
        descriptions,
        [
            "券批次未关联商品信息",
            "品牌未开通名片功能",
            "用户未开通会员功能"
        ]
    );
    assert!(code.docs().iter().all(|row| row.status == 403));
}

#[test]
fn page_and_common_rows_are_both_kept() {
    // Page 000 lists its own SYSTEM_ERROR and INVALID_REQUEST rows; the common table adds others.
    let rows = SendProductCouponErrorCode::from_code("INVALID_REQUEST").docs();
    assert_eq!(rows[0].description, "发券模式不合法");
    assert!(rows
        .iter()
        .any(|r| r.description == "HTTP 请求不符合微信支付 APIv3 接口规则"));
    assert!(SendProductCouponErrorCode::from_code("SIGN_ERROR").docs()[0].status == 401);
}

#[test]
fn retryable_codes_are_rate_limits_and_system_errors() {
    assert!(SendProductCouponErrorCode::from_code("SYSTEM_ERROR").retryable());
    assert!(SendProductCouponErrorCode::from_code("FREQUENCY_LIMITED").retryable());
    assert!(!SendProductCouponErrorCode::from_code("RESOURCE_ALREADY_EXISTS").retryable());
    assert!(!SendProductCouponErrorCode::from_code("PARAM_ERROR").retryable());
}

#[test]
fn unknown_codes_are_kept_verbatim() {
    let code = PreSendUserProductCouponBundleErrorCode::from_code("BRAND_NEW_CODE");
    assert_eq!(
        code,
        PreSendUserProductCouponBundleErrorCode::Unknown("BRAND_NEW_CODE".into())
    );
    assert_eq!(code.code(), "BRAND_NEW_CODE");
    assert_eq!(code.to_string(), "BRAND_NEW_CODE");
    assert!(code.docs().is_empty());
    assert!(!code.retryable());
}

/// One table: the metadata and the typed codes borrow the same rows, and every code
/// maps back to itself. Gives the operation id checked.
fn codes_round_trip<E: Endpoint>() -> &'static str {
    assert!(std::ptr::eq(
        E::INFO.errors,
        <E::ErrorCode as ErrorCode>::TABLE
    ));
    for row in E::INFO.errors {
        let code = E::ErrorCode::from_code(row.code);
        assert_eq!(code.code(), row.code);
        assert!(code.docs().iter().any(|r| std::ptr::eq(*r, row)));
    }
    E::INFO.operation_id
}

#[test]
fn every_code_maps_back_to_itself_and_the_table_is_the_metadata() {
    macro_rules! check {
        ($($module:ident::$endpoint:ident),* $(,)?) => {
            vec![$(codes_round_trip::<$module::$endpoint>()),*]
        };
    }
    let mut checked = check![
        brand::AssociateStores,
        brand::AssociateStoresForStockBundle,
        brand::ConfirmSendUserProductCoupon,
        brand::CreateProductCoupon,
        brand::CreateStock,
        brand::CreateStockBundle,
        brand::DeactivateProductCoupon,
        brand::DeactivateStock,
        brand::DeactivateUserProductCoupon,
        brand::DeactivateUserProductCouponBundle,
        brand::DisassociateStores,
        brand::DisassociateStoresForStockBundle,
        brand::GetNotifyConfig,
        brand::GetProductCoupon,
        brand::GetStock,
        brand::GetUserProductCoupon,
        brand::ListAssociatedStores,
        brand::ListStocks,
        brand::ListUserProductCoupons,
        brand::PreSendUserProductCoupon,
        brand::PreSendUserProductCouponBundle,
        brand::ReturnUserProductCoupon,
        brand::SendUserProductCoupon,
        brand::SendUserProductCouponBundle,
        brand::SetNotifyConfig,
        brand::UpdateProductCoupon,
        brand::UpdateStock,
        brand::UpdateStockBudget,
        brand::UpdateStockBundle,
        brand::UpdateStockBundleBudget,
        brand::UploadCouponCodes,
        brand::UploadImage,
        brand::UseUserProductCoupon,
        merchant::SendProductCoupon,
        partner::PartnerAssociateStores,
        partner::PartnerAssociateStoresForStockBundle,
        partner::PartnerConfirmSendUserProductCoupon,
        partner::PartnerCreateImageGenerationTask,
        partner::PartnerCreateProductCoupon,
        partner::PartnerCreateStock,
        partner::PartnerCreateStockBundle,
        partner::PartnerDeactivateProductCoupon,
        partner::PartnerDeactivateStock,
        partner::PartnerDeactivateUserProductCoupon,
        partner::PartnerDeactivateUserProductCouponBundle,
        partner::PartnerDisassociateStores,
        partner::PartnerDisassociateStoresForStockBundle,
        partner::PartnerGetImageGenerationTask,
        partner::PartnerGetNotifyConfig,
        partner::PartnerGetProductCoupon,
        partner::PartnerGetStock,
        partner::PartnerGetUserProductCoupon,
        partner::PartnerListAssociatedStores,
        partner::PartnerListStocks,
        partner::PartnerListUserProductCoupons,
        partner::PartnerPreSendUserProductCoupon,
        partner::PartnerPreSendUserProductCouponBundle,
        partner::PartnerReturnUserProductCoupon,
        partner::PartnerSendUserProductCoupon,
        partner::PartnerSendUserProductCouponBundle,
        partner::PartnerSetNotifyConfig,
        partner::PartnerUpdateProductCoupon,
        partner::PartnerUpdateStock,
        partner::PartnerUpdateStockBudget,
        partner::PartnerUpdateStockBundle,
        partner::PartnerUpdateStockBundleBudget,
        partner::PartnerUploadCouponCodes,
        partner::PartnerUploadImage,
        partner::PartnerUseUserProductCoupon,
    ];
    // The list above is every operation: a new one must be added to it.
    let mut all: Vec<&str> = ALL.iter().map(|info| info.operation_id).collect();
    checked.sort_unstable();
    all.sort_unstable();
    assert_eq!(checked, all);
}
