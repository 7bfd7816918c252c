//! Error replies: the HTTP status and the `{code, message, detail}` body
//! WeChat Pay sends, plus the troubleshooting code that ends the `Request-ID`.

use serde_json::{json, Value};
use wechatpay_runtime::EndpointInfo;

/// An error reply: HTTP status and the JSON WeChat Pay sends.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// The HTTP status.
    pub status: u16,
    /// The reply's `code` (`PARAM_ERROR`).
    pub code: String,
    /// The reply's `message`, naming what is wrong.
    pub message: String,
    /// The reply's `detail` object (`field`, `location`, `issue` for a field error; empty otherwise).
    pub detail: Value,
    /// The numeric troubleshooting code (family README, "Troubleshooting codes"):
    /// the suffix after the last `-` of the reply's `Request-ID`.
    pub trouble: Option<u32>,
}

impl Rejection {
    /// A rejection with an empty detail.
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        Rejection {
            status,
            code: code.to_owned(),
            message: message.into(),
            detail: json!({}),
            trouble: None,
        }
    }

    /// 401 SIGN_ERROR.
    pub fn sign_error(message: impl Into<String>) -> Self {
        Self::new(401, "SIGN_ERROR", message)
    }

    /// 400 PARAM_ERROR.
    pub fn param_error(message: impl Into<String>) -> Self {
        Self::new(400, "PARAM_ERROR", message)
    }

    /// 400 PARAM_ERROR naming a field and where it travels.
    pub fn param(field: &str, location: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::param_error(format!("{field}: {message}"))
            .with_detail(json!({"field": field, "location": location, "issue": message}))
    }

    /// 500 SYSTEM_ERROR for a failure inside the sandbox.
    pub fn internal(message: impl std::fmt::Display) -> Self {
        Self::new(
            500,
            "SYSTEM_ERROR",
            format!("sandbox internal error: {message}"),
        )
    }

    /// Replaces the detail.
    pub fn with_detail(mut self, detail: Value) -> Self {
        self.detail = detail;
        self
    }

    /// Sets the troubleshooting code (also added to `detail`).
    pub fn with_trouble(mut self, code: u32) -> Self {
        self.trouble = Some(code);
        if let Value::Object(map) = &mut self.detail {
            map.insert("troubleshooting_code".into(), json!(code));
        }
        self
    }

    /// A row of the endpoint's error table (its documented status and description).
    pub fn documented(info: &EndpointInfo, code: &str) -> Option<Self> {
        info.errors
            .iter()
            .find(|row| row.code == code)
            .map(|row| Self::new(row.status, row.code, row.description))
    }

    /// The reply body.
    pub fn body(&self) -> Vec<u8> {
        let body = json!({"code": self.code, "message": self.message, "detail": self.detail});
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

impl From<rusqlite::Error> for Rejection {
    fn from(e: rusqlite::Error) -> Self {
        Rejection::internal(format!("state store: {e}"))
    }
}

impl From<serde_json::Error> for Rejection {
    fn from(e: serde_json::Error) -> Self {
        Rejection::internal(format!("stored JSON: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_have_code_message_detail() {
        let info = wechatpay_endpoints::find("send-product-coupon").unwrap();
        let r = Rejection::documented(info, "STOCK_INSUFFICIENT")
            .unwrap()
            .with_trouble(1);
        assert_eq!(r.status, 400);
        let body: Value = serde_json::from_slice(&r.body()).unwrap();
        assert_eq!(body["code"], "STOCK_INSUFFICIENT");
        assert_eq!(body["detail"]["troubleshooting_code"], 1);
    }
}
