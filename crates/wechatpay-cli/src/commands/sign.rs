//! `wechatpay sign`: the exact message a request signature covers, the
//! signature and the `Authorization` header — the tool for a SIGN_ERROR.

use std::fmt::Write as _;
use wechatpay_endpoints::Route;

use wechatpay_transport::sign::{generate_nonce, request_message, sign_request, RequestToSign};
use wechatpay_transport::AuthScheme;

use crate::args::{AuthArg, SignArgs};
use crate::body::RawBody;
use crate::config::Settings;
use crate::exit::CliError;

/// Runs the command, returning the text for stdout.
pub fn run(args: &SignArgs, now: i64) -> Result<String, CliError> {
    let settings = Settings::resolve(&args.conn, None)?;
    let scheme = scheme_for(args.auth, &args.url);
    let identity = settings.identity(scheme)?.to_owned();
    let serial_no = settings
        .require(&settings.serial_no, "--serial-no", "WECHATPAY_SERIAL_NO")?
        .to_owned();
    let signer = settings.signer()?;
    let body = match &args.body {
        Some(arg) => RawBody::read(arg)?.bytes,
        None => Vec::new(),
    };
    let method = args.method.to_ascii_uppercase();
    let nonce = args.nonce.clone().unwrap_or_else(generate_nonce);
    let timestamp = args.timestamp.unwrap_or(now);
    let request = RequestToSign {
        method: &method,
        url: &args.url,
        body: &body,
        timestamp,
        nonce: &nonce,
    };
    let auth = sign_request(signer.as_ref(), scheme, &identity, &serial_no, &request)
        .map_err(|e| CliError::internal(e.to_string()))?;
    let message = request_message(&method, &args.url, &auth.timestamp, &nonce, &body);
    let mut out = String::new();
    let _ = writeln!(out, "message:       {}", escape(&message));
    let _ = writeln!(out, "signature:     {}", auth.signature);
    let _ = writeln!(out, "authorization: {}", auth.header_value());
    Ok(out)
}

/// The scheme: `--auth`, else the auth of the operation the URL's path
/// matches, else brand for `/brand/` paths and merchant otherwise.
pub fn scheme_for(auth: Option<AuthArg>, url: &str) -> AuthScheme {
    match auth {
        Some(AuthArg::Merchant) => AuthScheme::Merchant,
        Some(AuthArg::Brand) => AuthScheme::Brand,
        None => {
            let path = url.split('?').next().unwrap_or(url);
            match wechatpay_endpoints::route("", path) {
                Route::Found(info, _) | Route::WrongMethod(info) => info.auth,
                Route::NotFound if path.starts_with("/brand/") => AuthScheme::Brand,
                Route::NotFound => AuthScheme::Merchant,
            }
        }
    }
}

/// Shows a message on one line: `\n`, `\r`, `\t`, `\\` escaped, other control
/// characters as `\u{..}` and bytes that are not UTF-8 as `\x..`.
pub fn escape(message: &[u8]) -> String {
    let mut out = String::with_capacity(message.len() + 8);
    for chunk in message.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => {
                    let _ = write!(out, "\\u{{{:x}}}", c as u32);
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_so_the_newlines_show() {
        assert_eq!(
            escape(b"POST\n/v3/x\n1\nN\n{\"a\":\"\\\\\"}\n"),
            "POST\\n/v3/x\\n1\\nN\\n{\"a\":\"\\\\\\\\\"}\\n"
        );
        assert_eq!(escape(b"a\x07\xffb"), "a\\u{7}\\xffb");
    }

    #[test]
    fn scheme_follows_the_operation() {
        assert_eq!(
            scheme_for(None, "/brand/marketing/product-coupon/users/o/coupons?x=1"),
            AuthScheme::Brand
        );
        assert_eq!(scheme_for(None, "/v3/anything"), AuthScheme::Merchant);
        assert_eq!(scheme_for(Some(AuthArg::Brand), "/v3/x"), AuthScheme::Brand);
    }
}
