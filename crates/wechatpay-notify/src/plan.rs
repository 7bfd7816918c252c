//! What an event asks of its receiver, from the schema's declaration
//! (`<ProductCouponEvent as Event>::follow_up`): for `PRODUCT_COUPON.SEND`, the brand
//! confirm; for `PRODUCT_COUPON_SP.SEND`, the service provider's confirm for the brand
//! the payload names. Each is built by [`wechatpay_campaign::follow_up::Step`] with the
//! number every confirmer of the same coupon derives (the caller, then the values the
//! declaration's `number_from` names: the coupon code, and the brand for a provider).
//!
//! Who confirms is the follow-up operation's family (`EndpointInfo::auth`): a brand
//! operation is called as the receiver's brand, a partner operation as its provider.

use serde_json::{Map, Value};
use wechatpay_campaign::follow_up::{Sources, Step};
use wechatpay_models::ProductCouponEvent;
use wechatpay_runtime::json::Prepared;
use wechatpay_runtime::{AuthScheme, Event, FollowUp, ValueFrom};

use crate::event::field;

/// The error code of an event whose confirm can never be built (the payload lacks a
/// value the confirm needs, or holds one its rules refuse).
pub const UNCONFIRMABLE: &str = "UNCONFIRMABLE";

/// The error code of a pending event whose confirm is made as an identity this
/// receiver (or confirmer) is not configured with: a brand event without a brand, a
/// service provider's event without a provider. It stays pending, and a run
/// configured with that identity confirms it.
pub const NOT_CONFIGURED: &str = "NOT_CONFIGURED";

/// The identities a receiver confirms as, one per family.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Identities {
    /// The brand (`brand_id`): brand operations.
    pub brand: Option<String>,
    /// The service provider (its `mchid`): partner operations.
    pub provider: Option<String>,
}

impl Identities {
    /// The identity that calls operations of `family`.
    pub(crate) fn of(&self, family: AuthScheme) -> Option<&str> {
        match family {
            AuthScheme::Brand => self.brand.as_deref(),
            AuthScheme::Partner => self.provider.as_deref(),
            AuthScheme::Merchant => None,
        }
    }
}

/// What a receiver of `family`'s events is told to set, in words.
pub(crate) fn missing_identity(event_type: &str, operation: &str, family: AuthScheme) -> String {
    let (who, setting) = match family {
        AuthScheme::Partner => (
            "a service provider",
            "the provider's mchid (ReceiverBuilder::provider; `--mchid`)",
        ),
        AuthScheme::Brand => (
            "a brand",
            "the brand id (ReceiverBuilder::brand; `--brand-id`)",
        ),
        AuthScheme::Merchant => ("a merchant", "a merchant identity, which no receiver has"),
    };
    format!(
        "{event_type} is confirmed by {operation}, which {who} calls: this run has no {}; set {setting} and run again to confirm it",
        who.trim_start_matches("a ")
    )
}

/// The follow-up of one event.
#[derive(Debug)]
pub(crate) enum Plan {
    /// The event asks for nothing.
    NotNeeded,
    /// A confirm is needed but the AppID is not known here (no setting, none in the payload).
    NeedsAppid,
    /// The confirm is made as an identity the receiver does not have.
    NoIdentity(String),
    /// The confirm, built and rendered.
    Ready { step: Box<Step>, prepared: Prepared },
    /// A confirm is needed and can never be built.
    Impossible(String),
}

/// Whether `follow_up` takes a value from the receiver's setting `name`.
pub(crate) fn needs_setting(follow_up: &FollowUp, name: &str) -> bool {
    follow_up
        .fields
        .iter()
        .any(|f| matches!(f.from, ValueFrom::Setting(setting) if setting == name))
}

/// The follow-up of an event of `event_type` with `payload`, for a receiver with
/// `identities`.
///
/// The brand event's payload has no AppID, so it is a setting; a payload that does
/// carry a non-empty `appid` wins over it, since the coupon was issued for that AppID
/// (a brand with several would otherwise confirm with the wrong one). The provider's
/// follow-up takes the payload's own.
pub(crate) fn plan(
    event_type: &str,
    payload: &Value,
    identities: &Identities,
    appid: Option<&str>,
) -> Plan {
    let Some(follow_up) = ProductCouponEvent::follow_up(event_type) else {
        return Plan::NotNeeded;
    };
    let Some(info) = wechatpay_endpoints::find(follow_up.operation_id) else {
        return Plan::Impossible(format!("no operation {}", follow_up.operation_id));
    };
    let Some(identity) = identities.of(info.auth) else {
        return Plan::NoIdentity(missing_identity(event_type, info.operation_id, info.auth));
    };
    let mut settings = Map::new();
    match field(payload, "appid").or_else(|| appid.map(str::to_owned)) {
        Some(appid) => {
            settings.insert("appid".into(), Value::String(appid));
        }
        None if needs_setting(follow_up, "appid") => return Plan::NeedsAppid,
        None => {}
    }
    let sources = Sources {
        request: None,
        result: None,
        payload: Some(payload),
        settings: &settings,
    };
    match Step::build(follow_up, identity, sources) {
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

    fn brand(id: &str) -> Identities {
        Identities {
            brand: Some(id.into()),
            provider: None,
        }
    }

    #[test]
    fn a_send_needs_a_confirm_numbered_by_brand_and_coupon() {
        let payload = json!({
            "coupon_code": "C1", "openid": "o1", "product_coupon_id": "1000000013",
            "stock_id": "1000000013001"
        });
        let Plan::Ready { step, prepared } = plan(
            "PRODUCT_COUPON.SEND",
            &payload,
            &brand("B1"),
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
            &brand("B1"),
            Some("wx233544546545989"),
        ) else {
            panic!("ready");
        };
        assert_eq!(other.body["appid"], "wx1234567889999");
        assert_eq!(other.request_no, step.request_no);

        assert!(matches!(
            plan("PRODUCT_COUPON.SEND", &payload, &brand("B1"), None),
            Plan::NeedsAppid
        ));
        assert!(matches!(
            plan("PRODUCT_COUPON.USE", &payload, &brand("B1"), None),
            Plan::NotNeeded
        ));
        assert!(matches!(
            plan("SOMETHING.NEW", &payload, &brand("B1"), None),
            Plan::NotNeeded
        ));
        let Plan::Impossible(reason) = plan(
            "PRODUCT_COUPON.SEND",
            &json!({"openid": "o1"}),
            &brand("B1"),
            Some("wx1"),
        ) else {
            panic!("no coupon code: impossible");
        };
        assert!(reason.contains("coupon_code"), "{reason}");
    }

    #[test]
    fn a_providers_send_is_confirmed_by_the_provider_for_the_payloads_brand() {
        let payload = json!({
            "brand_id": "120344", "coupon_code": "C1", "openid": "o1",
            "product_coupon_id": "1000000013", "stock_id": "1000000013001",
            "appid": "wx233544546545989"
        });
        let provider = Identities {
            brand: None,
            provider: Some("1900000001".into()),
        };
        // No AppID setting: the provider's follow-up takes the payload's.
        let Plan::Ready { step, prepared } =
            plan("PRODUCT_COUPON_SP.SEND", &payload, &provider, None)
        else {
            panic!("ready");
        };
        assert_eq!(
            step.info.operation_id,
            "partner-confirm-send-user-product-coupon"
        );
        assert_eq!(step.info.auth, AuthScheme::Partner);
        assert_eq!(step.body["brand_id"], "120344");
        assert_eq!(step.body["appid"], "wx233544546545989");
        assert!(String::from_utf8_lossy(&prepared.body).contains("\"brand_id\":\"120344\""));
        // Another brand of the same provider: another number.
        let mut other_brand = payload.clone();
        other_brand["brand_id"] = json!("120345");
        let Plan::Ready { step: other, .. } =
            plan("PRODUCT_COUPON_SP.SEND", &other_brand, &provider, None)
        else {
            panic!("ready");
        };
        assert_ne!(other.request_no, step.request_no);

        // A brand-only receiver has nobody to confirm a provider's event as, and the
        // other way round: neither is refused, both say what to set.
        let Plan::NoIdentity(reason) =
            plan("PRODUCT_COUPON_SP.SEND", &payload, &brand("120344"), None)
        else {
            panic!("no provider");
        };
        assert!(
            reason.contains("partner-confirm-send-user-product-coupon")
                && reason.contains("--mchid"),
            "{reason}"
        );
        let Plan::NoIdentity(reason) =
            plan("PRODUCT_COUPON.SEND", &payload, &provider, Some("wx1"))
        else {
            panic!("no brand");
        };
        assert!(reason.contains("--brand-id"), "{reason}");
        // The image-generation result asks for nothing.
        assert!(matches!(
            plan(
                "PRODUCT_COUPON_SP.IMAGE_GENERATION",
                &payload,
                &provider,
                None
            ),
            Plan::NotNeeded
        ));
        // A provider's SEND without the brand cannot be confirmed, and says why.
        let mut no_brand = payload.clone();
        no_brand.as_object_mut().unwrap().remove("brand_id");
        let Plan::Impossible(reason) = plan("PRODUCT_COUPON_SP.SEND", &no_brand, &provider, None)
        else {
            panic!("impossible");
        };
        assert!(reason.contains("brand_id"), "{reason}");
    }
}
