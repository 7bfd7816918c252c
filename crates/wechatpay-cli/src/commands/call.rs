//! `wechatpay call <operation-id> --body JSON|@file`: validate locally (nothing
//! is sent on a violation), then sign, send, verify through the transport
//! client; print the verified body.

use std::time::Duration;

use wechatpay_transport::{
    AuthScheme, Client, Error, Identity, RawCode, RetryPolicy, VerifiedReply,
};

use crate::args::CallArgs;
use crate::body::RawBody;
use crate::commands::describe::find_operation;
use crate::config::Settings;
use crate::exit::{CliError, ExitClass};
use crate::operation::prepare;
use wechatpay_runtime::json::Prepared;

/// Checks everything that can be checked locally: operation, body, settings.
pub fn plan(args: &CallArgs) -> Result<(Prepared, Client), CliError> {
    let info = find_operation(&args.operation)?;
    let body = RawBody::read(&args.body)?;
    let value = body.json()?;
    let prepared = prepare(info, &value).map_err(|problems| {
        let list: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
        CliError::validation(format!(
            "{} ({}) is not a valid {}; nothing was sent:\n{}",
            body.source,
            info.operation_id,
            info.request.name,
            list.join("\n")
        ))
    })?;
    let client = client(&Settings::resolve(&args.conn, None)?, info.auth, args)?;
    Ok((prepared, client))
}

/// A transport client for the operation's auth scheme.
fn client(settings: &Settings, scheme: AuthScheme, args: &CallArgs) -> Result<Client, CliError> {
    let identity = match scheme {
        AuthScheme::Merchant => Identity::merchant(settings.identity(scheme)?),
        AuthScheme::Brand => Identity::brand(settings.identity(scheme)?),
    };
    let serial_no = settings.require(&settings.serial_no, "--serial-no", "WECHATPAY_SERIAL_NO")?;
    let private_key = settings.private_key.as_ref().ok_or_else(|| {
        CliError::config("missing private key: set --private-key, WECHATPAY_PRIVATE_KEY or `private_key` in the profile")
    })?;
    let public_key_id = settings.require(
        &settings.public_key_id,
        "--public-key-id",
        "WECHATPAY_PUBLIC_KEY_ID",
    )?;
    let public_key = settings.public_key.as_ref().ok_or_else(|| {
        CliError::config("missing WeChat Pay public key: set --public-key, WECHATPAY_PUBLIC_KEY or `public_key` in the profile")
    })?;
    let timeout = Duration::try_from_secs_f64(args.timeout).map_err(|_| {
        CliError::new(
            ExitClass::Usage,
            "--timeout must be a positive number of seconds",
        )
    })?;
    Client::builder(identity)
        .base_url(settings.base_url.as_str())
        .serial_no(serial_no)
        .private_key_file(private_key)
        .wechatpay_public_key_file(public_key_id, public_key)
        .request_timeout(timeout)
        .retry(RetryPolicy::with_max_retries(args.retries))
        .build()
        .map_err(|e| CliError::config(e.to_string()))
}

/// Sends the prepared request; the reply is returned only if it verified.
pub async fn send(client: &Client, prepared: Prepared) -> Result<VerifiedReply, CliError> {
    client
        .execute_raw(prepared.info, &prepared.url(), prepared.body)
        .await
        .map_err(classify)
}

/// Server text with control characters escaped, so an unsigned error reply
/// cannot drive the terminal (colours, cursor moves, cleared lines).
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Maps a transport error to an exit class and a message for stderr.
pub fn classify(error: Error<RawCode>) -> CliError {
    match error {
        Error::Api(api) => {
            let mut message = format!(
                "HTTP {} {}: {}\n  Request-ID: {}",
                api.status,
                if api.raw_code.is_empty() {
                    "(no code)".to_owned()
                } else {
                    printable(&api.raw_code)
                },
                printable(&api.message),
                printable(api.request_id.as_deref().unwrap_or("(none)"))
            );
            if let Some(detail) = api.detail.as_ref().filter(|d| !is_empty(d)) {
                message.push_str(&format!("\n  detail: {detail}"));
            }
            if !api.verified {
                message.push_str("\n  (the error reply carried no signature)");
            }
            if api.attempts > 1 {
                message.push_str(&format!("\n  after {} attempts", api.attempts));
            }
            CliError::new(ExitClass::Api, message)
        }
        Error::Verification {
            error,
            status,
            request_id,
        } => CliError::verification(format!(
            "the HTTP {status} reply did not verify and is not shown: {error}\n  Request-ID: {}",
            request_id.as_deref().unwrap_or("(none)")
        )),
        Error::Network(e) => CliError::new(ExitClass::Network, e.to_string()),
        Error::BodyTooLarge { .. } => CliError::new(ExitClass::Network, error.to_string()),
        Error::Config(e) => CliError::config(e.to_string()),
        Error::Validation(_) | Error::Encode(_) | Error::InvalidPath { .. } => {
            CliError::validation(error.to_string())
        }
        other => CliError::internal(other.to_string()),
    }
}

fn is_empty(value: &serde_json::Value) -> bool {
    value.is_null() || value.as_object().is_some_and(|m| m.is_empty())
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn server_text_cannot_carry_terminal_escapes() {
        assert_eq!(printable("bad\u{1b}[2Jcode\n"), "bad\\u{1b}[2Jcode\\n");
        assert_eq!(printable("参数错误"), "参数错误");
    }
}
