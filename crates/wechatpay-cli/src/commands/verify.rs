//! `wechatpay verify`: checks a captured reply or notification (headers and
//! raw body) as of now or `--at`, and with `--apiv3-key` decrypts a
//! notification's resource.

use http::header::{HeaderMap, HeaderName, HeaderValue};
use wechatpay_transport::notification::{
    decrypt_resource, ApiV3Key, Notification, NotificationError,
};
use wechatpay_transport::verify::{verify_reply, VerifyError};

use crate::args::VerifyArgs;
use crate::body::RawBody;
use crate::config::Settings;
use crate::exit::{CliError, ExitClass};

/// What a successful verification prints.
#[derive(Debug)]
pub struct Verified {
    /// For stdout: the body, or the decrypted plaintext.
    pub stdout: Vec<u8>,
    /// For stderr: what was checked.
    pub summary: String,
}

/// Runs the command.
pub fn run(args: &VerifyArgs, now: i64) -> Result<Verified, CliError> {
    let settings = Settings::resolve(&args.conn, args.apiv3_key.as_deref())?;
    let headers = parse_headers(&args.headers)?;
    let body = RawBody::read(&args.body)?;
    let keys = settings.key_store()?;
    let at = args.at.unwrap_or(now);
    let checked = verify_reply(&headers, &body.bytes, at, &keys).map_err(|e| {
        let reason = match (e, args.at) {
            // The transport words it against "now"; here the reference is --at.
            (
                VerifyError::TimestampSkew {
                    timestamp,
                    skew_secs,
                    ..
                },
                Some(at),
            ) => format!(
                "timestamp {timestamp} is {skew_secs} s away from --at {at}; the limit is under 300 s"
            ),
            (e, _) => e.to_string(),
        };
        CliError::verification(format!("signature does not check out: {reason}"))
    })?;
    let when = match args.at {
        Some(at) => format!("as of --at {at}"),
        None => "as of now".to_owned(),
    };
    let mut summary = format!(
        "verified: signed by {} at {} ({when})",
        checked.serial, checked.timestamp
    );
    let Some(key) = &settings.apiv3_key else {
        return Ok(Verified {
            stdout: body.bytes,
            summary,
        });
    };
    let key = ApiV3Key::new(key.expose()).map_err(|e| CliError::config(e.to_string()))?;
    let notification: Notification = serde_json::from_slice(&body.bytes).map_err(|e| {
        CliError::validation(format!("{}: not a notification envelope: {e}", body.source))
    })?;
    let plaintext = decrypt_resource(&key, &notification.resource).map_err(|e| match e {
        NotificationError::KeyLength { .. } => CliError::config(e.to_string()),
        NotificationError::Decrypt => CliError::verification(e.to_string()),
        other => CliError::new(ExitClass::Validation, other.to_string()),
    })?;
    summary.push_str(&format!(
        "; decrypted {} resource of {} ({})",
        notification.resource.original_type, notification.id, notification.event_type
    ));
    Ok(Verified {
        stdout: plaintext.to_vec(),
        summary,
    })
}

/// Parses repeated `Name: value` arguments.
pub fn parse_headers(args: &[String]) -> Result<HeaderMap, CliError> {
    let mut headers = HeaderMap::new();
    for arg in args {
        let (name, value) = arg.split_once(':').ok_or_else(|| {
            CliError::validation(format!("--header {arg:?}: expected `Name: value`"))
        })?;
        let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
            CliError::validation(format!(
                "--header {arg:?}: {:?} is not a header name",
                name.trim()
            ))
        })?;
        let value = HeaderValue::from_str(value.trim()).map_err(|_| {
            CliError::validation(format!("--header {}: value is not visible ASCII", name))
        })?;
        headers.append(name, value);
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse_case_insensitively() {
        let h = parse_headers(&["wechatpay-nonce:  abc ".into(), "Request-ID: x".into()]).unwrap();
        assert_eq!(h.get("Wechatpay-Nonce").unwrap(), "abc");
        assert!(parse_headers(&["no colon".into()]).is_err());
        assert!(parse_headers(&["bad name: x".into()]).is_err());
    }
}
