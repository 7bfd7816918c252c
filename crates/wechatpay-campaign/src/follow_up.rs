//! The second step a result needs before it is usable, as the schema declares it
//! (`EndpointInfo::follow_up`, `Event::follow_up`): a coupon that a send issues is
//! `CONFIRMING` until the brand confirms it.
//!
//! - [`Step`]: one follow-up call, its request built from the declared values and its
//!   number derived from the caller and the values named by `number_from`
//!   ([`crate::number::follow_up_key`]), so a campaign, a notify URL and a later run
//!   all send the same number for the same coupon: whichever comes second is answered
//!   as a replay.
//! - [`attempt`]: one try, read as WeChat Pay means it. A refusal (a verified 4xx that
//!   is about this coupon) is not taken at its word: the status operation says whether
//!   the result is still waiting (retry later with the same number), was already
//!   followed up (done, by this number or another party's) or can no longer be (failed).

use serde_json::{Map, Value};
use wechatpay_runtime::json::{Prepared, Problem};
use wechatpay_runtime::{EndpointInfo, FollowUp, ValueFrom};
use wechatpay_transport::{CallOptions, Client, Error, ErrorChain, RawCode};

use crate::endpoint::{decode_reply, prepare};
use crate::number::{follow_up_key, NumberShape};
use crate::outcome::{read_api_error, ApiAnswer, ApiVerdict};
use crate::result::{get, key_fields};

/// One follow-up call to make.
#[derive(Debug, Clone)]
pub struct Step {
    /// The follow-up operation (confirm).
    pub info: &'static EndpointInfo,
    /// The declaration it comes from.
    pub follow_up: &'static FollowUp,
    /// The request, path parameters and number included (as `wechatpay call` takes it).
    pub body: Map<String, Value>,
    /// The request number, derived from the caller and the result.
    pub request_no: String,
}

/// Where the values of a follow-up come from.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    /// The request that produced the result (path parameters included).
    pub request: Option<&'a Value>,
    /// The result: the response, or one item of `items`.
    pub result: Option<&'a Value>,
    /// A notification's decrypted payload.
    pub payload: Option<&'a Value>,
    /// The caller's settings (`appid` for a notify URL).
    pub settings: &'a Map<String, Value>,
}

fn lookup<'a>(value: Option<&'a Value>, path: &str) -> Option<&'a Value> {
    let path: Vec<&str> = path.split('.').collect();
    get(value?, &path).filter(|v| !v.is_null())
}

fn describe(from: &ValueFrom) -> String {
    match from {
        ValueFrom::Request(p) => format!("the request's {p}"),
        ValueFrom::Result(p) => format!("the result's {p}"),
        ValueFrom::Payload(p) => format!("the notification's {p}"),
        ValueFrom::Setting(p) => format!("the setting {p}"),
    }
}

/// Whether a result needs the follow-up: its `while` field holds the declared value.
/// A result that does not carry the field at all is taken to need it (the send's
/// answer is the coupon as issued).
pub fn needed(follow_up: &FollowUp, result: &Value) -> bool {
    match result.get(follow_up.while_field) {
        Some(Value::String(state)) => state == follow_up.while_equals,
        _ => true,
    }
}

impl Step {
    /// The follow-up of one result. `identity` is the caller (the brand id) that the
    /// number is derived for.
    pub fn build(
        follow_up: &'static FollowUp,
        identity: &str,
        sources: Sources<'_>,
    ) -> Result<Step, String> {
        let info = wechatpay_endpoints::find(follow_up.operation_id)
            .ok_or_else(|| format!("no operation {}", follow_up.operation_id))?;
        let number = info
            .request_number
            .ok_or_else(|| format!("{} has no request number", info.operation_id))?;
        let mut body = Map::new();
        for field in follow_up.fields {
            let value = match field.from {
                ValueFrom::Request(p) => lookup(sources.request, p),
                ValueFrom::Result(p) => lookup(sources.result, p),
                ValueFrom::Payload(p) => lookup(sources.payload, p),
                ValueFrom::Setting(p) => sources.settings.get(p).filter(|v| !v.is_null()),
            };
            match value {
                Some(v) => {
                    body.insert(field.name.to_owned(), v.clone());
                }
                None => {
                    return Err(format!(
                        "{} needs {} from {}, which is missing",
                        info.operation_id,
                        field.name,
                        describe(&field.from)
                    ))
                }
            }
        }
        let mut values = Vec::with_capacity(follow_up.number_from.len());
        for name in follow_up.number_from {
            match body.get(*name) {
                Some(Value::String(s)) if !s.is_empty() => values.push(s.as_str()),
                _ => return Err(format!("{name} is not a non-empty string")),
            }
        }
        let rule = info
            .request
            .field(number.field)
            .and_then(|f| f.str_rule())
            .ok_or_else(|| format!("{} is not a string field", number.field))?;
        let shape = NumberShape::for_rule(number.field, rule).map_err(|e| e.to_string())?;
        let request_no = shape.derive_keyed(&follow_up_key(info.operation_id, identity, &values));
        body.insert(number.field.to_owned(), Value::String(request_no.clone()));
        Ok(Step {
            info,
            follow_up,
            body,
            request_no,
        })
    }

    /// The follow-ups `response` needs: one per result (each item of `items`) whose
    /// `while` field holds. `request` is the request that produced it.
    pub fn for_response(
        follow_up: &'static FollowUp,
        identity: &str,
        request: &Value,
        response: &Value,
    ) -> Result<Vec<Step>, String> {
        let empty = Map::new();
        let results: Vec<&Value> = match follow_up.items {
            None => vec![response],
            Some(items) => match response.get(items) {
                Some(Value::Array(list)) => list.iter().collect(),
                _ => return Err(format!("the reply has no {items} list")),
            },
        };
        results
            .into_iter()
            .filter(|result| needed(follow_up, result))
            .map(|result| {
                Step::build(
                    follow_up,
                    identity,
                    Sources {
                        request: Some(request),
                        result: Some(result),
                        payload: None,
                        settings: &empty,
                    },
                )
            })
            .collect()
    }

    /// The follow-up request, checked and rendered.
    pub fn prepare(&self) -> Result<Prepared, String> {
        prepare(self.info, &Value::Object(self.body.clone())).map_err(problems)
    }

    /// The status request: the status operation's fields, from the follow-up's values.
    pub fn prepare_status(&self) -> Result<Prepared, String> {
        let status = wechatpay_endpoints::find(self.follow_up.status_operation_id)
            .ok_or_else(|| format!("no operation {}", self.follow_up.status_operation_id))?;
        let body: Map<String, Value> = self
            .body
            .iter()
            .filter(|(name, _)| status.request.field(name).is_some())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        prepare(status, &Value::Object(body)).map_err(problems)
    }
}

fn problems(problems: Vec<Problem>) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// What one follow-up attempt means.
#[derive(Debug, Clone, PartialEq)]
pub enum StepOutcome {
    /// It took effect: `result` holds the key fields of the answer (the coupon as it is
    /// now); `note` says when it was found done rather than answered (another party
    /// followed up first, or the answer did not decode).
    Done {
        /// The key fields of the answer (see [`crate::result`]).
        result: Value,
        /// Why it counts as done without a decoded answer, when that is the case.
        note: Option<String>,
    },
    /// Not possible yet (the result is still waiting, e.g. the notification has not
    /// been delivered): try again later with the same number.
    Waiting {
        /// The error code: WeChat Pay's `code`, or the SDK's own (`HTTP_500`, `INVALID_ROW`, `LOCAL`) when there is none.
        code: String,
        /// What the error says.
        message: String,
    },
    /// Can never succeed (the coupon expired or was deactivated).
    Failed {
        /// The error code: WeChat Pay's `code`, or the SDK's own (`HTTP_500`, `INVALID_ROW`, `LOCAL`) when there is none.
        code: String,
        /// What the error says.
        message: String,
    },
    /// Outcome unknown or worth another try: send again with the same number.
    Retry {
        /// The error code: WeChat Pay's `code`, or the SDK's own (`HTTP_500`, `INVALID_ROW`, `LOCAL`) when there is none.
        code: String,
        /// What the error says.
        message: String,
        /// Whether the answer was a throttle (429 / `FREQUENCY_LIMITED`), which slows the pacing.
        throttled: bool,
    },
    /// A refusal about the brand the follow-up acts for (NO_AUTH on an operation with
    /// a brand field): that brand is re-checked, the others go on.
    BrandRefused {
        /// The error code (`NO_AUTH`).
        code: String,
        /// What the error says.
        message: String,
    },
    /// Nothing a row can fix (credentials, permission).
    Stop {
        /// The error code: WeChat Pay's `code`, or the SDK's own (`HTTP_500`, `INVALID_ROW`, `LOCAL`) when there is none.
        code: String,
        /// What the error says.
        message: String,
    },
}

/// An error reply of the follow-up or the status operation: an outcome, or (`Err`)
/// a refusal of this result to read from the status operation.
fn error_outcome(
    info: &EndpointInfo,
    error: Error<RawCode>,
) -> Result<StepOutcome, (String, String)> {
    let Some(api) = error.api_error() else {
        return Ok(StepOutcome::Retry {
            code: "FOLLOW_UP_UNKNOWN".into(),
            message: ErrorChain(&error).to_string(),
            throttled: false,
        });
    };
    let ApiAnswer {
        code,
        message,
        verdict,
    } = read_api_error(info, api);
    match verdict {
        ApiVerdict::Retry { throttled } => Ok(StepOutcome::Retry {
            code,
            message,
            throttled,
        }),
        ApiVerdict::CampaignWide => Ok(StepOutcome::Stop { code, message }),
        ApiVerdict::BrandWide => Ok(StepOutcome::BrandRefused { code, message }),
        // Documented or not: what the status operation says about the result decides.
        ApiVerdict::Refusal { .. } => Err((code, message)),
    }
}

/// One attempt at `step`: the follow-up, and on a refusal the status operation.
pub async fn attempt(client: &Client, step: &Step, prepared: &Prepared) -> StepOutcome {
    let info = step.info;
    let reply = client
        .execute_raw(
            info,
            &prepared.url(),
            prepared.body.clone(),
            CallOptions::default(),
        )
        .await;
    let (code, message) = match reply {
        Ok(reply) => {
            return match decode_reply(info, &reply.body) {
                Ok(value) => StepOutcome::Done {
                    result: key_fields(info.response, &value),
                    note: None,
                },
                Err(reason) => StepOutcome::Done {
                    result: serde_json::from_slice(&reply.body)
                        .map_or(Value::Null, |raw| key_fields(info.response, &raw)),
                    note: Some(format!("reply does not match the schema: {reason}")),
                },
            }
        }
        Err(error) => match error_outcome(info, error) {
            Ok(outcome) => return outcome,
            Err(refusal) => refusal,
        },
    };
    match status(client, step).await {
        Ok(current) => standing(step, &current, code, message),
        Err(outcome) => outcome,
    }
}

/// Asks the status operation for the result as it is now.
async fn status(client: &Client, step: &Step) -> Result<Value, StepOutcome> {
    let prepared = step.prepare_status().map_err(|reason| StepOutcome::Stop {
        code: "LOCAL".into(),
        message: format!("cannot build the status request: {reason}"),
    })?;
    let info = prepared.info;
    match client
        .execute_raw(
            info,
            &prepared.url(),
            prepared.body.clone(),
            // A query: nothing to resend under a request number.
            CallOptions::new().without_request_number(),
        )
        .await
    {
        Ok(reply) => serde_json::from_slice(&reply.body).map_err(|e| StepOutcome::Retry {
            code: "STATUS_UNREADABLE".into(),
            message: format!("{}: {e}", info.operation_id),
            throttled: false,
        }),
        Err(error) => Err(match error_outcome(info, error) {
            Ok(outcome) => outcome,
            Err((code, message)) => StepOutcome::Retry {
                code,
                message: format!("{} refused: {message}", info.operation_id),
                throttled: false,
            },
        }),
    }
}

/// What the status answer says after the follow-up was refused with `code`.
fn standing(step: &Step, current: &Value, code: String, message: String) -> StepOutcome {
    let f = step.follow_up;
    let state = current
        .get(f.while_field)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let done_by = current
        .get(f.done_field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let status_info = wechatpay_endpoints::find(f.status_operation_id);
    let kept = status_info.map_or(Value::Null, |s| key_fields(s.response, current));
    match done_by {
        Some(number) if number == step.request_no => StepOutcome::Done {
            result: kept,
            note: None,
        },
        Some(other) => StepOutcome::Done {
            result: kept,
            note: Some(format!(
                "{} was done by another request ({} {other}); this one was refused: {message}",
                step.info.operation_id, f.done_field
            )),
        },
        None if state == f.while_equals => StepOutcome::Waiting {
            code,
            message: format!("{message} (still {state}; tried again later)"),
        },
        None => StepOutcome::Failed {
            code,
            message: format!("{message} ({} is {state})", f.while_field),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn send() -> &'static FollowUp {
        wechatpay_endpoints::find("send-user-product-coupon")
            .unwrap()
            .follow_up
            .as_ref()
            .unwrap()
    }

    #[test]
    fn a_coupon_gets_one_confirm_number_whoever_builds_it() {
        let request = json!({
            "openid": "o1", "product_coupon_id": "P", "stock_id": "S", "appid": "wx1",
            "send_request_no": "N1"
        });
        let response = json!({"coupon_code": "C1", "coupon_state": "CONFIRMING"});
        let steps = Step::for_response(send(), "B1", &request, &response).unwrap();
        assert_eq!(steps.len(), 1);
        let step = &steps[0];
        assert_eq!(step.info.operation_id, "confirm-send-user-product-coupon");
        assert_eq!(step.body["coupon_code"], "C1");
        assert_eq!(step.body["out_request_no"], step.request_no.as_str());
        step.prepare().unwrap();
        assert!(step.prepare_status().unwrap().url().contains("/coupons/C1"));

        // The notification's follow-up: same coupon, same brand → same number and body.
        let event = <wechatpay_models::ProductCouponEvent as wechatpay_runtime::Event>::follow_up(
            "PRODUCT_COUPON.SEND",
        )
        .unwrap();
        let settings = json!({"appid": "wx1"});
        let payload = json!({
            "coupon_code": "C1", "openid": "o1", "product_coupon_id": "P", "stock_id": "S"
        });
        let from_event = Step::build(
            event,
            "B1",
            Sources {
                request: None,
                result: None,
                payload: Some(&payload),
                settings: settings.as_object().unwrap(),
            },
        )
        .unwrap();
        assert_eq!(from_event.request_no, step.request_no);
        assert_eq!(
            from_event.prepare().unwrap().body,
            step.prepare().unwrap().body
        );

        // Another brand or another coupon: another number.
        let other = Step::for_response(send(), "B2", &request, &response).unwrap();
        assert_ne!(other[0].request_no, step.request_no);
        let used = json!({"coupon_code": "C1", "coupon_state": "EFFECTIVE"});
        assert!(Step::for_response(send(), "B1", &request, &used)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_bundle_needs_one_confirm_per_coupon_and_missing_values_are_named() {
        let bundle = wechatpay_endpoints::find("send-user-product-coupon-bundle")
            .unwrap()
            .follow_up
            .as_ref()
            .unwrap();
        let request = json!({"openid": "o1", "product_coupon_id": "P", "appid": "wx1"});
        let response = json!({"user_product_coupon_list": [
            {"coupon_code": "C1", "coupon_state": "CONFIRMING", "stock": {"stock_id": "S1"}},
            {"coupon_code": "C2", "coupon_state": "CONFIRMING", "stock": {"stock_id": "S2"}}
        ]});
        let steps = Step::for_response(bundle, "B1", &request, &response).unwrap();
        assert_eq!(
            steps
                .iter()
                .map(|s| &s.body["stock_id"])
                .collect::<Vec<_>>(),
            ["S1", "S2"]
        );
        assert_ne!(steps[0].request_no, steps[1].request_no);
        let broken = json!({"user_product_coupon_list": [{"coupon_code": "C1"}]});
        let err = Step::for_response(bundle, "B1", &request, &broken).unwrap_err();
        assert!(
            err.contains("stock_id") && err.contains("stock.stock_id"),
            "{err}"
        );
    }

    #[test]
    fn a_refusal_is_read_from_the_status_answer() {
        let request =
            json!({"openid": "o", "product_coupon_id": "P", "stock_id": "S", "appid": "w"});
        let response = json!({"coupon_code": "C", "coupon_state": "CONFIRMING"});
        let step = &Step::for_response(send(), "B", &request, &response).unwrap()[0];
        let kind =
            |current: Value| match standing(step, &current, "INVALID_REQUEST".into(), "m".into()) {
                StepOutcome::Done { note: None, .. } => "done",
                StepOutcome::Done { .. } => "done elsewhere",
                StepOutcome::Waiting { .. } => "waiting",
                StepOutcome::Failed { .. } => "failed",
                _ => "other",
            };
        assert_eq!(kind(json!({"coupon_state": "CONFIRMING"})), "waiting");
        assert_eq!(
            kind(json!({"coupon_state": "EFFECTIVE", "confirm_request_no": step.request_no})),
            "done"
        );
        assert_eq!(
            kind(json!({"coupon_state": "PENDING", "confirm_request_no": "OTHER"})),
            "done elsewhere"
        );
        assert_eq!(kind(json!({"coupon_state": "DEACTIVATED"})), "failed");
        assert_eq!(kind(json!({"coupon_state": "EXPIRED"})), "failed");
    }
}
