//! Debug and Display never show key material or the Authorization header.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::*;
use wechatpay_transport::crypto::signer_from_pem;
use wechatpay_transport::notification::{decrypt_resource, encrypt_resource};
use wechatpay_transport::ErrorKind;
use wechatpay_transport::{
    ApiV3Key, ManualClock, NotificationError, NotificationHandler, PrivateKeyDer, PublicKeyStore,
    RetryPolicy,
};

const API_V3_KEY: &str = "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb";
const OTHER_API_V3_KEY: &str = "Zb7cde1ZJB1kG2e7VfTs3jQzaWizur8G";

/// Lines of the PEM body: none may appear anywhere in formatted output.
fn secret_lines() -> Vec<String> {
    let mut lines = Vec::new();
    for file in ["merchant_key.pem", "merchant_key_pkcs1.pem"] {
        lines.extend(
            fixture_text(file)
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .map(|l| l[..24].to_owned()),
        );
    }
    lines
}

fn assert_clean(what: &str, text: &str) {
    assert!(
        !text.contains("PRIVATE KEY"),
        "{what} mentions the key PEM: {text}"
    );
    for line in secret_lines() {
        assert!(!text.contains(&line), "{what} leaks key material: {text}");
    }
    assert!(
        !text.contains("WECHATPAY2-SHA256-RSA2048 mchid="),
        "{what} shows Authorization: {text}"
    );
    assert!(
        !text.contains("signature=\""),
        "{what} shows Authorization: {text}"
    );
}

#[tokio::test]
async fn config_signer_keys_and_errors_hide_secrets() {
    let pem = fixture_text("merchant_key.pem");
    let key = PrivateKeyDer::from_pem(&pem).unwrap();
    assert_clean("PrivateKeyDer", &format!("{key:?}"));
    let signer = signer_from_pem(&pem).unwrap();
    assert_clean("signer", &format!("{signer:?}"));
    let api_key = ApiV3Key::new("a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb").unwrap();
    assert!(!format!("{api_key:?}").contains("a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb"));

    let builder = merchant_builder("http://127.0.0.1:1").private_key_pem(&pem);
    assert_clean("builder", &format!("{builder:?}"));
    let config = builder.build_config().unwrap();
    assert_clean("config", &format!("{config:?}"));
    assert!(
        format!("{config:?}").contains(MCHID),
        "Debug is still useful"
    );
    let client = wechatpay_transport::Client::new(config).unwrap();
    assert_clean("client", &format!("{client:?}"));

    // A real exchange: the server answers 401 SIGN_ERROR and echoes nothing secret
    // itself; the error the client reports must not carry the header it sent.
    let server = TestServer::start(|_, _| {
        Reply::new(401, r#"{"code":"SIGN_ERROR","message":"签名错误","detail":{"sign_information":{"method":"POST"}}}"#)
    })
    .await;
    let client = merchant_builder(&server.url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let err = client
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Api(_)));
    let sent = server.requests()[0].auth();
    let signature = sent.get("signature").to_owned();
    for text in [format!("{err}"), format!("{err:?}")] {
        assert_clean("error", &text);
        assert!(
            !text.contains(&signature),
            "error shows the request signature: {text}"
        );
    }

    // Key loading errors name the problem, not the bytes.
    let broken = pem.replacen("MII", "M!I", 1);
    let err = merchant_builder("http://127.0.0.1:1")
        .private_key_pem(&broken)
        .build()
        .unwrap_err();
    assert_clean("config error", &format!("{err} {err:?}"));
}

/// Captures every tracing event as text.
mod capture {
    use std::fmt::Write as _;
    use std::sync::{Arc, Mutex};

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    #[derive(Clone, Default)]
    pub struct Capture(pub Arc<Mutex<Vec<String>>>);

    struct Line(String);

    impl Visit for Line {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            let _ = write!(self.0, " {}={:?}", field.name(), value);
        }
    }

    impl Subscriber for Capture {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, span: &Attributes<'_>) -> Id {
            let mut line = Line(String::from("span"));
            span.record(&mut line);
            self.0.lock().unwrap().push(line.0);
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, values: &Record<'_>) {
            let mut line = Line(String::from("record"));
            values.record(&mut line);
            self.0.lock().unwrap().push(line.0);
        }
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let meta = event.metadata();
            let mut line = Line(format!("{} {}", meta.level(), meta.target()));
            event.record(&mut line);
            self.0.lock().unwrap().push(line.0);
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }
}

#[tokio::test]
async fn logs_never_carry_the_authorization_header() {
    let logs = capture::Capture::default();
    let _guard = tracing::subscriber::set_default(logs.clone());
    let server = TestServer::start(|_, i| match i {
        0 => Reply::new(500, r#"{"code":"SYSTEM_ERROR","message":"busy"}"#),
        1 => {
            let mut r = ok_reply(r#"{"coupon_code":"C"}"#);
            r.body = br#"{"coupon_code":"EVIL"}"#.to_vec();
            r
        }
        _ => ok_reply(r#"{"coupon_code":"C"}"#),
    })
    .await;
    let client = merchant_builder(&server.url()).build().unwrap();
    let _ = client
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await;
    client
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
        .unwrap();
    let lines = logs.0.lock().unwrap().clone();
    assert!(
        lines.iter().any(|l| l.contains("retrying"))
            && lines.iter().any(|l| l.contains("rejected")),
        "the retry and the rejection were logged: {lines:#?}"
    );
    let text = lines.join("\n");
    assert_clean("logs", &text);
    for req in server.requests() {
        assert!(!text.contains(req.auth().get("signature")));
        assert!(!text.contains(req.auth().get("nonce_str")));
    }
}

/// The APIv3 key, in any form it could be printed in.
fn assert_no_api_key(what: &str, text: &str) {
    for key in [API_V3_KEY, OTHER_API_V3_KEY] {
        assert!(!text.contains(key), "{what} shows the APIv3 key: {text}");
        assert!(
            !text.contains(&key[..12]),
            "{what} shows part of the APIv3 key: {text}"
        );
        let bytes = format!("{:?}", key.as_bytes());
        assert!(
            !text.contains(&bytes[1..40]),
            "{what} shows the APIv3 key bytes: {text}"
        );
        let hex: String = key.bytes().map(|b| format!("{b:02x}")).collect();
        assert!(
            !text.to_ascii_lowercase().contains(&hex[..24]),
            "{what} shows the APIv3 key in hex: {text}"
        );
    }
}

#[test]
fn api_v3_keys_handlers_and_decrypt_errors_hide_the_key() {
    let key = ApiV3Key::new(API_V3_KEY).unwrap();
    for text in [format!("{key:?}"), format!("{key:#?}")] {
        assert_no_api_key("ApiV3Key", &text);
    }
    let from_bytes = ApiV3Key::from_bytes(API_V3_KEY.as_bytes()).unwrap();
    assert_no_api_key("ApiV3Key::from_bytes", &format!("{from_bytes:?}"));
    // A key of the wrong length names only the length.
    let err = ApiV3Key::new(&API_V3_KEY[..31]).unwrap_err();
    assert_no_api_key("KeyLength", &format!("{err} {err:?}"));

    let mut keys = PublicKeyStore::new();
    keys.add_public_key_pem(PUB_KEY_ID, fixture_text("wechatpay_pub.pem"))
        .unwrap();
    for handler in [
        NotificationHandler::new(keys.clone(), key.clone()),
        NotificationHandler::new(keys.clone(), key.clone())
            .with_clock(Arc::new(ManualClock::new(1)))
            .with_dedup(10, Duration::from_secs(60)),
    ] {
        for text in [format!("{handler:?}"), format!("{handler:#?}")] {
            assert_no_api_key("NotificationHandler", &text);
            assert_clean("NotificationHandler", &text);
            assert!(text.contains(PUB_KEY_ID), "Debug is still useful: {text}");
        }
    }

    // Decrypting with the wrong key: the error names neither key.
    let resource =
        encrypt_resource(&key, br#"{"a":1}"#, "8IQLCe1NOCNl", "ad", "product_coupon").unwrap();
    let wrong = ApiV3Key::new(OTHER_API_V3_KEY).unwrap();
    let err = decrypt_resource(&wrong, &resource).unwrap_err();
    assert_eq!(err, NotificationError::Decrypt);
    assert_no_api_key("decrypt error", &format!("{err} {err:?}"));

    // The same through a handler with a signed notification.
    let body = serde_json::json!({
        "id": "EV-1", "event_type": "PRODUCT_COUPON.SEND", "resource": resource,
    })
    .to_string();
    let signed = signed_reply(200, &body, "wechatpay_key.pem", PUB_KEY_ID, now());
    let mut headers = reqwest::header::HeaderMap::new();
    for (k, v) in &signed.headers {
        headers.append(
            reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            reqwest::header::HeaderValue::from_str(v).unwrap(),
        );
    }
    let handler = NotificationHandler::new(keys, wrong);
    let err = handler
        .handle::<serde_json::Value>(&headers, body.as_bytes())
        .unwrap_err();
    assert_eq!(err, NotificationError::Decrypt);
    assert_no_api_key("handler decrypt error", &format!("{err} {err:?}"));
}

/// Every `log` record (reqwest logs through `log`), at every level.
mod log_capture {
    use std::sync::{Mutex, Once};

    pub static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

    struct Logger;

    impl log::Log for Logger {
        fn enabled(&self, _: &log::Metadata<'_>) -> bool {
            true
        }
        fn log(&self, record: &log::Record<'_>) {
            let line = format!("{} {} {}", record.level(), record.target(), record.args());
            LINES.lock().unwrap_or_else(|e| e.into_inner()).push(line);
        }
        fn flush(&self) {}
    }

    static LOGGER: Logger = Logger;
    static INSTALL: Once = Once::new();

    pub fn install() {
        INSTALL.call_once(|| {
            log::set_logger(&LOGGER).unwrap();
            log::set_max_level(log::LevelFilter::Trace);
        });
    }
}

/// A full exchange (a retried 500, a rejected reply, a verified reply, an
/// error reply echoing what was signed) with a subscriber and a logger taking
/// everything at TRACE, including reqwest's and hyper's own events: nothing
/// captured carries key material, the Authorization header or its signature.
#[tokio::test]
async fn trace_level_logs_of_reqwest_hyper_and_this_crate_hold_no_secrets() {
    log_capture::install();
    let logs = capture::Capture::default();
    let _guard = tracing::subscriber::set_default(logs.clone());
    let server = TestServer::start(|req, i| match i {
        0 => Reply::new(500, r#"{"code":"SYSTEM_ERROR","message":"busy"}"#),
        1 => {
            let mut r = ok_reply(r#"{"coupon_code":"C"}"#);
            r.body = br#"{"coupon_code":"EVIL"}"#.to_vec();
            r
        }
        2 => ok_reply(r#"{"coupon_code":"C"}"#),
        // A server that echoes the Authorization it got into its error message:
        // that message is the server's text, shown as the API error's message,
        // but never logged by the client.
        _ => Reply::new(
            401,
            serde_json::json!({"code": "SIGN_ERROR", "message": "bad signature",
                "detail": {"sign_information": {"sign_message_length": req.body.len()}}})
            .to_string(),
        ),
    })
    .await;
    let client = merchant_builder(&server.url())
        .backup_url(Some(format!("http://127.0.0.1:{}", closed_port().await)))
        .build()
        .unwrap();
    let _ = client
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await;
    client
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
        .unwrap();
    let err = client
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Api(_)), "{err:?}");
    // A connection failure too (nothing listening).
    let down = merchant_builder(&format!("http://127.0.0.1:{}", closed_port().await))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let net = down
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
        .unwrap_err();
    assert!(matches!(net.kind(), ErrorKind::Network(_)), "{net:?}");

    let traced = logs.0.lock().unwrap().clone();
    let logged = log_capture::LINES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    // The capture really sees the HTTP stack, not only this crate.
    assert!(
        traced.iter().any(|l| l.contains("hyper_util")),
        "hyper-util's tracing events were captured: {traced:#?}"
    );
    assert!(
        logged.iter().any(|l| l.contains("reqwest")),
        "reqwest's log records were captured: {logged:#?}"
    );
    assert!(
        traced.iter().any(|l| l.contains("wechatpay_transport")),
        "this crate's events were captured: {traced:#?}"
    );
    let text = format!(
        "{}\n{}\n{err}\n{err:?}\n{net}\n{net:?}",
        traced.join("\n"),
        logged.join("\n")
    );
    assert_clean("TRACE logs", &text);
    assert!(!text.contains("authorization:"), "a raw request was logged");
    for req in server.requests() {
        let auth = req.auth();
        assert!(!text.contains(auth.get("signature")));
        assert!(!text.contains(&auth.get("signature")[..20]));
        assert!(!text.contains(auth.get("nonce_str")));
    }
}

/// A panic while holding the client (e.g. in a caller's task) prints the
/// client's Debug at most; and no panic message this crate can raise carries
/// input: the two `expect`s in the crate are fixed strings.
#[test]
fn panic_messages_hold_no_secrets() {
    let pem = fixture_text("merchant_key.pem");
    let client = merchant_builder("http://127.0.0.1:1")
        .private_key_pem(&pem)
        .build()
        .unwrap();
    let message = Arc::new(Mutex::new(String::new()));
    let seen = message.clone();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        *seen.lock().unwrap() = info.to_string();
    }));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        panic!("caller panicked holding {client:?}");
    }));
    std::panic::set_hook(previous);
    assert!(result.is_err());
    let message = message.lock().unwrap().clone();
    assert!(message.contains("Client"), "{message}");
    assert_clean("panic message", &message);

    // notification, sign and verify live in wechatpay-protocol now.
    let sources = [
        "../wechatpay-protocol/src/notification.rs",
        "../wechatpay-protocol/src/sign.rs",
        "src/client.rs",
        "../wechatpay-protocol/src/verify.rs",
    ];
    for file in sources {
        let text =
            std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file))
                .unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        for (n, line) in code.lines().enumerate() {
            if line.contains(".expect(") || line.contains("panic!(") {
                assert!(
                    line.contains(".expect(\"") && !line.contains('{'),
                    "{file}:{}: a panic message that is not a fixed string: {line}",
                    n + 1
                );
            }
        }
    }
}

mod call_span {
    //! One `wechatpay.call` span per call, with its fields, and nothing secret in it.

    use std::collections::HashMap;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};
    use wechatpay_transport::{AuthScheme, CallOptions};

    use crate::support::*;

    /// A span's or event's fields, by name, as text.
    type FieldMap = HashMap<String, String>;

    const OK_BODY: &str = r#"{"coupon_code":"C-1"}"#;
    const REQUEST_ID: &str = "08F4D8A1B2C3D4E5F6A7B8C9D0E1F2A3B4C5D6";

    /// Every span's fields and every event's text, for one thread.
    #[derive(Default)]
    struct SpanCapture {
        next: AtomicU64,
        spans: Mutex<HashMap<u64, (String, FieldMap)>>,
        events: Mutex<String>,
    }

    struct SpanFields<'a>(&'a mut HashMap<String, String>);

    impl Visit for SpanFields<'_> {
        fn record_str(&mut self, field: &Field, value: &str) {
            self.0.insert(field.name().to_owned(), value.to_owned());
        }

        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            self.0.insert(field.name().to_owned(), format!("{value:?}"));
        }
    }

    impl Subscriber for SpanCapture {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }

        fn new_span(&self, span: &Attributes<'_>) -> Id {
            let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
            let mut fields = HashMap::new();
            span.record(&mut SpanFields(&mut fields));
            self.spans
                .lock()
                .unwrap()
                .insert(id, (span.metadata().name().to_owned(), fields));
            Id::from_u64(id)
        }

        fn record(&self, span: &Id, values: &Record<'_>) {
            if let Some((_, fields)) = self.spans.lock().unwrap().get_mut(&span.into_u64()) {
                values.record(&mut SpanFields(fields));
            }
        }

        fn record_follows_from(&self, _: &Id, _: &Id) {}

        fn event(&self, event: &Event<'_>) {
            let mut fields = HashMap::new();
            event.record(&mut SpanFields(&mut fields));
            let mut events = self.events.lock().unwrap();
            events.push_str(&format!("{} {:?}\n", event.metadata().target(), fields));
        }

        fn enter(&self, _: &Id) {}

        fn exit(&self, _: &Id) {}
    }

    #[tokio::test]
    async fn one_span_per_call_names_operation_request_number_attempt_and_request_id() {
        let server = TestServer::start(checking(AuthScheme::Merchant, MCHID, |i| {
            if i == 0 {
                Reply::new(500, r#"{"code":"SYSTEM_ERROR","message":"busy"}"#)
            } else {
                ok_reply(OK_BODY)
            }
        }))
        .await;
        let client = merchant_builder(&server.url()).build().unwrap();
        let capture = Arc::new(SpanCapture::default());
        let response = {
            let _guard = tracing::subscriber::set_default(capture.clone());
            client
                .execute_with::<_, DemoMerchantSend>(
                    &DemoRequest::new("o1"),
                    CallOptions::new().request_number_field("out_request_no"),
                )
                .await
                .unwrap()
        };
        assert_eq!(response.attempts(), 2);

        let spans = capture.spans.lock().unwrap();
        let calls: Vec<_> = spans
            .values()
            .filter(|(name, _)| name == "wechatpay.call")
            .collect();
        assert_eq!(calls.len(), 1, "{spans:?}");
        let fields = &calls[0].1;
        let field = |name: &str| fields.get(name).map(String::as_str);
        assert_eq!(field("operation"), Some("demo-merchant-send"));
        assert_eq!(field("request_no"), Some("REQ-20250101-0001"));
        assert_eq!(field("attempt"), Some("2"));
        assert_eq!(field("request_id"), Some(REQUEST_ID));

        // Nothing secret in any span or event.
        let mut everything = format!("{spans:?}");
        everything.push_str(&capture.events.lock().unwrap());
        assert!(
            everything.contains("retrying"),
            "events are captured: {everything}"
        );
        let sent = server.requests();
        let authorization = sent[0].header("authorization").unwrap().to_owned();
        let signature = sent[0].auth().get("signature").to_owned();
        let private_key = std::fs::read_to_string(fixture("merchant_key.pem")).unwrap();
        let key_line = private_key.lines().nth(1).unwrap();
        for secret in [
            authorization.as_str(),
            signature.as_str(),
            "WECHATPAY2-SHA256-RSA2048 ",
            "PRIVATE KEY",
            key_line,
        ] {
            assert!(
                !everything.contains(secret),
                "{secret:?} leaked: {everything}"
            );
        }
        assert!(
            !everything.to_ascii_lowercase().contains("authorization"),
            "{everything}"
        );
    }
}
