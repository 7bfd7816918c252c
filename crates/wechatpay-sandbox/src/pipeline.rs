//! One API request, in WeChat Pay's order: route; faults requested; the
//! checks of `validate` (signature, headers, schema); the caller's tenancy
//! (a provider acting for a brand that did not authorise it is refused here,
//! before anything is counted); the rate limit; then, in one transaction, the
//! request number (replay or conflict) and the operation's handler, whose
//! result is recorded under that number.

use bytes::Bytes;
use wechatpay_endpoints::Route;
use wechatpay_transport::EndpointInfo;

use crate::answers;
use crate::faults::{ErrorFault, Fault, Faults, FAULT_HEADER};
use crate::idempotency::{self, Key, Lookup};
use crate::ops::{self, Ctx};
use crate::ratelimit::PartnerQuota;
use crate::replies::Rejection;
use crate::state::{Reply, SandboxState};
use crate::tenancy::Caller;
use crate::validate::{check, Incoming as Received};

/// What to do with the connection.
pub enum Outcome {
    Reply {
        reply: Reply,
        operation: Option<&'static str>,
        note: String,
    },
    Drop {
        operation: Option<&'static str>,
    },
}

/// The result of the transaction: status, body, whether it was new, whether it notified.
struct Done {
    status: u16,
    body: Vec<u8>,
    fresh: bool,
    notified: bool,
}

pub async fn process(
    state: &SandboxState,
    parts: &http::request::Parts,
    url: &str,
    body: &[u8],
) -> Outcome {
    let path = parts.uri.path();
    let received = Received {
        method: parts.method.as_str(),
        url,
        headers: &parts.headers,
        body,
    };
    if path == crate::certificates::PATH {
        let reply = match crate::certificates::answer(&state.keys, &received, state.wall.now_unix())
        {
            Ok(list) => state.reply(200, Bytes::from(list), false, None),
            Err(r) => state.reply_error(&r, false),
        };
        return Outcome::Reply {
            reply,
            operation: None,
            note: "certificates".into(),
        };
    }
    let (info, params) = match wechatpay_endpoints::route(parts.method.as_str(), path) {
        Route::Found(info, params) => (info, params),
        Route::WrongMethod(info) => {
            let mut stats = state.stats();
            let op = stats.operation(info.operation_id);
            op.requests += 1;
            op.rejected += 1;
            drop(stats);
            let r = Rejection::new(
                405,
                "INVALID_REQUEST",
                format!("{path} does not take {}", parts.method),
            );
            return Outcome::Reply {
                reply: state.reply_error(&r, false),
                operation: Some(info.operation_id),
                note: r.code,
            };
        }
        Route::NotFound => {
            let r = Rejection::new(404, "NOT_FOUND", format!("no operation at {path}"));
            return Outcome::Reply {
                reply: state.reply_error(&r, false),
                operation: None,
                note: "NOT_FOUND".into(),
            };
        }
    };
    let op = Some(info.operation_id);
    state.stats().operation(info.operation_id).requests += 1;
    let faults = match parts.headers.get(FAULT_HEADER) {
        Some(value) => match value
            .to_str()
            .map_err(|_| "not visible ASCII".to_owned())
            .and_then(Faults::parse)
        {
            Ok(f) => f,
            Err(e) => {
                let r = Rejection::new(400, "INVALID_REQUEST", format!("{FAULT_HEADER}: {e}"));
                return reject(state, info, r, false);
            }
        },
        None => state.default_faults.clone(),
    };
    let tamper = faults.has(&Fault::TamperSignature);
    if let Err(r) = crate::content_type::check(info.body, &parts.headers) {
        return reject(state, info, r, tamper);
    }
    // An upload's signed body is its JSON meta part.
    let received = match info.body {
        wechatpay_runtime::BodyKind::Multipart => {
            let content_type = parts
                .headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            match crate::multipart::meta_part(content_type, body) {
                Ok(meta) => Received {
                    body: meta,
                    ..received
                },
                Err(r) => return reject(state, info, r, tamper),
            }
        }
        _ => received,
    };
    let accepted = match check(&state.keys, info, &params, &received, state.wall.now_unix()) {
        Ok(a) => a,
        Err(r) => return reject(state, info, r, tamper),
    };
    // Before anything is counted or recorded: a brand that did not authorise the provider.
    let caller = match Caller::of(
        &state.keys.identity,
        info,
        accepted.identity,
        &accepted.request,
    ) {
        Ok(caller) => caller,
        Err(r) => return reject(state, info, r, tamper),
    };
    if let Err(rate) = state
        .limiter
        .take(&caller.quota_key(state.partner_quota), info)
    {
        let whom = match (&caller.provider, &caller.brand, state.partner_quota) {
            (Some(_), _, PartnerQuota::PerProvider) => "this service provider (all its brands)",
            (_, Some(_), _) => "this brand (its own calls and a provider's for it)",
            _ => "this caller",
        };
        return reject(
            state,
            info,
            answers::frequency_limited(info, rate, whom),
            tamper,
        );
    }
    if let Some(delay) = faults.delay() {
        tokio::time::sleep(delay).await;
    }
    if let Some(fault) = faults.error() {
        match fault_rejection(info, fault) {
            Ok(r) | Err(r) => return reject(state, info, r, tamper),
        }
    }
    // A provider's numbers are unique per brand because the schema says so (the twins'
    // `unique_within` starts with brand_id), not because of who signs.
    let key = Key::of(info, &caller.signer, &accepted.request);
    let fingerprint = idempotency::fingerprint(&accepted.request);
    let now = state.clock.now();
    let done = state.store.transaction(|db| {
        if let Some(key) = &key {
            match idempotency::lookup(db, key, &fingerprint)? {
                Lookup::Replay { status, body } => {
                    return Ok(Done {
                        status,
                        body,
                        fresh: false,
                        notified: false,
                    })
                }
                Lookup::Conflict => {
                    let field = info.request_number.map_or("request number", |n| n.field);
                    return Err(answers::number_reused(info, field, &key.number));
                }
                Lookup::New => {}
            }
        }
        let mut ctx = Ctx {
            db,
            now,
            info,
            caller: &caller,
            keys: &state.keys,
            notified: false,
            confirm_after_notify: state.confirm_after_notify,
        };
        let body = ops::execute(&mut ctx, accepted.typed)?;
        if let Some(key) = &key {
            idempotency::record(db, key, &fingerprint, 200, &body)?;
        }
        Ok(Done {
            status: 200,
            body,
            fresh: true,
            notified: ctx.notified,
        })
    });
    let done = match done {
        Ok(done) => done,
        Err(r) => return reject(state, info, r, tamper),
    };
    if done.notified {
        state.outbox.wake();
    }
    {
        let mut stats = state.stats();
        let counters = stats.operation(info.operation_id);
        if done.fresh {
            counters.issued += 1;
        } else {
            counters.replayed += 1;
        }
    }
    // Dropped only the first time, so a retry with the same number gets the recorded result.
    if done.fresh && key.is_some() && faults.has(&Fault::DropAfterReceive) {
        return Outcome::Drop { operation: op };
    }
    Outcome::Reply {
        reply: state.reply(done.status, Bytes::from(done.body), tamper, None),
        operation: op,
        note: if done.fresh { "issued" } else { "replayed" }.into(),
    }
}

fn reject(
    state: &SandboxState,
    info: &'static EndpointInfo,
    r: Rejection,
    tamper: bool,
) -> Outcome {
    state.stats().operation(info.operation_id).rejected += 1;
    Outcome::Reply {
        reply: state.reply_error(&r, tamper),
        operation: Some(info.operation_id),
        note: r.code,
    }
}

/// The error reply a `error=`/`status=` fault asks for; `Err` when the code is not in the table.
fn fault_rejection(info: &EndpointInfo, fault: ErrorFault<'_>) -> Result<Rejection, Rejection> {
    let injected = serde_json::json!({"sandbox_fault": true});
    match fault {
        ErrorFault::Code(code) => Rejection::documented(info, code)
            .map(|r| r.with_detail(injected.clone()))
            .ok_or_else(|| {
                let mut codes: Vec<&str> = info.errors.iter().map(|r| r.code).collect();
                codes.dedup();
                Rejection::new(
                    400,
                    "INVALID_REQUEST",
                    format!(
                        "{FAULT_HEADER}: error={code} is not in the error table of {} ({})",
                        info.operation_id,
                        codes.join(", ")
                    ),
                )
            }),
        ErrorFault::Status(status) => {
            let r = match status {
                429 => Rejection::documented(info, "FREQUENCY_LIMITED").unwrap_or_else(|| {
                    Rejection::new(429, "FREQUENCY_LIMITED", "请求过于频繁,请稍后重试")
                }),
                500 => Rejection::documented(info, "SYSTEM_ERROR")
                    .unwrap_or_else(|| Rejection::new(500, "SYSTEM_ERROR", "系统异常,请稍后重试")),
                s => info
                    .errors
                    .iter()
                    .find(|row| row.status == s)
                    .map(|row| Rejection::new(row.status, row.code, row.description))
                    .unwrap_or_else(|| {
                        let code = if s >= 500 {
                            "SYSTEM_ERROR"
                        } else {
                            "INVALID_REQUEST"
                        };
                        Rejection::new(s, code, format!("sandbox fault status={s}"))
                    }),
            };
            Ok(Rejection { status, ..r }.with_detail(injected))
        }
    }
}
