//! The `Content-Type` an operation takes, from the schema's `EndpointInfo::body`:
//! WeChat Pay APIv3 requires `application/json` on every request with a JSON
//! body and `multipart/form-data` on the image upload (API rules, 数据格式);
//! a request without a body (`BodyKind::None`) needs none and any is ignored.
//! A missing, other or repeated `Content-Type` is answered like the other
//! breaches of the APIv3 rules: 400 INVALID_REQUEST (common row: HTTP请求不符合
//! 微信支付APIv3接口规则), naming the header.

use http::HeaderMap;
use wechatpay_runtime::BodyKind;

use crate::replies::Rejection;

/// The media type `kind` needs, if any.
fn required(kind: BodyKind) -> Option<&'static str> {
    match kind {
        BodyKind::Json => Some("application/json"),
        BodyKind::Multipart => Some("multipart/form-data"),
        BodyKind::None => None,
    }
}

/// Refuses a request whose `Content-Type` is not the one its body kind needs.
pub fn check(kind: BodyKind, headers: &HeaderMap) -> Result<(), Rejection> {
    let Some(need) = required(kind) else {
        return Ok(());
    };
    let refuse = |why: String| {
        Rejection::new(
            400,
            "INVALID_REQUEST",
            format!("Content-Type: {why}; this operation takes {need}"),
        )
        .with_detail(serde_json::json!({"header": "Content-Type", "expected": need}))
    };
    let mut values = headers.get_all(http::header::CONTENT_TYPE).iter();
    let Some(value) = values.next() else {
        return Err(refuse("missing".into()));
    };
    if values.next().is_some() {
        return Err(refuse("sent more than once".into()));
    }
    let value = value
        .to_str()
        .map_err(|_| refuse("not visible ASCII".into()))?;
    let media_type = value.split(';').next().unwrap_or_default().trim();
    if media_type.eq_ignore_ascii_case(need) {
        Ok(())
    } else {
        Err(refuse(format!("{value:?} is not {need}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::CONTENT_TYPE;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(CONTENT_TYPE, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn each_body_kind_takes_its_own_media_type() {
        let ok = |kind, values: &[&str]| check(kind, &headers(values)).is_ok();
        assert!(ok(BodyKind::Json, &["application/json"]));
        assert!(ok(BodyKind::Json, &["Application/JSON; charset=utf-8"]));
        assert!(!ok(BodyKind::Json, &[]));
        assert!(!ok(BodyKind::Json, &["text/plain"]));
        assert!(!ok(BodyKind::Json, &["application/json", "text/plain"]));
        assert!(!ok(BodyKind::Json, &["application/jsonp"]));
        assert!(ok(
            BodyKind::Multipart,
            &["multipart/form-data; boundary=x"]
        ));
        assert!(!ok(BodyKind::Multipart, &["application/json"]));
        assert!(ok(BodyKind::None, &[]));
        assert!(ok(BodyKind::None, &["application/json"]));
    }
}
