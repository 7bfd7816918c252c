//! A use's `use_time` is checked as WeChat Pay would: not before the coupon
//! was received, not in the future beyond the 300 s a request's timestamp may
//! differ by. The hostile run had 1970, 2099 and a time before receipt all
//! accepted and written on the coupon.

use crate::common;

use common::{api_error, assert_answer, brand_client, runtime};
use wechatpay_models::{
    ConfirmSendUserProductCouponRequest, SendUserProductCouponRequest, UseUserProductCouponRequest,
    UserProductCouponAssociatedOrderInfo, UserProductCouponState,
};
use wechatpay_runtime::DateTime;
use wechatpay_sandbox::answers::{trouble, USE_TIME_TOLERANCE_SECONDS};
use wechatpay_sandbox::{Options, Sandbox};

const APPID: &str = "wx233544546545989";
const PC: &str = "1000000013";
const STOCK: &str = "1000000013001";

fn use_at(code: &str, at: DateTime, number: &str) -> UseUserProductCouponRequest {
    let mut order = UserProductCouponAssociatedOrderInfo::new();
    order.transaction_id = Some("4200000000123456789123456789".into());
    let mut r = UseUserProductCouponRequest::new("o-time", code, PC, STOCK, APPID, at, number);
    r.associated_order_info = Some(order);
    r
}

#[test]
fn use_time_before_receipt_or_in_the_future_is_refused_naming_it() {
    let keys = common::keys();
    let sandbox = Sandbox::start(Options::new(keys.path())).unwrap();
    let client = brand_client(&sandbox);
    runtime().block_on(async {
        let coupon = client
            .execute(&SendUserProductCouponRequest::new(
                "o-time",
                PC,
                STOCK,
                APPID,
                "TIME_SEND_1",
            ))
            .await
            .unwrap();
        let code = coupon.coupon_code.as_str();
        client
            .execute(&ConfirmSendUserProductCouponRequest::new(
                "o-time",
                code,
                PC,
                STOCK,
                APPID,
                "TIME_CONFIRM_1",
            ))
            .await
            .unwrap();
        let received = coupon.receive_time.unix_timestamp();
        let now = common::now().unix_timestamp();
        for (n, at) in [
            0,                                     // 1970
            received - 1,                          // a second before receipt
            now + USE_TIME_TOLERANCE_SECONDS + 60, // beyond the tolerance
            4_102_444_800,                         // 2100
        ]
        .into_iter()
        .enumerate()
        {
            let e = api_error(
                client
                    .execute(&use_at(
                        code,
                        DateTime::from_unix(at, 480),
                        &format!("TIME_USE_BAD_{n}"),
                    ))
                    .await,
            );
            assert_answer(&e, 400, "PARAM_ERROR", Some(trouble::OUT_OF_RANGE));
            assert!(e.message.starts_with("use_time: "), "{e}");
        }
        // At receipt, and a little ahead of the clock, are accepted.
        let used = client
            .execute(&use_at(
                code,
                DateTime::from_unix(received, 480),
                "TIME_USE_OK",
            ))
            .await
            .unwrap();
        assert_eq!(used.coupon_state, UserProductCouponState::Used);
    });
}
