//! Sign, send, verify and decode WeChat Pay APIv3 requests.
//!
//! This crate knows nothing about coupons: it knows an [`Endpoint`] (method,
//! path template, auth scheme, request, response, error codes) and how to
//! sign, send, verify and decode.

pub mod endpoint;

pub use endpoint::{
    AuthScheme, Endpoint, EndpointInfo, ErrorCode, ErrorDoc, Example, FieldInfo, HeaderInfo,
    Location, Method,
};
pub use wechatpay_models::{LengthUnit, Validate, Violation, Violations};
