//! `wechatpay call <operation-id> --body JSON|@file`: validate locally (nothing
//! is sent on a violation), then sign, send, verify through the transport
//! client, decode into the operation's response type; print what decoded.

use std::time::Duration;

use serde_json::Value;
use wechatpay_transport::{
    ApiV3Key, AuthScheme, CallOptions, Client, ClientBuilder, EndpointInfo, Error, ErrorChain,
    ErrorKind, Identity, RawCode, RetryPolicy, VerifiedReply,
};

use crate::args::CallArgs;
use crate::body::RawBody;
use crate::commands::describe::find_operation;
use crate::config::Settings;
use crate::exit::{CliError, ExitClass};
use crate::operation::prepare;
use wechatpay_runtime::json::Prepared;
use wechatpay_runtime::{BodyKind, Method};
use wechatpay_transport::FilePart;

/// A call checked locally and ready to send.
pub struct Plan {
    /// The request: path, query and the exact body bytes.
    pub prepared: Prepared,
    /// The request as JSON (parameters included), for the next page of `--all`.
    pub body: Value,
    /// The file of a multipart operation.
    pub file: Option<FilePart>,
    /// A client for the operation's caller.
    pub client: Client,
}

/// Checks everything that can be checked locally: operation, body, settings.
pub fn plan(args: &CallArgs) -> Result<Plan, CliError> {
    let info = find_operation(&args.operation)?;
    if args.all {
        crate::commands::pages::pagination(info)?;
    }
    let (source, mut value) = match &args.body {
        Some(text) => {
            let body = RawBody::read(text)?;
            (body.source.to_string(), body.json()?)
        }
        None => ("--file".to_owned(), Value::Object(Default::default())),
    };
    let file = match (&args.file, info.body) {
        (Some(path), BodyKind::Multipart) => {
            let file = FilePart::read(path).map_err(CliError::validation)?;
            file.fill_meta(&mut value);
            Some(file)
        }
        (None, BodyKind::Multipart) => {
            return Err(CliError::validation(format!(
                "{} uploads a file: give it with --file PATH",
                info.operation_id
            )))
        }
        (Some(_), _) => {
            return Err(CliError::validation(format!(
                "{} takes no file (--file is for multipart operations such as upload-image)",
                info.operation_id
            )))
        }
        (None, _) => None,
    };
    let prepared = prepare(info, &value).map_err(|problems| {
        let list: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
        CliError::validation(format!(
            "{source} ({}) is not a valid {}; nothing was sent:\n{}",
            info.operation_id,
            info.request.name,
            list.join("\n")
        ))
    })?;
    // A meta part that contradicts the file is bad input, found before any setting is read.
    if let Some(file) = &file {
        file.check_meta(&prepared.body).map_err(|reason| {
            CliError::validation(format!(
                "{source} does not match --file {}: {reason}; nothing was sent",
                file.filename
            ))
        })?;
    }
    let settings = Settings::resolve(&args.conn, args.apiv3_key.as_deref())?;
    let client = client(
        &settings,
        info.auth,
        args.timeout,
        RetryPolicy::with_max_retries(args.retries),
    )?;
    Ok(Plan {
        prepared,
        body: value,
        file,
        client,
    })
}

/// A transport client for the operation's auth scheme (`call` and `campaign send`).
pub fn client(
    settings: &Settings,
    scheme: AuthScheme,
    timeout_secs: f64,
    retry: RetryPolicy,
) -> Result<Client, CliError> {
    let mut builder = builder(settings, scheme, timeout_secs)?
        .retry(retry)
        // A 2xx reply that does not verify (WeChat Pay's probe signatures)
        // is sent once more with the same request number.
        .resend_unverified_success(true);
    // Merchants and service providers may verify with platform certificates (P2).
    if let (AuthScheme::Merchant | AuthScheme::Partner, Some(key)) = (scheme, &settings.apiv3_key) {
        // Platform certificates are downloaded when a reply names one not
        // configured; one call per process needs no download up front.
        builder = builder
            .platform_certificates_from_api(apiv3_key(key)?)
            .certificates_at_start(false);
    }
    builder
        .build()
        .map_err(|e| CliError::config(crate::exit::error_chain(&e)))
}

/// The APIv3 key as the transport takes it (the error never shows the key).
pub fn apiv3_key(key: &crate::config::Secret) -> Result<ApiV3Key, CliError> {
    ApiV3Key::new(key.expose()).map_err(|e| CliError::config(format!("APIv3 key: {e}")))
}

/// A client builder with the identity, keys, base URL and timeout from `settings`.
pub fn builder(
    settings: &Settings,
    scheme: AuthScheme,
    timeout_secs: f64,
) -> Result<ClientBuilder, CliError> {
    let identity = match scheme {
        AuthScheme::Merchant => Identity::merchant(settings.identity(scheme)?),
        AuthScheme::Brand => Identity::brand(settings.identity(scheme)?),
        AuthScheme::Partner => Identity::partner(settings.identity(scheme)?),
    };
    let serial_no = settings.require(&settings.serial_no, "--serial-no", "WECHATPAY_SERIAL_NO")?;
    let private_key = settings.private_key.as_ref().ok_or_else(|| {
        CliError::config("missing private key: set --private-key, WECHATPAY_PRIVATE_KEY or `private_key` in the profile")
    })?;
    crate::config::warn_if_readable_by_others(private_key, "private key");
    // The argument parser already refused a timeout that is not positive.
    let timeout = Duration::try_from_secs_f64(timeout_secs).map_err(|_| {
        CliError::new(
            ExitClass::Usage,
            "--timeout must be a positive number of seconds",
        )
    })?;
    let builder = Client::builder(identity)
        .base_url(settings.base_url.as_str())
        .serial_no(serial_no)
        .private_key_file(private_key)
        .public_key_store(settings.key_store()?)
        .request_timeout(timeout);
    // `--proxy`, else HTTPS_PROXY for an https base URL (see `pick_proxy`);
    // the transport itself never reads proxy variables.
    Ok(match &settings.proxy {
        Some(proxy) => builder.proxy(proxy.as_str()),
        None => builder,
    })
}

/// Sends the prepared request; the reply is returned only if it verified.
pub async fn send(
    client: &Client,
    prepared: Prepared,
    file: Option<FilePart>,
) -> Result<VerifiedReply, CliError> {
    let mut options = CallOptions::new();
    if let Some(file) = file {
        options = options.file(file);
    }
    let field = prepared.info.request_number.map(|n| n.field);
    let prepared_read_only = prepared.info.method == wechatpay_runtime::Method::Get;
    client
        .execute_raw(prepared.info, &prepared.url(), prepared.body, options)
        .await
        .map_err(|e| classify(e, field, prepared_read_only))
}

/// What `call` prints for a verified reply: the JSON of what decoded into the
/// operation's response type, or with `--raw` the body exactly as it was signed
/// and verified.
pub fn output(
    info: &'static EndpointInfo,
    reply: VerifiedReply,
    raw: bool,
) -> Result<Vec<u8>, CliError> {
    if raw {
        return Ok(reply.body);
    }
    let decoded = decode(info, &reply)?;
    serde_json::to_vec(&decoded)
        .map_err(|e| CliError::internal(format!("cannot print the result: {e}")))
}

/// Decodes a verified reply into the operation's response type; the JSON of
/// what decoded is what `call` prints. A reply that does not decode is never
/// printed: exit 8, with the reason, the field, and how to see the body (`--raw`).
pub fn decode(info: &'static EndpointInfo, reply: &VerifiedReply) -> Result<Value, CliError> {
    let decoded = wechatpay_endpoints::operation_for(info)
        .and_then(|operation| operation.decode_reply(&reply.body));
    decoded.map_err(|problem| {
        CliError::new(
            ExitClass::Decode,
            format!(
                "the HTTP {} reply verified but does not decode into {} ({}), so it is not shown: {}\n  Request-ID: {}\n  {}",
                reply.status,
                info.response.name,
                info.operation_id,
                printable(&problem.to_string()),
                printable(reply.request_id().unwrap_or("(none)")),
                raw_advice(info),
            ),
        )
    })
}

/// How to see the verified body of a reply that did not decode: `--raw`, and
/// what running the command again does to the request.
fn raw_advice(info: &EndpointInfo) -> String {
    let again = "run the same command again with --raw to print the verified body undecoded";
    match (info.request_number, info.method) {
        (Some(number), _) => format!(
            "the request took effect; {again} (the same {} returns the original result, never a second one)",
            number.field
        ),
        (None, Method::Get) => format!("{again} (a query: sending it again changes nothing)"),
        (None, _) => format!(
            "the request took effect; --raw prints the verified body undecoded, but {} has no request number: running it again sends the request again",
            info.operation_id
        ),
    }
}

/// Server text with control characters escaped, so an unsigned error reply
/// cannot drive the terminal (colours, cursor moves, cleared lines).
pub fn printable(text: &str) -> String {
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
/// `request_number` is the operation's request-number field, for the advice
/// on what to do when the outcome is unknown; `read_only` for a GET, which
/// changes nothing and is safe to send again.
pub fn classify(error: Error<RawCode>, request_number: Option<&str>, read_only: bool) -> CliError {
    let resend = match request_number {
        Some(field) => format!(
            "send it again with the same {field} (the same number returns the original result, never a second one) or query the result"
        ),
        None => "query the result before sending it again".to_owned(),
    };
    // The error's own sentence and its causes, each once.
    let chain = printable(&ErrorChain(&error).to_string());
    let request_id = printable(error.request_id().unwrap_or("(none)"));
    match error.into_kind() {
        ErrorKind::Api(api) => {
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
            if let Some(location) = &api.location {
                message.push_str(&format!(
                    "\n  Location: {}\n  (a redirect is never followed: the signature covers this URL only; check --base-url)",
                    printable(location)
                ));
            }
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
        ErrorKind::Verification { error, status, .. } => CliError::verification(format!(
            "the HTTP {status} reply did not verify and is not shown: {error}\n  Request-ID: {request_id}",
        )),
        ErrorKind::OutcomeUnknown { .. } => {
            CliError::verification(format!("{chain}\n  Request-ID: {request_id}"))
        }
        ErrorKind::Network(e) => {
            let mut message = chain;
            if read_only {
                message.push_str("\n  a GET changes nothing: it is safe to send again");
            } else if e.may_have_reached_server {
                message.push_str(&format!("\n  the request may have taken effect: {resend}"));
            }
            CliError::new(ExitClass::Network, message)
        }
        ErrorKind::BodyTooLarge { .. } => CliError::new(
            ExitClass::Network,
            format!("{chain}: a coupon may have been issued; {resend}\n  Request-ID: {request_id}"),
        ),
        ErrorKind::Config(e) => CliError::config(ErrorChain(&e).to_string()),
        ErrorKind::Validation(_)
        | ErrorKind::Encode(_)
        | ErrorKind::InvalidPath { .. }
        | ErrorKind::Unsendable { .. } => CliError::validation(chain),
        ErrorKind::Certificates(_) => CliError::verification(chain),
        ErrorKind::Decode(_) => CliError::new(ExitClass::Decode, chain),
        _ => CliError::internal(chain),
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
