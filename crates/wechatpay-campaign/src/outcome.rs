//! What one attempt's result means for its row.
//!
//! - A verified 2xx reply: the row **succeeded** (its decoded result is kept).
//! - A refusal that sending again cannot change and that the operation's error
//!   table declares `scope: request` (the user's limit, not a member, an invalid
//!   openid, the coupon code, invalid parameters): the row **failed**, and the
//!   campaign goes on.
//! - Anything that leaves the outcome unknown or is worth another try — a
//!   network error, 5xx, `SYSTEM_ERROR`, 429 / `FREQUENCY_LIMITED`, a reply
//!   that does not verify (WeChat Pay's `WECHATPAY/SIGNTEST/` probes), an
//!   error reply without a signature: **retry with the same number**. Whether
//!   an answer is retryable is `wechatpay_runtime::retry::retryable`, the one
//!   rule the transport uses too.
//! - A refusal about the caller or what every row shares — a 401, a row of the
//!   table declared `scope: caller` (signature, permission, the stock exhausted
//!   or expired), a code the table does not list (`ErrorScope::UNDOCUMENTED`) —
//!   or a local failure: **stop** the campaign and leave the row pending, rather
//!   than marking every remaining row failed.
//! - For an operation whose schema names a brand field (a service provider acting
//!   for many brands), a `scope: caller` refusal is about the brand the row names
//!   (403 NO_AUTH: the brand has not authorised the provider): **brand refused**,
//!   and the runner re-checks that brand and stops only its rows
//!   (`runner::gate`). A 401 and an undocumented code still stop the campaign: the
//!   provider's own signature is the same for every brand.
//!
//! The scope comes from the schema (`wechatpay_runtime::ErrorDoc::scope`), never
//! from a list of names here.

use serde_json::Value;
use wechatpay_runtime::retry::retryable;
use wechatpay_runtime::{EndpointInfo, ErrorScope, FollowUp};
use wechatpay_transport::{ApiError, Error, ErrorChain, ErrorKind, RawCode, VerifiedReply};

use crate::endpoint::decode_reply;
use crate::follow_up::Step;
use crate::journal::brands::brand_of;
use crate::journal::NewFollowUp;
use crate::result::key_fields;

/// What an attempt means for its row.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A verified reply: the request took effect. `result` holds the decoded
    /// reply's key fields; `note` says when it did not decode into the response type;
    /// `follow_ups` are what its results need next (or why they cannot be built).
    Succeeded {
        /// The key fields of the answer (see [`crate::result`]).
        result: Value,
        /// Why it counts as done without a decoded answer, when that is the case.
        note: Option<String>,
        /// What its results need next, or why that cannot be built.
        follow_ups: Result<Vec<NewFollowUp>, String>,
    },
    /// A permanent refusal of this row (`scope: request` in the error table).
    Failed {
        /// The error code: WeChat Pay's `code`, or the SDK's own (`HTTP_500`, `INVALID_ROW`, `LOCAL`) when there is none.
        code: String,
        /// What the error says.
        message: String,
    },
    /// Send again with the same number; `throttled` for 429 / FREQUENCY_LIMITED.
    Retry {
        /// The error code: WeChat Pay's `code`, or the SDK's own (`HTTP_500`, `INVALID_ROW`, `LOCAL`) when there is none.
        code: String,
        /// What the error says.
        message: String,
        /// Whether the answer was a throttle (429 / `FREQUENCY_LIMITED`), which slows the pacing.
        throttled: bool,
    },
    /// A refusal about the brand the row acts for (`scope: caller` on an operation
    /// with a brand field): that brand's rows are held and re-checked, the others go on.
    BrandRefused {
        /// The error code (`NO_AUTH`).
        code: String,
        /// What the error says.
        message: String,
    },
    /// Nothing this row can fix: stop taking rows.
    Stop {
        /// The error code: WeChat Pay's `code`, or the SDK's own (`HTTP_500`, `INVALID_ROW`, `LOCAL`) when there is none.
        code: String,
        /// What the error says.
        message: String,
    },
}

/// What a succeeded row's follow-ups are built from.
#[derive(Debug, Clone, Copy)]
pub struct FollowContext<'a> {
    /// The follow-up the schema declares for the operation.
    pub follow_up: &'static FollowUp,
    /// The caller (brand) the follow-up numbers are derived for.
    pub identity: &'a str,
    /// The row's request, path parameters included.
    pub request: &'a Value,
}

impl FollowContext<'_> {
    fn follow_ups(&self, response: &Value) -> Result<Vec<NewFollowUp>, String> {
        let steps = Step::for_response(self.follow_up, self.identity, self.request, response)?;
        Ok(steps
            .into_iter()
            .enumerate()
            .map(|(item, step)| NewFollowUp {
                item: item as u32,
                operation_id: step.info.operation_id.to_owned(),
                request_no: step.request_no,
                brand: brand_of(step.info.brand_field, &step.body),
                body: step.body,
            })
            .collect())
    }
}

/// A verified 2xx reply: it took effect, whether or not it decodes. One that does
/// not match the schema is kept as far as it can be read, never sent again.
fn succeeded(
    info: &'static EndpointInfo,
    body: &[u8],
    follow: Option<FollowContext<'_>>,
) -> Outcome {
    let (value, note) = match decode_reply(info, body) {
        Ok(value) => (value, None),
        Err(reason) => (
            serde_json::from_slice(body).unwrap_or(Value::Null),
            Some(format!("reply does not match the schema: {reason}")),
        ),
    };
    Outcome::Succeeded {
        result: key_fields(info.response, &value),
        note,
        follow_ups: follow.map_or(Ok(Vec::new()), |f| f.follow_ups(&value)),
    }
}

/// What an error reply means before the operation decides what its refusal means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ApiVerdict {
    /// Send again with the same number: 5xx, SYSTEM_ERROR, 429 (`throttled`), or an
    /// unsigned error (anyone on the path could have written it: no proof to give up).
    Retry { throttled: bool },
    /// About the caller, not the request (a 401, or a code whose table rows say
    /// `scope: caller`: SIGN_ERROR, NO_AUTH, …): every request would get it.
    CampaignWide,
    /// `scope: caller` on an operation with a brand field: about the caller acting
    /// for this brand (NO_AUTH: the brand has not authorised the provider); every
    /// request for the same brand would get it.
    BrandWide,
    /// A verified refusal of this request; `documented` when the table lists the code
    /// (then with `scope: request`).
    Refusal { documented: bool },
}

/// An error reply read once: its code (`HTTP_<status>` when it has none), a message, a verdict.
pub(crate) struct ApiAnswer {
    pub code: String,
    pub message: String,
    pub verdict: ApiVerdict,
}

/// `info` is the operation that answered: its error table gives the code's scope.
pub(crate) fn read_api_error(info: &EndpointInfo, api: &ApiError<RawCode>) -> ApiAnswer {
    let code = if api.raw_code.is_empty() {
        format!("HTTP_{}", api.status)
    } else {
        api.raw_code.clone()
    };
    let mut message = format!("HTTP {} {}: {}", api.status, code, api.message);
    let verdict = if retryable(api.status, &api.raw_code) {
        ApiVerdict::Retry {
            throttled: api.status == 429 || api.raw_code == "FREQUENCY_LIMITED",
        }
    } else if !api.verified {
        message.push_str(" (error reply without a valid signature)");
        ApiVerdict::Retry { throttled: false }
    } else {
        let documented = info.error_rows(&api.raw_code).next().is_some();
        let scope = info.error_scope(&api.raw_code);
        if api.status == 401 {
            ApiVerdict::CampaignWide
        } else if documented && scope == ErrorScope::Caller {
            if info.brand_field.is_some() {
                ApiVerdict::BrandWide
            } else {
                ApiVerdict::CampaignWide
            }
        } else {
            ApiVerdict::Refusal { documented }
        }
    };
    ApiAnswer {
        code,
        message,
        verdict,
    }
}

/// Classifies the result of one attempt; `follow` when the results need a follow-up.
pub fn classify(
    info: &'static EndpointInfo,
    result: Result<VerifiedReply, Error<RawCode>>,
    follow: Option<FollowContext<'_>>,
) -> Outcome {
    let error = match result {
        Ok(reply) => return succeeded(info, &reply.body, follow),
        Err(e) => e,
    };
    let retry = |code: &str, message: String| Outcome::Retry {
        code: code.to_owned(),
        message,
        throttled: false,
    };
    // The error's own sentence and its causes, each once.
    let chain = ErrorChain(&error).to_string();
    match error.into_kind() {
        ErrorKind::Api(api) => {
            let ApiAnswer {
                code,
                message,
                verdict,
            } = read_api_error(info, &api);
            match verdict {
                ApiVerdict::Retry { throttled } => Outcome::Retry {
                    code,
                    message,
                    throttled,
                },
                ApiVerdict::CampaignWide => Outcome::Stop { code, message },
                ApiVerdict::BrandWide => Outcome::BrandRefused { code, message },
                ApiVerdict::Refusal { documented: true } => Outcome::Failed { code, message },
                ApiVerdict::Refusal { documented: false } => match ErrorScope::UNDOCUMENTED {
                    ErrorScope::Request => Outcome::Failed { code, message },
                    ErrorScope::Caller => Outcome::Stop {
                        code,
                        message: format!(
                            "{message} (not in the error table of {}: an undocumented code is taken \
                             to be about the caller, so the row is left pending)",
                            info.operation_id
                        ),
                    },
                },
            }
        }
        ErrorKind::Network(_) => retry("NETWORK", chain),
        ErrorKind::Verification { .. } => retry("VERIFICATION", chain),
        ErrorKind::OutcomeUnknown { .. } => retry("OUTCOME_UNKNOWN", chain),
        ErrorKind::BodyTooLarge { .. } => retry("BODY_TOO_LARGE", chain),
        // Verified, so it took effect: an outcome, never a reason to send again.
        ErrorKind::Decode(e) => succeeded(info, e.verified_body(), follow),
        // This row's request cannot be built (nothing was sent, so its number was
        // never used): the row fails and the others go on.
        ErrorKind::Validation(_)
        | ErrorKind::InvalidPath { .. }
        | ErrorKind::Encode(_)
        | ErrorKind::Unsendable { .. } => Outcome::Failed {
            code: "INVALID_ROW".into(),
            message: chain,
        },
        _ => Outcome::Stop {
            code: "LOCAL".into(),
            message: chain,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: &str, verified: bool) -> Error<RawCode> {
        ErrorKind::Api(ApiError {
            status,
            code: RawCode(code.into()),
            raw_code: code.into(),
            message: "m".into(),
            detail: None,
            request_id: None,
            verified,
            attempts: 1,
            location: None,
        })
        .into()
    }

    fn kind(outcome: &Outcome) -> &'static str {
        match outcome {
            Outcome::Succeeded { .. } => "succeeded",
            Outcome::Failed { .. } => "failed",
            Outcome::Retry {
                throttled: true, ..
            } => "throttled",
            Outcome::Retry { .. } => "retry",
            Outcome::BrandRefused { .. } => "brand",
            Outcome::Stop { .. } => "stop",
        }
    }

    #[test]
    fn a_verified_reply_that_does_not_match_the_schema_succeeds_and_is_never_resent() {
        let info = wechatpay_endpoints::find("send-user-product-coupon").unwrap();
        // coupon_state (required by the page) is missing: it took effect all the same.
        let body = br#"{"coupon_code":"C42","send_request_no":"N1"}"#.to_vec();
        let reply = VerifiedReply {
            status: 200,
            headers: Default::default(),
            body,
            signature: wechatpay_transport::SignatureHeaders {
                timestamp: String::new(),
                nonce: String::new(),
                signature: String::new(),
                serial: String::new(),
                signature_type: String::new(),
            },
            attempts: 1,
        };
        let request = serde_json::json!({
            "openid": "o", "product_coupon_id": "P", "stock_id": "S", "appid": "w"
        });
        let follow = FollowContext {
            follow_up: info.follow_up.as_ref().unwrap(),
            identity: "B",
            request: &request,
        };
        match classify(info, Ok(reply), Some(follow)) {
            Outcome::Succeeded {
                result,
                note,
                follow_ups,
            } => {
                assert_eq!(result["coupon_code"], "C42");
                let note = note.unwrap();
                assert!(
                    note.starts_with("reply does not match the schema: "),
                    "{note}"
                );
                // Without coupon_state the coupon is taken to need its confirm.
                assert_eq!(follow_ups.unwrap()[0].body["coupon_code"], "C42");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_request_that_cannot_be_built_fails_its_row_only() {
        let info = wechatpay_endpoints::find("send-user-product-coupon").unwrap();
        let error = ErrorKind::InvalidPath {
            path: "/brand/marketing/product-coupon/users/../coupons".into(),
            reason: "dot segment",
        }
        .into();
        match classify(info, Err(error), None) {
            Outcome::Failed { code, message } => {
                assert_eq!(code, "INVALID_ROW");
                assert!(message.contains("users/../coupons"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn only_permanent_errors_about_the_request_fail_a_row() {
        let info = wechatpay_endpoints::find("send-user-product-coupon").unwrap();
        for (status, code, verified, expected) in [
            (429, "FREQUENCY_LIMITED", true, "throttled"),
            (429, "", false, "throttled"),
            (500, "SYSTEM_ERROR", true, "retry"),
            (503, "", false, "retry"),
            (400, "SYSTEM_ERROR", true, "retry"),
            (403, "USER_ERROR", true, "failed"),
            (400, "PARAM_ERROR", true, "failed"),
            (400, "INVALID_REQUEST", true, "failed"),
            (403, "USER_ERROR", false, "retry"),
            (401, "SIGN_ERROR", true, "stop"),
            (403, "NO_AUTH", true, "stop"),
            (404, "NOT_FOUND", true, "stop"),
            // Declared in the table with their scope (schema), not named here.
            (400, "USER_RECEIVE_LIMIT", true, "failed"),
            (400, "STOCK_INSUFFICIENT", true, "stop"),
            (400, "STOCK_EXPIRED", true, "stop"),
            (401, "ANY_CODE", true, "stop"),
        ] {
            let outcome = classify(info, Err(api(status, code, verified)), None);
            assert_eq!(kind(&outcome), expected, "{status} {code} {verified}");
        }
    }

    #[test]
    fn a_caller_refusal_of_a_brand_field_operation_is_about_that_brand() {
        let info = wechatpay_endpoints::find("partner-send-user-product-coupon").unwrap();
        assert_eq!(info.brand_field, Some("brand_id"));
        for (status, code, expected) in [
            // The schema's `scope: caller` rows: about the brand the row names.
            (403, "NO_AUTH", "brand"),
            (400, "STOCK_INSUFFICIENT", "brand"),
            // The provider's own signature, and a code no table lists: every brand.
            (401, "SIGN_ERROR", "stop"),
            (404, "NOT_FOUND", "stop"),
            (403, "USER_ERROR", "failed"),
            (429, "FREQUENCY_LIMITED", "throttled"),
        ] {
            let outcome = classify(info, Err(api(status, code, true)), None);
            assert_eq!(kind(&outcome), expected, "{status} {code}");
        }
    }
}
