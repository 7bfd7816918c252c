//! `wechatpay sign`: the exact message a request signature covers, the
//! signature and the `Authorization` header — the tool for a SIGN_ERROR.

use std::fmt::Write as _;
use wechatpay_endpoints::Route;

use wechatpay_transport::sign::{generate_nonce, request_message, sign_request, RequestToSign};
use wechatpay_transport::AuthScheme;

use crate::args::{AuthArg, SignArgs};
use crate::body::RawBody;
use crate::config::Settings;
use crate::exit::{bounded, CliError, ExitClass};

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
    check_inputs(&method, &args.url, &nonce)?;
    for (what, value) in [
        (scheme.identity_param(), identity.as_str()),
        ("serial_no", serial_no.as_str()),
    ] {
        if !is_token(value) {
            return Err(CliError::config(format!(
                "{what} {:?} cannot go into the Authorization header: use visible ASCII without quotes, commas or spaces",
                bounded(value, 64)
            )));
        }
    }
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

/// Visible ASCII without `"` or `,`: what can sit inside `key="…"` of the
/// `Authorization` header without changing its structure.
fn is_token(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b',')
}

/// Refuses a method, URL or nonce that would change the signed message's
/// lines or the `Authorization` header's fields (quotes, commas, CR, LF).
fn check_inputs(method: &str, url: &str, nonce: &str) -> Result<(), CliError> {
    let usage = |message: String| CliError::new(ExitClass::Usage, message);
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(usage(format!(
            "--method {:?}: an HTTP method is letters only, e.g. GET or POST",
            bounded(method, 32)
        )));
    }
    if !url.starts_with('/') || !url.bytes().all(|b| b.is_ascii_graphic() && b != b'"') {
        return Err(usage(format!(
            "--url {:?}: the path and query exactly as sent, starting with '/', in visible ASCII (percent-encode anything else)",
            bounded(url, 80)
        )));
    }
    if !is_token(nonce) {
        return Err(usage(format!(
            "--nonce {:?}: visible ASCII without quotes, commas or spaces (it goes into the Authorization header)",
            bounded(nonce, 64)
        )));
    }
    Ok(())
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
    fn nothing_can_break_out_of_the_header_or_the_message() {
        assert!(check_inputs("POST", "/v3/x?a=1", "ABC123").is_ok());
        for (method, url, nonce, flag) in [
            ("POST", "/v3/x", "a\"b", "--nonce"),
            ("POST", "/v3/x", "a,b", "--nonce"),
            ("POST", "/v3/x", "a\r\nX-Evil: 1", "--nonce"),
            ("POST", "/v3/x", "", "--nonce"),
            ("POST", "/v3/x\nforged", "n", "--url"),
            ("POST", "/v3/x\r", "n", "--url"),
            ("POST", "/v3/a b", "n", "--url"),
            ("POST", "v3/x", "n", "--url"),
            ("PO\nST", "/v3/x", "n", "--method"),
            ("POST,", "/v3/x", "n", "--method"),
            ("", "/v3/x", "n", "--method"),
        ] {
            let err = check_inputs(method, url, nonce).unwrap_err();
            assert_eq!(err.class, ExitClass::Usage);
            assert!(err.message.starts_with(flag), "{flag}: {}", err.message);
            assert!(
                !err.message.contains('\n') && !err.message.contains('\r'),
                "{}",
                err.message
            );
        }
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
