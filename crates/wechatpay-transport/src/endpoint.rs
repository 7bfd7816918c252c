//! What the transport needs to know about one API operation.
//!
//! The endpoints crate implements [`Endpoint`] for one unit type per operation,
//! generated from the schema; [`EndpointInfo`] carries the schema facts that
//! tools (the CLI's `describe`, the sandbox) read at run time.

use std::fmt::Debug;

use serde::de::DeserializeOwned;
use serde::Serialize;
use wechatpay_models::{LengthUnit, Validate};

/// How requests to an endpoint are signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthScheme {
    /// Merchant APIs: `WECHATPAY2-SHA256-RSA2048 mchid="…",…`.
    Merchant,
    /// Brand APIs: `WECHATPAY-BRAND-SHA256-RSA2048 brand_id="…",…`.
    Brand,
}

impl AuthScheme {
    /// The scheme word that opens the `Authorization` header.
    pub fn scheme(self) -> &'static str {
        match self {
            AuthScheme::Merchant => "WECHATPAY2-SHA256-RSA2048",
            AuthScheme::Brand => "WECHATPAY-BRAND-SHA256-RSA2048",
        }
    }

    /// The name of the identity parameter in the `Authorization` header.
    pub fn identity_param(self) -> &'static str {
        match self {
            AuthScheme::Merchant => "mchid",
            AuthScheme::Brand => "brand_id",
        }
    }
}

/// HTTP method of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    /// The method as it appears in the signed message.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// Where a request field travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Location {
    Path,
    Query,
    Body,
}

/// One row of an endpoint's error table (a code may have several rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorDoc {
    pub status: u16,
    pub code: &'static str,
    pub description: &'static str,
    pub solution: &'static str,
    /// Whether sending the same request again (same request number) can succeed.
    pub retryable: bool,
}

/// A header the endpoint requires beyond `Authorization`, `Accept` and `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderInfo {
    pub name: &'static str,
    pub description: &'static str,
}

/// A request field as the schema describes it; nested fields use dotted paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldInfo {
    pub path: &'static str,
    pub location: Location,
    /// `string`, `integer`, `boolean`, `datetime`, a type name, or `array<…>`.
    pub type_name: &'static str,
    pub required: bool,
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    pub length_unit: LengthUnit,
    /// Allowed characters as a character class, e.g. `0-9A-Za-z_-`.
    pub charset: Option<&'static str>,
    /// Documented values when the field is an enum.
    pub enum_values: &'static [&'static str],
    pub description: &'static str,
}

/// A request or reply example from the doc page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Example {
    pub name: &'static str,
    pub path_params: &'static [(&'static str, &'static str)],
    /// The JSON body exactly as the page shows it.
    pub body: &'static str,
}

/// Everything the schema says about one operation.
#[derive(Debug, Clone, Copy)]
pub struct EndpointInfo {
    /// Kebab-case id, e.g. `send-user-product-coupon`.
    pub operation_id: &'static str,
    /// The doc page title.
    pub title: &'static str,
    /// The doc page's update date, `YYYY-MM-DD`.
    pub doc_updated: &'static str,
    pub method: Method,
    /// The path with `{name}` placeholders.
    pub path_template: &'static str,
    pub auth: AuthScheme,
    pub required_headers: &'static [HeaderInfo],
    /// The documented rate limit, as the page words it, if any.
    pub rate_limit: Option<&'static str>,
    pub request_type: &'static str,
    pub response_type: &'static str,
    pub fields: &'static [FieldInfo],
    /// The full error table, common codes included, every row kept.
    pub errors: &'static [ErrorDoc],
    pub request_examples: &'static [Example],
    pub response_examples: &'static [Example],
}

/// A typed error code from an endpoint's error table, with a fallback for others.
pub trait ErrorCode: Debug + Clone + PartialEq + Send + Sync + 'static {
    /// Maps a reply's `code` to a variant (unknown codes are kept verbatim).
    fn from_code(code: &str) -> Self;
    /// The code as WeChat Pay writes it.
    fn code(&self) -> &str;
    /// The error table rows for this code (empty for a code the table lacks).
    fn docs(&self) -> &'static [ErrorDoc];
    /// Whether the same request may succeed when sent again.
    fn retryable(&self) -> bool;
}

/// One API operation; implemented by a unit type per operation.
pub trait Endpoint: Send + Sync + 'static {
    type Request: Serialize + Validate + Send + Sync;
    type Response: DeserializeOwned + Send;
    type ErrorCode: ErrorCode;

    /// The schema facts of this operation.
    const INFO: &'static EndpointInfo;

    /// The request path with every path parameter percent-encoded.
    fn path(request: &Self::Request) -> String;

    /// The query string (without `?`), if the operation has query parameters.
    fn query(_request: &Self::Request) -> Option<String> {
        None
    }
}

/// Percent-encodes one path segment: everything but RFC 3986 unreserved characters.
pub fn encode_path_segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(byte >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(byte & 15)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_reserved_and_non_ascii_characters() {
        assert_eq!(encode_path_segment("oh-394z_6.C~"), "oh-394z_6.C~");
        assert_eq!(encode_path_segment("a/b c?d#e%"), "a%2Fb%20c%3Fd%23e%25");
        assert_eq!(encode_path_segment("券"), "%E5%88%B8");
    }
}
