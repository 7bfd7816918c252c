//! Shared test helpers: start the `wechatpay sandbox` binary on 127.0.0.1,
//! run the CLI with a deadline, and send raw HTTP/1.1 requests signed here.
//!
//! Sandboxes are started with `--stop-on-eof`: their stdin is a pipe held by
//! the test process, so a sandbox in a `static` still exits when the test
//! binary does. Keys live in one directory per test binary under
//! `CARGO_TARGET_TMPDIR` and are generated once, then reused.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use wechatpay_sandbox::keys::{Identity, SandboxKeys};
use wechatpay_transport::crypto::signer_from_pem;
use wechatpay_transport::sign::{generate_nonce, sign_request, RequestToSign};
use wechatpay_transport::AuthScheme;

/// The built `wechatpay` binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_wechatpay");

/// Every environment variable the CLI reads; cleared for each run so the
/// developer's own settings never leak into a test.
pub const ENV_VARS: [&str; 12] = [
    "WECHATPAY_PROFILE",
    "WECHATPAY_JOURNAL",
    "WECHATPAY_BASE_URL",
    "WECHATPAY_MCHID",
    "WECHATPAY_BRAND_ID",
    "WECHATPAY_SERIAL_NO",
    "WECHATPAY_PRIVATE_KEY",
    "WECHATPAY_PUBLIC_KEY_ID",
    "WECHATPAY_PUBLIC_KEY",
    "WECHATPAY_APIV3_KEY",
    "WECHATPAY_SANDBOX_KEYS",
    "RUST_LOG",
];

/// A keys directory for this test binary, with the sandbox keys generated in it
/// (once, under a lock: sandboxes started in parallel must not race to generate).
pub fn keys_dir(name: &str) -> PathBuf {
    static LOCK: Mutex<()> = Mutex::new(());
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("wechatpay-cli-{name}-keys"));
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    SandboxKeys::load_or_create(&dir).expect("sandbox keys");
    dir
}

/// Unix seconds now.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A running sandbox process; killed on drop.
pub struct Sandbox {
    child: Child,
    _stdin: ChildStdin,
    pub base_url: String,
    pub addr: SocketAddr,
    pub keys: PathBuf,
    pub identity: Identity,
}

impl Sandbox {
    /// Starts `wechatpay sandbox --listen 127.0.0.1:0 --keys DIR ARGS…` and
    /// waits (at most 60 s) for the base URL on its first stdout line.
    pub fn start(keys: &Path, args: &[&str]) -> Sandbox {
        let mut command = Command::new(BIN);
        for var in ENV_VARS {
            command.env_remove(var);
        }
        let mut child = command
            .args([
                "sandbox",
                "--listen",
                "127.0.0.1:0",
                "--quiet",
                "--stop-on-eof",
                "--keys",
            ])
            .arg(keys)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the sandbox");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) if line.starts_with("http://") => line.trim().to_owned(),
            other => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the sandbox did not print its base URL: {other:?}");
            }
        };
        let addr: SocketAddr = line.trim_start_matches("http://").parse().unwrap();
        assert!(addr.ip().is_loopback());
        let identity = serde_json::from_slice(&std::fs::read(keys.join("sandbox.json")).unwrap())
            .expect("sandbox.json");
        Sandbox {
            child,
            _stdin: stdin,
            base_url: line,
            addr,
            keys: keys.to_owned(),
            identity,
        }
    }

    /// A file in the keys directory.
    pub fn key_file(&self, name: &str) -> PathBuf {
        self.keys.join(name)
    }

    /// `GET /sandbox/stats`.
    pub fn stats(&self) -> Value {
        let reply = http(self.addr, "GET", "/sandbox/stats", &[], b"").expect("stats reply");
        assert_eq!(reply.status, 200);
        serde_json::from_slice(&reply.body).unwrap()
    }

    /// Every request the sandbox has counted.
    pub fn request_count(&self) -> u64 {
        self.stats()["requests"].as_u64().unwrap()
    }

    /// Flags that point the CLI at this sandbox with its generated keys.
    pub fn cli_flags(&self) -> Vec<String> {
        let id = &self.identity;
        vec![
            "--base-url".into(),
            self.base_url.clone(),
            "--mchid".into(),
            id.mchid.clone(),
            "--brand-id".into(),
            id.brand_id.clone(),
            "--serial-no".into(),
            id.serial_no.clone(),
            "--private-key".into(),
            self.key_file("apiclient_key.pem").display().to_string(),
            "--public-key-id".into(),
            id.public_key_id.clone(),
            "--public-key".into(),
            self.key_file("wxp_pub.pem").display().to_string(),
        ]
    }

    /// Signs a request with the sandbox's client key (through the transport's
    /// signing functions) and sends it raw. `extra` headers are added as given.
    pub fn signed(
        &self,
        scheme: AuthScheme,
        url: &str,
        body: &[u8],
        timestamp: i64,
        extra: &[(&str, &str)],
    ) -> RawReply {
        let auth = self.authorization(scheme, "POST", url, body, timestamp);
        let mut headers: Vec<(&str, &str)> = vec![("Authorization", &auth)];
        headers.extend_from_slice(extra);
        http(self.addr, "POST", url, &headers, body).expect("a reply")
    }

    /// An `Authorization` header value for a request.
    pub fn authorization(
        &self,
        scheme: AuthScheme,
        method: &str,
        url: &str,
        body: &[u8],
        timestamp: i64,
    ) -> String {
        let signer =
            signer_from_pem(std::fs::read(self.key_file("apiclient_key.pem")).unwrap()).unwrap();
        let identity = match scheme {
            AuthScheme::Merchant => &self.identity.mchid,
            AuthScheme::Partner => &self.identity.sp_mchid,
            AuthScheme::Brand => &self.identity.brand_id,
        };
        let nonce = generate_nonce();
        sign_request(
            signer.as_ref(),
            scheme,
            identity,
            &self.identity.serial_no,
            &RequestToSign {
                method,
                url,
                body,
                timestamp,
                nonce: &nonce,
            },
        )
        .unwrap()
        .header_value()
    }

    /// The `Wechatpay-Serial` header a brand request needs.
    pub fn serial_header(&self) -> (&'static str, &str) {
        ("Wechatpay-Serial", self.identity.public_key_id.as_str())
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A reply as received on the socket.
#[derive(Debug, Clone)]
pub struct RawReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawReply {
    /// A header value by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The `--header` arguments for `wechatpay verify`.
    pub fn verify_args(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (name, value) in &self.headers {
            if name.to_ascii_lowercase().starts_with("wechatpay-") {
                out.push("--header".to_owned());
                out.push(format!("{name}: {value}"));
            }
        }
        out
    }
}

/// One HTTP/1.1 exchange on a fresh connection (`Connection: close`), with a
/// 30 s deadline. `None` when the server closed the connection without a reply.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<RawReply> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    // A reset after the server drops the connection reads as an error: no reply.
    if stream.read_to_end(&mut raw).is_err() && raw.is_empty() {
        return None;
    }
    if raw.is_empty() {
        return None;
    }
    Some(parse_reply(&raw))
}

fn parse_reply(raw: &[u8]) -> RawReply {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = std::str::from_utf8(&raw[..split]).unwrap();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if let Some(len) = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        body.truncate(len);
    }
    RawReply {
        status,
        headers,
        body,
    }
}

/// Runs the CLI with `args`, no WECHATPAY_* environment except `env`, and a 60 s deadline.
pub fn cli<S: AsRef<std::ffi::OsStr>>(args: &[S], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BIN);
    for var in ENV_VARS {
        command.env_remove(var);
    }
    command
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn the CLI");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("the CLI did not finish in 60 s: {out:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The exit code, stdout and stderr of a finished CLI run.
pub fn outcome(out: &Output) -> (i32, String, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A unique request number for this test run.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    format!("{prefix}_{}_{}_{n}", std::process::id(), now())
}

/// Runs `openssl ARGS` with `stdin`, returning stdout; panics with stderr on failure.
pub fn openssl(args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl must be installed");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}
