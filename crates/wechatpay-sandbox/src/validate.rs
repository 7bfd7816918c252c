//! What WeChat Pay checks before it acts on a request: the auth scheme of the
//! endpoint family and its identity, serial, timestamp window and signature
//! (401 SIGN_ERROR, with the message it expected in `detail`); the required
//! headers; and the body against the schema (400 PARAM_ERROR naming the field),
//! decoded once into the operation's typed request, which its handler receives.
//!
//! A header that must be there once is refused when repeated (a server that
//! took the first of two `Authorization` or `Wechatpay-Serial` headers would
//! check something other than what a proxy or a log shows), and every field
//! of `Authorization` must have a value.

use http::HeaderMap;
use serde_json::{json, Value};
use wechatpay_transport::sign::{request_message, Authorization};
use wechatpay_transport::verify::{verify_request, VerifyError};
use wechatpay_transport::{AuthScheme, EndpointInfo};

use wechatpay_endpoints::AnyRequest;
use wechatpay_runtime::json::{self, BodyMode, Problem};
use wechatpay_runtime::BodyKind;

use crate::keys::SandboxKeys;
use crate::replies::Rejection;

/// A request as received.
#[derive(Debug)]
pub struct Incoming<'a> {
    /// The HTTP method, upper-case.
    pub method: &'a str,
    /// Path plus `?query`, as received (what the client signed).
    pub url: &'a str,
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The raw body (what the client signed).
    pub body: &'a [u8],
}

/// A request that passed every check.
pub struct Accepted {
    /// The identity in `Authorization`: mchid, brand_id or the provider's mchid.
    pub identity: String,
    /// The wire body with the path and query parameters added: what idempotency
    /// compares.
    pub request: Value,
    /// The same request decoded into the operation's typed request (decoded once,
    /// here; a partner twin's as its brand operation's request): what the
    /// operation's handler receives.
    pub typed: AnyRequest,
}

/// Runs every check in WeChat Pay's order: authentication, headers, body.
pub fn check(
    keys: &SandboxKeys,
    info: &'static EndpointInfo,
    path_params: &[(&'static str, &str)],
    request: &Incoming<'_>,
    now: i64,
) -> Result<Accepted, Rejection> {
    let identity = authenticate(keys, info, request, now)?;
    check_headers(keys, info, request.headers)?;
    let (body, typed) = check_body(info, path_params, request.url, request.body)?;
    Ok(Accepted {
        identity,
        request: body,
        typed,
    })
}

pub(super) fn authenticate(
    keys: &SandboxKeys,
    info: &EndpointInfo,
    request: &Incoming<'_>,
    now: i64,
) -> Result<String, Rejection> {
    let count = request
        .headers
        .get_all(http::header::AUTHORIZATION)
        .iter()
        .count();
    if count > 1 {
        return Err(Rejection::sign_error(format!(
            "the Authorization header appears {count} times; send it once"
        )));
    }
    let header = request
        .headers
        .get(http::header::AUTHORIZATION)
        .ok_or_else(|| Rejection::sign_error("missing Authorization header"))?
        .to_str()
        .map_err(|_| Rejection::sign_error("Authorization header is not visible ASCII"))?;
    let auth = Authorization::parse(header).map_err(|e| Rejection::sign_error(e.to_string()))?;
    let empty = [
        (info.auth.identity_param(), &auth.identity),
        ("nonce_str", &auth.nonce),
        ("signature", &auth.signature),
        ("timestamp", &auth.timestamp),
        ("serial_no", &auth.serial_no),
    ]
    .into_iter()
    .find(|(_, v)| v.trim().is_empty());
    if let Some((name, _)) = empty {
        return Err(Rejection::sign_error(format!(
            "Authorization: {name} is empty"
        )));
    }
    let expected_message = request_message(
        request.method,
        request.url,
        &auth.timestamp,
        &auth.nonce,
        request.body,
    );
    let detail = json!({
        "expected_message": String::from_utf8_lossy(&expected_message),
        "auth_scheme": info.auth.scheme(),
    });
    let reject = |message: String| Rejection::sign_error(message).with_detail(detail.clone());
    if !auth.scheme.signs_for(info.auth) {
        return Err(reject(format!(
            "{} is a {} API: expected the {} scheme, got {}",
            info.operation_id,
            info.auth.family(),
            info.auth.scheme(),
            auth.scheme.scheme()
        )));
    }
    let id = &keys.identity;
    let (expected_identity, name) = match info.auth {
        AuthScheme::Merchant => (&id.mchid, "mchid"),
        AuthScheme::Brand => (&id.brand_id, "brand_id"),
        AuthScheme::Partner => (&id.sp_mchid, "mchid"),
    };
    // Every brand of sandbox.json signs for itself with the directory's key.
    let known = auth.identity == *expected_identity
        || (info.auth == AuthScheme::Brand && id.knows_brand(&auth.identity));
    if !known {
        return Err(reject(format!(
            "{name} {:?} is unknown to the sandbox (its {name} is {expected_identity})",
            auth.identity
        )));
    }
    if auth.serial_no != keys.identity.serial_no {
        return Err(reject(format!(
            "serial_no {:?} is not the serial of {name} {expected_identity}'s API certificate",
            auth.serial_no
        )));
    }
    verify_request(
        &auth,
        request.method,
        request.url,
        request.body,
        now,
        keys.client_verifier.as_ref(),
    )
    .map_err(|e| match e {
        VerifyError::TimestampSkew { .. } | VerifyError::Header(_) => {
            reject(format!("Authorization timestamp: {e}"))
        }
        other => reject(format!(
            "signature verification failed ({other}); the expected message to sign is in detail.expected_message"
        )),
    })?;
    Ok(auth.identity)
}

fn check_headers(
    keys: &SandboxKeys,
    info: &EndpointInfo,
    headers: &HeaderMap,
) -> Result<(), Rejection> {
    for required in info.headers.iter().filter(|h| h.required) {
        let count = headers.get_all(required.name).iter().count();
        if count > 1 {
            return Err(Rejection::param_error(format!(
                "{}: the header appears {count} times; send it once",
                required.name
            ))
            .with_detail(json!({"field": required.name, "location": "header"})));
        }
        let value = headers
            .get(required.name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                Rejection::param_error(format!("missing required header {}", required.name))
                    .with_detail(json!({"field": required.name, "location": "header"}))
            })?;
        if required
            .name
            .eq_ignore_ascii_case(wechatpay_transport::headers::WECHATPAY_SERIAL)
            && value != keys.identity.public_key_id
        {
            return Err(Rejection::param_error(format!(
                "{}: {value:?} is not the WeChat Pay public key id of brand_id {}",
                required.name, keys.identity.brand_id
            ))
            .with_detail(json!({"field": required.name, "location": "header"})));
        }
    }
    Ok(())
}

/// The request as the operation's typed request sees it: the wire body (checked
/// for shape alone), then the path and query parameters merged in, then the
/// typed request's deserialization and `validate()` (through the generated dispatch):
/// the request as JSON and as the typed request.
fn check_body(
    info: &'static EndpointInfo,
    path_params: &[(&'static str, &str)],
    url: &str,
    body: &[u8],
) -> Result<(Value, AnyRequest), Rejection> {
    let mut value = match info.body {
        BodyKind::None if body.is_empty() => Value::Object(Default::default()),
        BodyKind::None => {
            return Err(Rejection::param_error(format!(
                "{} takes no body",
                info.operation_id
            )))
        }
        BodyKind::Json | BodyKind::Multipart => {
            let text = std::str::from_utf8(body).map_err(|e| {
                Rejection::param_error(format!("body is not UTF-8 (byte {})", e.valid_up_to()))
            })?;
            json::parse_strict(text)
                .map_err(|e| Rejection::param_error(format!("body is not valid JSON: {e}")))?
        }
    };
    let problems = json::check_shape(info.request, &value, BodyMode::Wire);
    if !problems.is_empty() {
        return Err(param_error(&problems, "body"));
    }
    let mut params = Vec::new();
    for (name, raw) in path_params {
        let decoded = wechatpay_runtime::path::percent_decode(raw).ok_or_else(|| {
            Rejection::param_error(format!(
                "path parameter {name}: {raw:?} is not valid percent-encoded UTF-8"
            ))
            .with_detail(json!({"field": name, "location": "path"}))
        })?;
        params.push(((*name).to_owned(), decoded));
    }
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    let query_params = wechatpay_runtime::path::parse_query(query)
        .map_err(|e| Rejection::param_error(e).with_detail(json!({"location": "query"})))?;
    params.extend(query_params);
    json::merge_params(info.request, &mut value, &params)
        .map_err(|problems| param_error(&problems, "query"))?;
    let operation = wechatpay_endpoints::dispatch(info.operation_id)
        .ok_or_else(|| Rejection::internal(format!("no operation {}", info.operation_id)))?;
    let located = |problems: Vec<Problem>| {
        let location = info
            .request
            .field(problems[0].path.split(['.', '[']).next().unwrap_or(""))
            .map_or("body", |f| f.location.as_str());
        param_error(&problems, location)
    };
    let typed = operation.decode_request(&value).map_err(located)?;
    // A partner twin's handler is its brand operation's: it takes that request.
    let typed = match info.twin_of {
        Some(twin) => crate::twin::brand_request(info, twin, &value).map_err(located)?,
        None => typed,
    };
    Ok((value, typed))
}

/// 400 PARAM_ERROR naming the first problem's field; every problem is in `detail.issues`.
fn param_error(problems: &[Problem], location: &str) -> Rejection {
    let first = &problems[0];
    Rejection::param_error(first.to_string()).with_detail(json!({
        "field": first.path,
        "location": location,
        "issue": first.message,
        "issues": problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
    }))
}
