//! The shared test kit of wechatpay-protocol's and wechatpay-transport's
//! tests (a path-only dev-dependency of both, never published): the fixture
//! keys in `fixtures/`, the OpenSSL oracle (the `openssl` CLI), an
//! independent `Authorization` parser, replies signed by OpenSSL (as data),
//! the helpers of the property tests ([`props`]), and a throw-away
//! PostgreSQL server started and stopped by the tests themselves ([`pg`]).
//! Each crate's `tests/support/mod.rs` re-exports it and adds what is its own.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

pub mod pg;
pub mod props;

pub const MCHID: &str = "1900000001";
pub const BRAND_ID: &str = "120344";
pub const SERIAL_NO: &str = "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C";
pub const PUB_KEY_ID: &str = "PUB_KEY_ID_0119000000012025010100000000000000";
pub const PLATFORM_SERIAL: &str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
pub const CHINESE_NOTE: &str = "商品券：满100减20 🎫";

/// A fixture file of the kit (`crates/wechatpay-test-kit/fixtures/`).
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

pub fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).unwrap()
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

// ---------------------------------------------------------------- OpenSSL oracle

/// `openssl dgst -sha256 -sign key | base64 -w0` over `message`.
pub fn openssl_sign(key: &str, message: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let msg = dir.path().join("msg");
    std::fs::write(&msg, message).unwrap();
    let out = shell(&format!(
        "openssl dgst -sha256 -sign '{}' '{}' | base64 -w0",
        fixture(key).display(),
        msg.display()
    ));
    String::from_utf8(out).unwrap()
}

/// `openssl dgst -sha256 -verify pub.pem -signature sig.bin` over `message`.
pub fn openssl_verify(public_key: &str, message: &[u8], signature_b64: &str) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let msg = dir.path().join("msg");
    let sig_b64 = dir.path().join("sig.b64");
    let sig = dir.path().join("sig.bin");
    std::fs::write(&msg, message).unwrap();
    std::fs::write(&sig_b64, signature_b64).unwrap();
    let decoded = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "base64 -d '{}' > '{}'",
            sig_b64.display(),
            sig.display()
        ))
        .status()
        .unwrap();
    if !decoded.success() {
        return false;
    }
    let out = Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(fixture(public_key))
        .arg("-signature")
        .arg(&sig)
        .arg(&msg)
        .output()
        .unwrap();
    out.status.success()
}

/// `openssl pkeyutl -decrypt` with OAEP SHA-1 / MGF1-SHA1.
pub fn openssl_oaep_decrypt(key: &str, ciphertext_b64: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let b64 = dir.path().join("ct.b64");
    let mut f = std::fs::File::create(&b64).unwrap();
    f.write_all(ciphertext_b64.as_bytes()).unwrap();
    shell(&format!(
        "base64 -d '{}' | openssl pkeyutl -decrypt -inkey '{}' -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha1 -pkeyopt rsa_mgf1_md:sha1",
        b64.display(),
        fixture(key).display()
    ))
}

/// The standard output of `sh -c script`, which must succeed.
fn shell(script: &str) -> Vec<u8> {
    let out = Command::new("sh").arg("-c").arg(script).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

// ---------------------------------------------------------------- independent header parsing

/// The parts of an `Authorization` header, parsed without the crate's parser.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthParts {
    pub scheme: String,
    pub fields: Vec<(String, String)>,
}

impl AuthParts {
    pub fn parse(value: &str) -> AuthParts {
        let (scheme, rest) = value.split_once(' ').expect("scheme then parameters");
        let fields = rest
            .split(',')
            .map(|kv| {
                let (k, v) = kv.split_once('=').expect("key=value");
                assert!(v.starts_with('"') && v.ends_with('"'), "quoted: {kv}");
                (k.to_owned(), v[1..v.len() - 1].to_owned())
            })
            .collect();
        AuthParts {
            scheme: scheme.to_owned(),
            fields,
        }
    }

    pub fn get(&self, key: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("field {key} missing in {:?}", self.fields))
    }
}

// ---------------------------------------------------------------- signed replies (data only)

/// A reply to write.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Sleep this long before answering (timeouts).
    pub delay: Duration,
    /// Send no Content-Length and close the connection after the body.
    pub close_delimited: bool,
}

impl Reply {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.into(),
            delay: Duration::ZERO,
            close_delimited: false,
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    pub fn without_header(mut self, name: &str) -> Reply {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self
    }

    pub fn set_header(self, name: &str, value: impl Into<String>) -> Reply {
        self.without_header(name).header(name, value)
    }
}

/// Signs a reply with OpenSSL the way WeChat Pay does.
pub fn signed_reply(status: u16, body: &str, key: &str, serial: &str, timestamp: i64) -> Reply {
    let nonce = format!("nonce{timestamp}x{}", body.len());
    let message = format!("{timestamp}\n{nonce}\n{body}\n");
    let signature = openssl_sign(key, message.as_bytes());
    Reply::new(status, body.as_bytes().to_vec())
        .header("Request-ID", "08F4D8A1B2C3D4E5F6A7B8C9D0E1F2A3B4C5D6")
        .header("Wechatpay-Timestamp", timestamp.to_string())
        .header("Wechatpay-Nonce", nonce)
        .header("Wechatpay-Signature", signature)
        .header("Wechatpay-Serial", serial)
        .header("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048")
}

/// A reply signed with the WeChat Pay public key fixture, now.
pub fn ok_reply(body: &str) -> Reply {
    signed_reply(200, body, "wechatpay_key.pem", PUB_KEY_ID, now())
}

/// A reply signed by OpenSSL with a chosen nonce (WeChat Pay does not promise
/// unique reply nonces), with the WeChat Pay public key fixture.
pub fn nonce_reply(body: &str, nonce: &str, timestamp: i64) -> Reply {
    let message = format!("{timestamp}\n{nonce}\n{body}\n");
    Reply::new(200, body.as_bytes().to_vec())
        .header("Wechatpay-Timestamp", timestamp.to_string())
        .header("Wechatpay-Nonce", nonce)
        .header(
            "Wechatpay-Signature",
            openssl_sign("wechatpay_key.pem", message.as_bytes()),
        )
        .header("Wechatpay-Serial", PUB_KEY_ID)
        .header("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048")
}
