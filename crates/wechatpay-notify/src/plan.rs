//! What an event asks of the brand, from the schema's declaration
//! (`<ProductCouponEvent as Event>::follow_up`): for `PRODUCT_COUPON.SEND`, the confirm
//! built by [`wechatpay_campaign::follow_up::Step`] with the number every confirmer of
//! the same coupon derives (brand + coupon code).

use serde_json::{Map, Value};
use wechatpay_campaign::follow_up::{Sources, Step};
use wechatpay_models::ProductCouponEvent;
use wechatpay_runtime::json::Prepared;
use wechatpay_runtime::Event;

use crate::event::field;

/// The error code of an event whose confirm can never be built (the payload lacks a
/// value the confirm needs, or holds one its rules refuse).
pub const UNCONFIRMABLE: &str = "UNCONFIRMABLE";

/// The follow-up of one event.
#[derive(Debug)]
pub(crate) enum Plan {
    /// The event asks for nothing.
    NotNeeded,
    /// A confirm is needed but the AppID is not known here (no setting, none in the payload).
    NeedsAppid,
    /// The confirm, built and rendered.
    Ready { step: Box<Step>, prepared: Prepared },
    /// A confirm is needed and can never be built.
    Impossible(String),
}

/// The follow-up of an event of `event_type` with `payload`, for the caller `brand_id`.
///
/// The AppID is not in the documented payload, so it is a setting; a payload that
/// does carry a non-empty `appid` wins over it, since the coupon was issued for
/// that AppID (a brand with several would otherwise confirm with the wrong one).
pub(crate) fn plan(event_type: &str, payload: &Value, brand_id: &str, appid: Option<&str>) -> Plan {
    let Some(follow_up) = ProductCouponEvent::follow_up(event_type) else {
        return Plan::NotNeeded;
    };
    let Some(appid) = field(payload, "appid").or_else(|| appid.map(str::to_owned)) else {
        return Plan::NeedsAppid;
    };
    let mut settings = Map::new();
    settings.insert("appid".into(), Value::String(appid));
    let sources = Sources {
        request: None,
        result: None,
        payload: Some(payload),
        settings: &settings,
    };
    match Step::build(follow_up, brand_id, sources) {
        Err(reason) => Plan::Impossible(reason),
        Ok(step) => match step.prepare() {
            Ok(prepared) => Plan::Ready {
                step: Box::new(step),
                prepared,
            },
            Err(reason) => Plan::Impossible(format!("the confirm would be invalid: {reason}")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_send_needs_a_confirm_numbered_by_brand_and_coupon() {
        let payload = json!({
            "coupon_code": "C1", "openid": "o1", "product_coupon_id": "1000000013",
            "stock_id": "1000000013001"
        });
        let Plan::Ready { step, prepared } = plan(
            "PRODUCT_COUPON.SEND",
            &payload,
            "B1",
            Some("wx233544546545989"),
        ) else {
            panic!("a SEND with every value is ready");
        };
        assert_eq!(step.info.operation_id, "confirm-send-user-product-coupon");
        assert!(prepared.url().contains("/coupons/C1"));
        // The payload's own appid wins; the number does not depend on it.
        let mut with_appid = payload.clone();
        with_appid["appid"] = json!("wx1234567889999");
        let Plan::Ready { step: other, .. } = plan(
            "PRODUCT_COUPON.SEND",
            &with_appid,
            "B1",
            Some("wx233544546545989"),
        ) else {
            panic!("ready");
        };
        assert_eq!(other.body["appid"], "wx1234567889999");
        assert_eq!(other.request_no, step.request_no);

        assert!(matches!(
            plan("PRODUCT_COUPON.SEND", &payload, "B1", None),
            Plan::NeedsAppid
        ));
        assert!(matches!(
            plan("PRODUCT_COUPON.USE", &payload, "B1", None),
            Plan::NotNeeded
        ));
        assert!(matches!(
            plan("SOMETHING.NEW", &payload, "B1", None),
            Plan::NotNeeded
        ));
        let Plan::Impossible(reason) = plan(
            "PRODUCT_COUPON.SEND",
            &json!({"openid": "o1"}),
            "B1",
            Some("wx1"),
        ) else {
            panic!("no coupon code: impossible");
        };
        assert!(reason.contains("coupon_code"), "{reason}");
    }
}
