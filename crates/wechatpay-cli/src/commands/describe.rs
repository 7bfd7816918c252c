//! `wechatpay describe [OPERATION-ID]`: the schema facts of an operation.

use std::fmt::Write as _;

use wechatpay_transport::{AuthScheme, EndpointInfo, LengthUnit, Location};

use crate::exit::CliError;
use crate::typed::request_number_field;

/// Looks an operation up, or says which ids exist.
pub fn find_operation(id: &str) -> Result<&'static EndpointInfo, CliError> {
    wechatpay_endpoints::find(id).ok_or_else(|| {
        let known: Vec<&str> = wechatpay_endpoints::ALL
            .iter()
            .map(|i| i.operation_id)
            .collect();
        // The id is whatever was typed (maybe a 100 KB paste): show a bounded prefix.
        CliError::validation(format!(
            "unknown operation id {:?}; known operations: {}",
            crate::exit::bounded(id, 64),
            known.join(", ")
        ))
    })
}

/// One line per operation: id and doc title.
pub fn operation_list() -> String {
    let width = wechatpay_endpoints::ALL
        .iter()
        .map(|i| i.operation_id.len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for info in wechatpay_endpoints::ALL {
        let _ = writeln!(
            out,
            "  {:width$}  {} ({} {})",
            info.operation_id,
            info.title,
            info.method.as_str(),
            info.path_template
        );
    }
    out
}

/// Runs the command, returning the text for stdout.
pub fn run(operation: Option<&str>) -> Result<String, CliError> {
    match operation {
        None => Ok(format!("Operations:\n{}", operation_list())),
        Some(id) => Ok(describe(find_operation(id)?)),
    }
}

/// The full description of one operation.
pub fn describe(info: &EndpointInfo) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} — {} (doc page updated {})",
        info.operation_id, info.title, info.doc_updated
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "  {} {}", info.method.as_str(), info.path_template);
    let auth = match info.auth {
        AuthScheme::Merchant => "merchant",
        AuthScheme::Brand => "brand",
    };
    let _ = writeln!(
        out,
        "  auth:           {auth}: {} {}=\"…\"",
        info.auth.scheme(),
        info.auth.identity_param()
    );
    let _ = writeln!(out, "  request:        {}", info.request_type);
    let _ = writeln!(out, "  response:       {}", info.response_type);
    let _ = writeln!(
        out,
        "  rate limit:     {}",
        info.rate_limit.unwrap_or("not documented")
    );
    if let Some(field) = request_number_field(info) {
        let _ = writeln!(
            out,
            "  request number: {field} (retry with the same value: idempotent)"
        );
    }
    let _ = writeln!(
        out,
        "\nHeaders (besides Authorization, Accept, Content-Type):"
    );
    if info.required_headers.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for header in info.required_headers {
        let _ = writeln!(out, "  {} (required)", header.name);
        let _ = writeln!(out, "      {}", header.description);
    }
    let _ = writeln!(out, "\nFields:");
    for field in info.fields {
        let location = match field.location {
            Location::Path => "path",
            Location::Query => "query",
            Location::Body => "body",
        };
        let mut rules = vec![if field.required {
            "required"
        } else {
            "optional"
        }
        .to_owned()];
        let unit = match field.length_unit {
            LengthUnit::Chars => "characters",
            LengthUnit::Bytes => "bytes",
        };
        match (field.min_length, field.max_length) {
            (Some(min), Some(max)) => rules.push(format!("length {min}-{max} {unit}")),
            (None, Some(max)) => rules.push(format!("at most {max} {unit}")),
            (Some(min), None) => rules.push(format!("at least {min} {unit}")),
            (None, None) => {}
        }
        if let Some(charset) = field.charset {
            rules.push(format!("charset [{charset}]"));
        }
        if !field.enum_values.is_empty() {
            rules.push(format!("values: {}", field.enum_values.join(" | ")));
        }
        let _ = writeln!(
            out,
            "  {} ({location}, {}): {}",
            field.path,
            field.type_name,
            rules.join(", ")
        );
        let _ = writeln!(out, "      {}", field.description);
    }
    let _ = writeln!(out, "\nErrors:");
    for row in info.errors {
        let _ = writeln!(
            out,
            "  {} {}{}: {} — {}",
            row.status,
            row.code,
            if row.retryable { " (retryable)" } else { "" },
            row.description,
            row.solution
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_limits_enums_headers_and_errors() {
        let text = run(Some("send-user-product-coupon")).unwrap();
        for needle in [
            "POST /brand/marketing/product-coupon/users/{openid}/coupons",
            "WECHATPAY-BRAND-SHA256-RSA2048 brand_id=",
            "rate limit:     500/s",
            "Wechatpay-Serial (required)",
            "send_request_no (body, string): required, length 6-128 characters, charset [0-9A-Za-z_-]",
            "values: MEMBER",
            "401 SIGN_ERROR",
            "500 SYSTEM_ERROR (retryable)",
        ] {
            assert!(text.contains(needle), "{needle:?} not in\n{text}");
        }
        assert!(run(Some("nope"))
            .unwrap_err()
            .message
            .contains("send-product-coupon"));
        let long = "x".repeat(100_000);
        let message = run(Some(&long)).unwrap_err().message;
        assert!(message.len() < 600, "{} bytes", message.len());
        assert!(
            message.contains(&format!("\"{}…\"", "x".repeat(64))),
            "{message}"
        );
    }
}
