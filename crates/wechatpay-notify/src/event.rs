//! A delivered event, decoded by the schema's [`ProductCouponEvent`] and kept with
//! its decrypted payload as JSON, so the journal holds every field WeChat Pay sent
//! (including any the schema does not list, such as an `appid`).

use serde::de::Error as _;
use serde::Deserialize as _;
use serde_json::Value;
use wechatpay_models::ProductCouponEvent;
use wechatpay_runtime::{Event, FollowUp};

/// A product-coupon event and its decrypted payload.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The typed event (`Unknown` for a type the schema does not know, or a payload
    /// that does not fit its documented type).
    pub event: ProductCouponEvent,
    /// The decrypted payload as JSON (a JSON string when the plaintext is not JSON).
    pub payload: Value,
}

impl Incoming {
    /// A string field of the payload, if present and not empty.
    pub fn field(&self, name: &str) -> Option<String> {
        field(&self.payload, name)
    }
}

/// A string field of `payload`, if present and not empty.
pub fn field(payload: &Value, name: &str) -> Option<String> {
    payload
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl Event for Incoming {
    const EVENT_TYPES: &'static [&'static str] = ProductCouponEvent::EVENT_TYPES;

    fn decode<'de, D: serde::Deserializer<'de>>(
        event_type: &str,
        payload: D,
    ) -> Option<Result<Self, D::Error>> {
        if !Self::EVENT_TYPES.contains(&event_type) {
            // Kept raw by the handler through `unknown`, with the plaintext.
            return None;
        }
        let value = match Value::deserialize(payload) {
            Ok(value) => value,
            Err(e) => return Some(Err(e)),
        };
        let event = ProductCouponEvent::decode(event_type, &value)?;
        Some(
            event
                .map(|event| Incoming {
                    event,
                    payload: value.clone(),
                })
                .map_err(D::Error::custom),
        )
    }

    fn unknown(event_type: String, plaintext: String) -> Self {
        let payload =
            serde_json::from_str(&plaintext).unwrap_or_else(|_| Value::String(plaintext.clone()));
        Incoming {
            event: ProductCouponEvent::unknown(event_type, plaintext),
            payload,
        }
    }

    fn event_type(&self) -> &str {
        self.event.event_type()
    }

    fn follow_up(event_type: &str) -> Option<&'static FollowUp> {
        ProductCouponEvent::follow_up(event_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(event_type: &str, text: &str) -> Option<Result<Incoming, serde_json::Error>> {
        let mut de = serde_json::Deserializer::from_str(text);
        Incoming::decode(event_type, &mut de)
    }

    #[test]
    fn keeps_the_payload_with_fields_the_schema_does_not_list() {
        let got = decode(
            "PRODUCT_COUPON.SEND",
            r#"{"coupon_code":"C1","openid":"o1","appid":"wx1"}"#,
        )
        .unwrap()
        .unwrap();
        assert!(matches!(
            got.event,
            ProductCouponEvent::ProductCouponSend(_)
        ));
        assert_eq!(got.field("appid").as_deref(), Some("wx1"));
        assert_eq!(got.field("coupon_code").as_deref(), Some("C1"));
        assert_eq!(got.field("stock_id"), None);
        assert!(decode("PRODUCT_COUPON.LATER", "{}").is_none());
        assert!(decode("PRODUCT_COUPON.SEND", r#"{"coupon_code": 5}"#)
            .unwrap()
            .is_err());
        let raw = Incoming::unknown("X".into(), "not json".into());
        assert_eq!(raw.payload, Value::String("not json".into()));
        assert_eq!(raw.event_type(), "X");
    }
}
