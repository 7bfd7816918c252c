//! One received event as the journal keeps it, and where its confirm stands.

use serde_json::Value;

/// Where an event's follow-up (the confirm of a sent coupon) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfirmStatus {
    /// The coupon was confirmed (by this receiver, or found confirmed by another party
    /// with the same derived number or another one).
    Confirmed,
    /// The confirm can never succeed (the coupon expired or was deactivated, or the
    /// payload lacks what the confirm needs); `error_code` says why.
    Failed,
    /// Not confirmed yet: waiting for the confirmer (or a later run without `no_confirm`).
    Pending,
    /// The event asks for nothing (`PRODUCT_COUPON.USE`, `.RETURN`, unknown types).
    NotNeeded,
}

impl ConfirmStatus {
    /// Every status, in report order.
    pub const ALL: [ConfirmStatus; 4] = [
        ConfirmStatus::Confirmed,
        ConfirmStatus::Failed,
        ConfirmStatus::Pending,
        ConfirmStatus::NotNeeded,
    ];

    /// The word stored in the journal and printed: `confirmed`, `failed`, `pending`, `not_needed`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConfirmStatus::Confirmed => "confirmed",
            ConfirmStatus::Failed => "failed",
            ConfirmStatus::Pending => "pending",
            ConfirmStatus::NotNeeded => "not_needed",
        }
    }

    /// The status of a stored word (`None` for anything else).
    pub fn parse(text: &str) -> Option<ConfirmStatus> {
        ConfirmStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether nothing more will happen to the event.
    pub fn is_settled(self) -> bool {
        self != ConfirmStatus::Pending
    }
}

impl std::fmt::Display for ConfirmStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One event (one notification id) as the journal keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    /// The envelope's `id`: one per event, the same on every redelivery.
    pub event_id: String,
    /// `PRODUCT_COUPON.SEND`, `PRODUCT_COUPON.USE`, … (unknown types kept as sent).
    pub event_type: String,
    /// The envelope's `create_time`, as sent.
    pub create_time: String,
    /// When it was journaled, Unix milliseconds.
    pub received_at: i64,
    /// The brand it concerns: the payload's `brand_id` if it names one (a service
    /// provider's events), else the receiver's brand (empty for a provider's receiver).
    pub brand_id: String,
    /// The payload's `coupon_code`, when it has one.
    pub coupon_code: Option<String>,
    /// The payload's `openid` (the user), when it has one.
    pub openid: Option<String>,
    /// The payload's `stock_id`, when it has one.
    pub stock_id: Option<String>,
    /// The payload's `product_coupon_id`, when it has one.
    pub product_coupon_id: Option<String>,
    /// The decrypted resource, as JSON text (the plaintext itself when it is not JSON).
    pub payload: String,
    /// Where the event's follow-up (the confirm) stands.
    pub confirm: ConfirmStatus,
    /// The confirm's `out_request_no`, derived from the caller (brand or provider) and
    /// the coupon (its code, and its brand for a provider).
    pub confirm_request_no: Option<String>,
    /// Confirm attempts made so far.
    pub attempts: u64,
    /// The last error's code (`INVALID_REQUEST`, `HTTP_500`, …); for `failed`, why.
    pub error_code: Option<String>,
    /// The last error's message.
    pub error_message: Option<String>,
    /// The coupon's `coupon_state` as the confirm (or the status query) answered it.
    pub coupon_state: Option<String>,
    /// A remark on a confirm found done rather than answered (another party confirmed first).
    pub note: Option<String>,
}

impl EventRecord {
    /// The payload as JSON (a JSON string holding the text when it is not JSON).
    pub fn payload_json(&self) -> Value {
        serde_json::from_str(&self.payload).unwrap_or_else(|_| Value::String(self.payload.clone()))
    }

    /// The line `wechatpay notify serve` prints for the event: its key fields and
    /// where its confirm stands, as one line of JSON (`event_id` first).
    pub fn summary_line(&self) -> String {
        serde_json::to_string(&self.line(None)).unwrap_or_default()
    }

    /// [`summary_line`](Self::summary_line) as a JSON value (keys in JSON map order).
    pub fn summary(&self) -> Value {
        serde_json::to_value(self.line(None)).unwrap_or(Value::Null)
    }

    pub(crate) fn line(&self, extra: Option<Extra>) -> Line<'_> {
        Line {
            event_id: &self.event_id,
            event_type: &self.event_type,
            create_time: &self.create_time,
            brand_id: &self.brand_id,
            coupon_code: &self.coupon_code,
            openid: &self.openid,
            stock_id: &self.stock_id,
            product_coupon_id: &self.product_coupon_id,
            confirm: self.confirm.as_str(),
            confirm_request_no: &self.confirm_request_no,
            attempts: self.attempts,
            coupon_state: &self.coupon_state,
            error_code: &self.error_code,
            error_message: &self.error_message,
            extra,
        }
    }
}

/// An event as one JSON object, fields in this order.
#[derive(serde::Serialize)]
pub(crate) struct Line<'a> {
    event_id: &'a str,
    event_type: &'a str,
    create_time: &'a str,
    brand_id: &'a str,
    coupon_code: &'a Option<String>,
    openid: &'a Option<String>,
    stock_id: &'a Option<String>,
    product_coupon_id: &'a Option<String>,
    confirm: &'a str,
    confirm_request_no: &'a Option<String>,
    attempts: u64,
    coupon_state: &'a Option<String>,
    error_code: &'a Option<String>,
    error_message: &'a Option<String>,
    #[serde(flatten)]
    extra: Option<Extra>,
}

/// What the JSON report adds to the printed line.
#[derive(serde::Serialize)]
pub(crate) struct Extra {
    pub received_at: String,
    pub note: Option<String>,
    pub payload: Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_words() {
        for status in ConfirmStatus::ALL {
            assert_eq!(ConfirmStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(ConfirmStatus::parse("in_flight"), None);
        assert!(!ConfirmStatus::Pending.is_settled());
        assert!(ConfirmStatus::NotNeeded.is_settled());
    }

    #[test]
    fn the_printed_line_starts_with_the_event_id_and_says_where_the_confirm_stands() {
        let event = EventRecord {
            event_id: "EV-1".into(),
            event_type: "PRODUCT_COUPON.USE".into(),
            create_time: String::new(),
            received_at: 0,
            brand_id: "B1".into(),
            coupon_code: Some("C1".into()),
            openid: None,
            stock_id: None,
            product_coupon_id: None,
            payload: "not json".into(),
            confirm: ConfirmStatus::NotNeeded,
            confirm_request_no: None,
            attempts: 0,
            error_code: None,
            error_message: None,
            coupon_state: None,
            note: None,
        };
        let line = event.summary_line();
        assert!(
            line.starts_with(r#"{"event_id":"EV-1","event_type":"PRODUCT_COUPON.USE""#),
            "{line}"
        );
        assert_eq!(event.summary()["confirm"], "not_needed");
        assert_eq!(event.summary()["openid"], Value::Null);
        assert_eq!(event.payload_json(), Value::String("not json".into()));
    }
}
