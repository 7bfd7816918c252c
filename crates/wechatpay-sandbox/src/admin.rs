//! The sandbox's own endpoints (unsigned, not part of WeChat Pay):
//!
//! - `GET /sandbox/stats` — `{"requests": N, "operations": {"<id>": {"requests", "issued", "replayed", "rejected"}}}`
//! - `GET /sandbox/clock` — `{"now": "<RFC 3339>", "offset_seconds": N}`
//! - `POST /sandbox/clock` with `{"advance_seconds": N}` — moves the business
//!   clock forward N seconds (PENDING → EFFECTIVE → EXPIRED without waiting);
//!   answers like GET. The clock never moves back, and never more than 100
//!   years ahead of the wall clock (`clock::MAX_OFFSET_SECONDS`; 400 beyond).
//! - `GET /sandbox/notifications` — `{"pending", "delivered", "failed_attempts", "dropped"}`
//! - `POST /sandbox/pre-sends/claim` with `{"token": "<pre-send token>"}` — the user
//!   takes a pre-sent coupon in the 领券组件: it is issued (send_channel
//!   RECEIVE_COMPONENT, with its PRODUCT_COUPON.SEND notification); answers
//!   `{"user_product_coupon_list": [...]}`, or the error a send would get.

use http::{Method, StatusCode};
use serde_json::{json, Value};

use wechatpay_endpoints::brand::PreSendUserProductCoupon;
use wechatpay_runtime::Endpoint;

use crate::clock::{datetime, MAX_ADVANCE_SECONDS, MAX_OFFSET_SECONDS};
use crate::ctx::Ctx;
use crate::ops;
use crate::replies::Rejection;
use crate::sql;
use crate::state::{plain, Reply, SandboxState};

const ENDPOINTS: &str = "GET /sandbox/stats, GET|POST /sandbox/clock, GET /sandbox/notifications, \
     POST /sandbox/pre-sends/claim";

fn json_reply(status: StatusCode, body: &Value) -> Reply {
    plain(status, serde_json::to_vec(body).unwrap_or_default())
}

fn error(status: StatusCode, code: &str, message: String) -> Reply {
    json_reply(status, &json!({"code": code, "message": message}))
}

fn clock(state: &SandboxState) -> Value {
    json!({
        "now": datetime(state.clock.now()).to_string(),
        "offset_seconds": state.clock.offset(),
    })
}

fn advance(state: &SandboxState, body: &[u8]) -> Reply {
    let seconds = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("advance_seconds").and_then(Value::as_i64));
    let Some(seconds) = seconds.filter(|s| (1..=MAX_ADVANCE_SECONDS).contains(s)) else {
        return error(
            StatusCode::BAD_REQUEST,
            "PARAM_ERROR",
            format!("expected {{\"advance_seconds\": N}} with N from 1 to {MAX_ADVANCE_SECONDS}"),
        );
    };
    let offset = match state.clock.advance(seconds) {
        Ok(offset) => offset,
        Err(offset) => {
            return error(
                StatusCode::BAD_REQUEST,
                "PARAM_ERROR",
                format!(
                    "advance_seconds: the business clock may be at most {MAX_OFFSET_SECONDS} s \
                     (100 years) ahead of the wall clock; it is {offset} s ahead, so at most {} \
                     more seconds can be added",
                    MAX_OFFSET_SECONDS - offset
                ),
            )
        }
    };
    let saved = state
        .store
        .transaction(|db| sql::set_meta(db, "clock_offset", &offset.to_string()));
    if let Err(e) = saved {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "SYSTEM_ERROR",
            e.to_string(),
        );
    }
    json_reply(StatusCode::OK, &clock(state))
}

fn claim(state: &SandboxState, body: &[u8]) -> Reply {
    let token = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("token").and_then(Value::as_str).map(str::to_owned));
    let Some(token) = token else {
        return error(
            StatusCode::BAD_REQUEST,
            "PARAM_ERROR",
            "expected {\"token\": \"<a pre-send token>\"}".into(),
        );
    };
    let now = state.clock.now();
    let claimed = state.store.transaction(|db| {
        let caller = ops::claimer(db, &token)?;
        let mut ctx = Ctx {
            db,
            now,
            info: <PreSendUserProductCoupon as Endpoint>::INFO,
            caller: &caller,
            keys: &state.keys,
            notified: false,
            confirm_after_notify: state.confirm_after_notify,
        };
        let list = ops::claim(&mut ctx, &token)?;
        Ok::<_, Rejection>((list, ctx.notified))
    });
    match claimed {
        Ok((list, notified)) => {
            if notified {
                state.outbox.wake();
            }
            json_reply(StatusCode::OK, &json!({"user_product_coupon_list": list}))
        }
        Err(r) => plain(
            StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST),
            r.body(),
        ),
    }
}

/// Answers a request under `/sandbox/`.
pub fn answer(state: &SandboxState, method: &Method, path: &str, body: &[u8]) -> Reply {
    match (method, path) {
        (&Method::GET, "/sandbox/stats") => {
            let stats = serde_json::to_value(&*state.stats()).unwrap_or_default();
            json_reply(StatusCode::OK, &stats)
        }
        (&Method::GET, "/sandbox/clock") => json_reply(StatusCode::OK, &clock(state)),
        (&Method::POST, "/sandbox/clock") => advance(state, body),
        (&Method::GET, "/sandbox/notifications") => {
            json_reply(StatusCode::OK, &state.outbox.report())
        }
        (&Method::POST, "/sandbox/pre-sends/claim") => claim(state, body),
        _ => error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("sandbox endpoints: {ENDPOINTS}"),
        ),
    }
}
