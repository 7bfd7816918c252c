//! Debug and Display never show key material or the Authorization header.

mod support;

use support::*;
use wechatpay_transport::crypto::signer_from_pem;
use wechatpay_transport::{ApiV3Key, Error, PrivateKeyDer, RetryPolicy};

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
        .execute::<DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Api(_)));
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
            let mut line = Line(event.metadata().level().to_string());
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
        .execute::<DemoMerchantSend>(&DemoRequest::new("o1"))
        .await;
    client
        .execute::<DemoMerchantSend>(&DemoRequest::new("o1"))
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
