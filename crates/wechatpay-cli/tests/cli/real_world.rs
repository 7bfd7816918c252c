//! Issue 13, from the command line: replies that verify but do not decode,
//! empty base URLs, closed pipes, probe signatures, platform certificates,
//! and the rough edges a new user runs into. Servers are the sandbox or a
//! small signing server on 127.0.0.1 started here.

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::{cli, keys_dir, now, openssl, outcome, unique, Sandbox, BIN, ENV_VARS};
use serde_json::{json, Value};
use wechatpay_sandbox::keys::Identity;
use wechatpay_transport::crypto::signer_from_pem;
use wechatpay_transport::sign::sign_reply;

fn keys() -> PathBuf {
    keys_dir("real-world")
}

fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| Sandbox::start(&keys(), &[]))
}

fn identity() -> Identity {
    serde_json::from_slice(&std::fs::read(keys().join("sandbox.json")).unwrap()).unwrap()
}

fn merchant_body(number: &str) -> String {
    json!({"openid":"o1","appid":"wx1","stock_id":"12312354","out_request_no":number,"coupon_type":"NORMAL"}).to_string()
}

/// `call send-product-coupon` with the sandbox keys, against `base_url`.
fn call_args(base_url: &str, body: &str, extra: &[&str]) -> Vec<String> {
    let id = identity();
    let mut args: Vec<String> = vec![
        "call".into(),
        "send-product-coupon".into(),
        "--body".into(),
        body.into(),
        "--base-url".into(),
        base_url.into(),
        "--mchid".into(),
        id.mchid,
        "--serial-no".into(),
        id.serial_no,
        "--private-key".into(),
        keys().join("apiclient_key.pem").display().to_string(),
        "--public-key-id".into(),
        id.public_key_id,
        "--public-key".into(),
        keys().join("wxp_pub.pem").display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

// ---------------------------------------------------------------- a signing server

/// What the server answers: status, extra headers, body, whether to sign.
#[derive(Clone)]
struct Canned {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    signed: bool,
}

impl Canned {
    fn signed(body: impl Into<Vec<u8>>) -> Canned {
        Canned {
            status: 200,
            headers: Vec::new(),
            body: body.into(),
            signed: true,
        }
    }
}

/// A one-request-per-connection HTTP/1.1 server on 127.0.0.1 answering every
/// request with `canned`, signed with the sandbox's WeChat Pay key; counts requests.
struct Server {
    url: String,
    canned: Arc<Mutex<Canned>>,
    requests: Arc<Mutex<usize>>,
}

impl Server {
    fn start(canned: Canned) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let canned = Arc::new(Mutex::new(canned));
        let requests = Arc::new(Mutex::new(0));
        let (c, r) = (canned.clone(), requests.clone());
        let signer = signer_from_pem(std::fs::read(keys().join("wxp_key.pem")).unwrap()).unwrap();
        let key_id = identity().public_key_id;
        std::thread::spawn(move || {
            // Bounded: a test makes a handful of requests.
            for stream in listener.incoming().take(200) {
                let Ok(mut stream) = stream else { return };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                if read_request(&mut stream).is_none() {
                    continue;
                }
                *r.lock().unwrap() += 1;
                let canned = c.lock().unwrap().clone();
                let mut head = format!(
                    "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\nContent-Type: application/json\r\nRequest-ID: RW-REQ-1\r\n",
                    canned.status,
                    canned.body.len()
                );
                if canned.signed {
                    let signed =
                        sign_reply(signer.as_ref(), &key_id, now(), "rwnonce", &canned.body)
                            .unwrap();
                    for (name, value) in signed.pairs() {
                        head.push_str(&format!("{name}: {value}\r\n"));
                    }
                }
                for (name, value) in &canned.headers {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str("\r\n");
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&canned.body);
            }
        });
        Server {
            url,
            canned,
            requests,
        }
    }

    fn answer(&self, canned: Canned) {
        *self.canned.lock().unwrap() = canned;
    }

    fn count(&self) -> usize {
        *self.requests.lock().unwrap()
    }
}

fn read_request(stream: &mut TcpStream) -> Option<()> {
    let mut reader = BufReader::new(stream);
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()
}

// ---------------------------------------------------------------- bug 1

#[test]
fn call_prints_only_what_decodes_into_the_response_type() {
    let server = Server::start(Canned::signed(Vec::new()));
    let number = unique("DEC");
    let good = json!({"send_coupon_result": {
        "out_request_no": number, "coupon_code": "C\u{1b}[2J1", "coupon_state": "SENDED",
        "stock_id": "S-rw", "added_later_by_wechat": {"x": 1}
    }, "unknown_top": [1, 2]})
    .to_string();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", good.as_bytes()[..good.len() / 2].to_vec()),
        (
            "wrong types",
            br#"{"send_coupon_result":{"coupon_code":12}}"#.to_vec(),
        ),
        ("array", b"[1,2,3]".to_vec()),
        ("null", b"null".to_vec()),
        ("empty", Vec::new()),
        (
            "invalid UTF-8",
            b"{\"send_coupon_result\":{\"coupon_code\":\"\xff\"}}".to_vec(),
        ),
        (
            "raw ESC and BEL",
            b"{\"send_coupon_result\":{\"coupon_code\":\"\x1b[2J\x07\"}}".to_vec(),
        ),
        (
            "gzip",
            vec![0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03],
        ),
    ];
    for (name, body) in cases {
        server.answer(Canned::signed(body));
        let (code, stdout, stderr) = outcome(&cli(
            &call_args(&server.url, &merchant_body(&number), &[]),
            &[],
        ));
        assert_eq!(code, 8, "{name}: {stdout}{stderr}");
        assert!(stdout.is_empty(), "{name}: {stdout}");
        assert!(
            stderr.contains("verified but does not decode into SendProductCouponResponse"),
            "{name}: {stderr}"
        );
        assert!(
            !stderr.contains('\u{1b}') && !stderr.contains('\u{7}'),
            "{name}: {stderr:?}"
        );
        assert!(stderr.contains("--raw"), "{name}: {stderr}");
    }
    // A reply that decodes: printed as decoded, unknown fields left out,
    // control characters escaped by the JSON printer.
    server.answer(Canned::signed(good.clone()));
    let (code, stdout, stderr) = outcome(&cli(
        &call_args(&server.url, &merchant_body(&number), &[]),
        &[],
    ));
    assert_eq!(code, 0, "{stderr}");
    assert!(!stdout.contains('\u{1b}'), "{stdout:?}");
    let printed: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(printed["send_coupon_result"]["coupon_code"], "C\u{1b}[2J1");
    assert_eq!(
        printed["send_coupon_result"]["out_request_no"],
        number.as_str()
    );
    assert!(printed.get("unknown_top").is_none(), "{printed}");
    assert!(
        printed["send_coupon_result"]
            .get("added_later_by_wechat")
            .is_none(),
        "{printed}"
    );
    // The exit codes are documented.
    let (_, help, _) = outcome(&cli(&["call", "--help"], &[]));
    assert!(help.contains("  8  decode error"), "{help}");
    assert!(help.contains("  9  output error"), "{help}");
}

/// A signed 2xx reply of send-user-product-coupon without `coupon_code`, which its
/// response type (UserProductCouponEntity) requires: the coupon was issued, so exit 8
/// says how to see the verified body, and `--raw` prints it exactly, exit 0.
#[test]
fn a_verified_reply_missing_a_required_field_is_printed_only_with_raw() {
    use wechatpay_endpoints::{brand::SendUserProductCoupon, Endpoint as _};

    let mut entity: Value =
        serde_json::from_str(SendUserProductCoupon::INFO.response_examples[0].body).unwrap();
    assert!(entity
        .as_object_mut()
        .unwrap()
        .remove("coupon_code")
        .is_some());
    entity["attach"] = "领券成功".into();
    let body = serde_json::to_vec_pretty(&entity).unwrap();
    let server = Server::start(Canned::signed(body.clone()));
    let id = identity();
    let request = json!({
        "openid": "oh-394z-6CGkNoJrsDLTTUKiAnp4", "product_coupon_id": "1000000013",
        "stock_id": "1000000013001", "appid": "wx233544546545989",
        "send_request_no": unique("RAW"),
    })
    .to_string();
    let args = |extra: &[&str]| {
        let mut args: Vec<String> = vec![
            "call".into(),
            "send-user-product-coupon".into(),
            "--body".into(),
            request.clone(),
            "--base-url".into(),
            server.url.clone(),
            "--brand-id".into(),
            id.brand_id.clone(),
            "--serial-no".into(),
            id.serial_no.clone(),
            "--private-key".into(),
            keys().join("apiclient_key.pem").display().to_string(),
            "--public-key-id".into(),
            id.public_key_id.clone(),
            "--public-key".into(),
            keys().join("wxp_pub.pem").display().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };

    let (code, stdout, stderr) = outcome(&cli(&args(&[]), &[]));
    assert_eq!(code, 8, "{stdout}{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("does not decode into UserProductCouponEntity")
            && stderr.contains("coupon_code"),
        "{stderr}"
    );
    assert!(
        stderr.contains("run the same command again with --raw")
            && stderr.contains("the same send_request_no returns the original result"),
        "{stderr}"
    );

    let out = cli(&args(&["--raw"]), &[]);
    let (code, _, stderr) = outcome(&out);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    assert_eq!(out.stdout, [body.as_slice(), b"\n"].concat());
    assert_eq!(server.count(), 2);

    // --raw never shows what did not verify.
    server.answer(Canned {
        signed: false,
        ..Canned::signed(body.clone())
    });
    let (code, stdout, stderr) = outcome(&cli(&args(&["--raw"]), &[]));
    assert_eq!(code, 6, "{stdout}{stderr}");
    assert!(stdout.is_empty(), "{stdout}");

    // --help lists the flag.
    let (_, help, _) = outcome(&cli(&["call", "--help"], &[]));
    assert!(help.contains("--raw"), "{help}");
    assert!(help.contains("call --raw prints it"), "{help}");
}

// ---------------------------------------------------------------- bug 2

#[test]
fn an_empty_base_url_is_a_configuration_error() {
    let number = unique("EMPTY");
    for (args, env) in [
        (call_args("", &merchant_body(&number), &[]), vec![]),
        (
            call_args("http://x", &merchant_body(&number), &[])
                .into_iter()
                .filter(|a| a != "--base-url" && a != "http://x")
                .collect(),
            vec![("WECHATPAY_BASE_URL", "")],
        ),
    ] {
        let (code, stdout, stderr) = outcome(&cli(&args, &env));
        assert_eq!(code, 4, "{stdout}{stderr}");
        assert!(stderr.contains("the base URL is empty"), "{stderr}");
    }
    // The README recipe waits for the URL line instead of sleeping.
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(
        !readme.contains("sleep 1; BASE_URL=$(head -n1"),
        "README still sleeps and hopes"
    );
    assert!(
        readme.contains("until BASE_URL=$(head -n1 sandbox.out)"),
        "README does not wait"
    );
}

// ---------------------------------------------------------------- bug 3

/// Runs the CLI with its stdout (and, if asked, stderr) closed before it writes.
fn closed_pipes(args: &[String], close_stderr: bool) -> (i32, String) {
    let mut command = Command::new(BIN);
    for var in ENV_VARS {
        command.env_remove(var);
    }
    let mut child = command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stderr = child.stderr.take().unwrap();
    let mut text = String::new();
    if close_stderr {
        drop(stderr);
    } else {
        let _ = stderr.read_to_string(&mut text);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code().unwrap_or(-1), text);
        }
        assert!(Instant::now() < deadline, "the CLI did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn closed_pipes_never_panic() {
    let sb = sandbox();
    // Only stdout closed: the coupon was issued but cannot be shown; exit 9 says what to do.
    let number = unique("PIPE");
    let (code, stderr) = closed_pipes(
        &call_args(&sb.base_url, &merchant_body(&number), &[]),
        false,
    );
    assert_eq!(code, 9, "{stderr}");
    assert!(
        stderr.contains("could not be written to standard output"),
        "{stderr}"
    );
    assert!(stderr.contains("same out_request_no"), "{stderr}");
    // Both closed (`… 2>&1 | head -c 0`): success and failure keep their codes.
    let number = unique("PIPE");
    let (code, _) = closed_pipes(&call_args(&sb.base_url, &merchant_body(&number), &[]), true);
    assert_eq!(code, 9);
    let (code, _) = closed_pipes(
        &["call".into(), "nope".into(), "--body".into(), "{}".into()],
        true,
    );
    assert_eq!(code, 3);
    let (code, _) = closed_pipes(&["describe".into()], true);
    assert_eq!(code, 9);
    let (code, _) = closed_pipes(&["--help".into()], true);
    assert_eq!(code, 0);
}

/// `wechatpay call … >&-`: standard output closed (not a pipe). Rust puts
/// /dev/null on it, so the reply used to vanish with exit 0; now nothing is
/// sent and the exit is 9, as for a closed pipe. `> /dev/null` still works.
#[test]
fn a_closed_standard_output_sends_nothing_and_exits_9() {
    use std::os::unix::process::CommandExt;
    let sb = Sandbox::start(&keys(), &[]);
    let number = unique("CLOSED");
    let mut command = Command::new(BIN);
    for var in ENV_VARS {
        command.env_remove(var);
    }
    // SAFETY: close(2) is async-signal-safe; it runs in the child before exec.
    unsafe {
        command.pre_exec(|| {
            libc::close(1);
            Ok(())
        });
    }
    let out = command
        .args(call_args(&sb.base_url, &merchant_body(&number), &[]))
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(9), "{stderr}");
    assert!(stderr.contains("standard output is closed"), "{stderr}");
    assert!(stderr.contains("nothing was sent"), "{stderr}");
    assert_eq!(sb.request_count(), 0, "nothing reached the sandbox");
    // Output thrown away on purpose is not a closed output.
    let out = Command::new(BIN)
        .args(call_args(&sb.base_url, &merchant_body(&number), &[]))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A private key or profile that other users can read is used, with a
/// warning naming the file and `chmod 600`; an owner-only one gets none.
#[test]
fn key_material_readable_by_others_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let sb = sandbox();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("apiclient_key.pem");
    std::fs::copy(keys().join("apiclient_key.pem"), &key).unwrap();
    let profile = dir.path().join("wechatpay.toml");
    std::fs::write(&profile, "# no settings\n").unwrap();
    let run = |mode: u32| {
        for file in [&key, &profile] {
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        let mut args = call_args(&sb.base_url, &merchant_body(&unique("PERM")), &[]);
        let at = args.iter().position(|a| a == "--private-key").unwrap();
        args[at + 1] = key.display().to_string();
        args.extend(["--profile".to_owned(), profile.display().to_string()]);
        outcome(&cli(&args, &[]))
    };
    for mode in [0o644, 0o777] {
        let (code, _, stderr) = run(mode);
        assert_eq!(code, 0, "{stderr}");
        for (what, file) in [("private key", &key), ("profile", &profile)] {
            assert!(
                stderr.contains(&format!(
                    "warning: {what} {} can be read by other users (mode {mode:04o}); restrict it with `chmod 600 {}`",
                    file.display(),
                    file.display()
                )),
                "{stderr}"
            );
        }
    }
    let (code, _, stderr) = run(0o600);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
}

// ---------------------------------------------------------------- item 5

#[test]
fn a_success_that_does_not_verify_is_sent_once_more_then_reported_as_unknown() {
    let sb = Sandbox::start(&keys(), &["--fault", "tamper-signature"]);
    let number = unique("PROBE");
    let (code, stdout, stderr) = outcome(&cli(
        &call_args(&sb.base_url, &merchant_body(&number), &["--retries", "0"]),
        &[],
    ));
    assert_eq!(code, 6, "{stderr}");
    assert!(stdout.is_empty());
    for needle in [
        "outcome is unknown",
        "same out_request_no",
        "query the result",
    ] {
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }
    let op = &sb.stats()["operations"]["send-product-coupon"];
    assert_eq!(
        (
            op["requests"].as_u64(),
            op["issued"].as_u64(),
            op["replayed"].as_u64()
        ),
        (Some(2), Some(1), Some(1)),
        "sent twice with the same number, one coupon: {op}"
    );
}

// ---------------------------------------------------------------- item 7

#[test]
fn certificates_downloads_the_platform_certificate_for_use_with_platform_cert() {
    let sb = sandbox();
    let dir = tempfile::tempdir().unwrap();
    let apiv3 = identity().apiv3_key;
    assert_eq!(apiv3.len(), 32);
    let profile = keys().join("profile.toml");
    let args = |extra: &[&str]| {
        let mut a: Vec<String> = vec![
            "certificates".into(),
            "--profile".into(),
            profile.display().to_string(),
            "--base-url".into(),
            sb.base_url.clone(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let out = dir.path().join("certs");
    let (code, stdout, stderr) = outcome(&cli(
        &args(&["--out", out.to_str().unwrap()]),
        &[("WECHATPAY_APIV3_KEY", &apiv3)],
    ));
    assert_eq!(code, 0, "{stderr}");
    assert!(!stdout.contains(&apiv3) && !stderr.contains(&apiv3));
    let listing: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(listing["mode"], "platform-certificates");
    let cert = &listing["certificates"][0];
    let serial = cert["serial_no"].as_str().unwrap();
    let file = PathBuf::from(cert["file"].as_str().unwrap());
    assert_eq!(file, out.join(format!("wechatpay_{serial}.pem")));
    // OpenSSL reads it: its serial, and the sandbox's WeChat Pay public key.
    let file_arg = file.to_str().unwrap();
    let printed = String::from_utf8(openssl(
        &["x509", "-in", file_arg, "-noout", "-serial"],
        b"",
    ))
    .unwrap();
    assert_eq!(printed.trim(), format!("serial={serial}"));
    let public = openssl(&["x509", "-in", file_arg, "-noout", "-pubkey"], b"");
    assert_eq!(public, std::fs::read(keys().join("wxp_pub.pem")).unwrap());
    // Its self-signature checks out.
    openssl(&["x509", "-in", file_arg, "-noout", "-text"], b"");
    let verified = openssl(
        &["verify", "-partial_chain", "-CAfile", file_arg, file_arg],
        b"",
    );
    assert!(String::from_utf8_lossy(&verified).contains(": OK"));

    // A call trusting the public key and the downloaded certificate, with
    // the APIv3 key set (certificates managed by the client), works.
    let number = unique("CERT");
    let (code, _, stderr) = outcome(&cli(
        &call_args(
            &sb.base_url,
            &merchant_body(&number),
            &["--platform-cert", file_arg],
        ),
        &[("WECHATPAY_APIV3_KEY", &apiv3)],
    ));
    assert_eq!(code, 0, "{stderr}");

    // A wrong APIv3 key fails decryption (exit 6); none at all is a configuration error.
    let wrong = "ffffffffffffffffffffffffffffffff";
    let (code, stdout, stderr) = outcome(&cli(&args(&[]), &[("WECHATPAY_APIV3_KEY", wrong)]));
    assert_eq!(code, 6, "{stderr}");
    assert!(
        stdout.is_empty() && stderr.contains("decryption failed") && !stderr.contains(wrong),
        "{stderr}"
    );
    let (code, _, stderr) = outcome(&cli(&args(&[]), &[]));
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("missing APIv3 key"), "{stderr}");
}

#[test]
fn public_key_only_merchants_get_no_certificates_and_no_error() {
    let server = Server::start(Canned {
        status: 404,
        headers: Vec::new(),
        body: br#"{"code":"RESOURCE_NOT_EXISTS","message":"no platform certificate"}"#.to_vec(),
        signed: true,
    });
    let id = identity();
    let (code, stdout, stderr) = outcome(&cli(
        &[
            "certificates",
            "--profile",
            keys().join("profile.toml").to_str().unwrap(),
            "--base-url",
            &server.url,
        ],
        &[("WECHATPAY_APIV3_KEY", &id.apiv3_key)],
    ));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        serde_json::from_str::<Value>(&stdout).unwrap()["mode"],
        "public-key-only"
    );
    assert!(stderr.contains("public keys only"), "{stderr}");
}

// ---------------------------------------------------------------- rough edges

#[test]
fn rough_edges_from_a_first_run() {
    let sb = sandbox();
    let dir = tempfile::tempdir().unwrap();
    let number = unique("EDGE");
    let body = merchant_body(&number);
    let run = |args: Vec<String>, env: &[(&str, &str)]| outcome(&cli(&args, env));

    // --timeout 0, -1 and 5e-324 are usage errors naming the flag and its range.
    for t in ["0", "-1", "5e-324"] {
        let (code, _, stderr) = run(call_args(&sb.base_url, &body, &["--timeout", t]), &[]);
        assert_eq!(code, 2, "{t}: {stderr}");
        assert!(
            stderr.contains("--timeout") && stderr.contains("must be from 0.1 to 3600 seconds"),
            "{stderr}"
        );
    }
    // Endless body files, BOMs.
    let (code, _, stderr) = run(call_args(&sb.base_url, "@/dev/zero", &[]), &[]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("/dev/zero: larger than"), "{stderr}");
    let bom = dir.path().join("bom.json");
    std::fs::write(&bom, [b"\xEF\xBB\xBF".as_slice(), body.as_bytes()].concat()).unwrap();
    let (code, _, stderr) = run(
        call_args(&sb.base_url, &format!("@{}", bom.display()), &[]),
        &[],
    );
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("bom.json: starts with a UTF-8 byte order mark"),
        "{stderr}"
    );
    // A key file that is an EC key is named and explained.
    let ec = dir.path().join("ec.pem");
    openssl(
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            ec.to_str().unwrap(),
        ],
        b"",
    );
    let mut args = call_args(&sb.base_url, &body, &[]);
    let at = args.iter().position(|a| a == "--private-key").unwrap();
    args[at + 1] = ec.display().to_string();
    let (code, _, stderr) = run(args, &[]);
    assert_eq!(code, 4, "{stderr}");
    assert!(
        stderr.contains("ec.pem") && stderr.contains("an EC key"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("Rejected") && !stderr.contains("WrongAlgorithm"),
        "{stderr}"
    );
    // A base URL without scheme.
    let (code, _, stderr) = run(call_args(&sb.addr.to_string(), &body, &[]), &[]);
    assert_eq!(code, 4, "{stderr}");
    assert!(
        stderr.contains("must start with http:// or https://"),
        "{stderr}"
    );
    // Connection refused says so.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (code, _, stderr) = run(
        call_args(&format!("http://{closed}"), &body, &["--retries", "0"]),
        &[],
    );
    assert_eq!(code, 7, "{stderr}");
    // The whole cause chain, each cause once (the error's own sentence, then
    // reqwest's and the OS's reasons from `source()`).
    assert_eq!(
        stderr
            .to_ascii_lowercase()
            .matches("connection refused")
            .count(),
        1,
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("error sending request").count(),
        1,
        "{stderr}"
    );
    // --proxy is honoured: through a proxy that is not there, the (running)
    // sandbox cannot be reached.
    let (code, _, stderr) = run(
        call_args(
            &sb.base_url,
            &body,
            &["--retries", "0", "--proxy", &format!("http://{closed}")],
        ),
        &[],
    );
    assert_eq!(code, 7, "{stderr}");
    // A 102 KB operation id is not echoed whole.
    let long = "x".repeat(100_000);
    let (code, _, stderr) = run(vec!["call".into(), long, "--body".into(), "{}".into()], &[]);
    assert_eq!(code, 3);
    assert!(stderr.len() < 1000, "{} bytes", stderr.len());
    // sign refuses what would break the Authorization header.
    let (code, stdout, stderr) = run(
        vec![
            "sign".into(),
            "--profile".into(),
            keys().join("profile.toml").display().to_string(),
            "--method".into(),
            "POST".into(),
            "--url".into(),
            "/v3/x".into(),
            "--nonce".into(),
            "a\",signature=\"forged".into(),
        ],
        &[],
    );
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(stderr.contains("--nonce") && stdout.is_empty(), "{stderr}");
    // sandbox --help shows that a variable exists, not its value.
    let (_, stdout, _) = run(
        vec!["sandbox".into(), "--help".into()],
        &[("WECHATPAY_SANDBOX_KEYS", "/very/secret/dir")],
    );
    assert!(
        stdout.contains("WECHATPAY_SANDBOX_KEYS") && !stdout.contains("/very/secret/dir"),
        "{stdout}"
    );
    // A profile with an unquoted numeric apiv3_key does not echo it.
    let profile = dir.path().join("p.toml");
    std::fs::write(&profile, "apiv3_key = 12345678901234567890123456789012\n").unwrap();
    let (code, _, stderr) = run(
        vec![
            "certificates".into(),
            "--profile".into(),
            profile.display().to_string(),
        ],
        &[],
    );
    assert_eq!(code, 4, "{stderr}");
    assert!(!stderr.contains("1234567890"), "{stderr}");
    assert!(stderr.contains("quoted string"), "{stderr}");
}

#[test]
fn redirects_and_oversized_replies_say_what_happened() {
    let server = Server::start(Canned {
        status: 302,
        headers: vec![(
            "Location".into(),
            "https://api.mch.weixin.qq.com/v3/moved".into(),
        )],
        body: Vec::new(),
        signed: false,
    });
    let number = unique("MOVED");
    let (code, stdout, stderr) = outcome(&cli(
        &call_args(&server.url, &merchant_body(&number), &[]),
        &[],
    ));
    assert_eq!(code, 5, "{stdout}{stderr}");
    assert!(
        stderr.contains("Location: https://api.mch.weixin.qq.com/v3/moved"),
        "{stderr}"
    );
    assert!(stderr.contains("never followed"), "{stderr}");
    assert_eq!(server.count(), 1);

    server.answer(Canned::signed(vec![b' '; 5 << 20]));
    let (code, stdout, stderr) = outcome(&cli(
        &call_args(&server.url, &merchant_body(&number), &[]),
        &[],
    ));
    assert_eq!(code, 7, "{stdout}{stderr}");
    for needle in [
        "exceeds the 4194304-byte limit",
        "may have taken effect",
        "same out_request_no",
    ] {
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }
}

#[test]
fn verify_at_says_at_not_now() {
    let sb = sandbox();
    let reply = common::http(sb.addr, "GET", "/v3/nowhere", &[], b"").unwrap();
    let mut args: Vec<String> = vec![
        "verify".into(),
        "--profile".into(),
        keys().join("profile.toml").display().to_string(),
        "--body".into(),
        String::from_utf8(reply.body.clone()).unwrap(),
        "--at".into(),
        "1000".into(),
    ];
    args.extend(reply.verify_args());
    let (code, _, stderr) = outcome(&cli(&args, &[]));
    assert_eq!(code, 6, "{stderr}");
    assert!(stderr.contains("away from --at 1000"), "{stderr}");
    assert!(!stderr.contains("away from now"), "{stderr}");
}

#[test]
fn verbose_logging_shows_the_exchange_without_the_authorization_header() {
    let sb = sandbox();
    for (flag, env) in [(Some("-vv"), None), (None, Some("trace"))] {
        let number = unique("LOG");
        let mut args = call_args(&sb.base_url, &merchant_body(&number), &[]);
        if let Some(flag) = flag {
            args.insert(0, flag.to_owned());
        }
        let env: Vec<(&str, &str)> = env.map(|e| ("RUST_LOG", e)).into_iter().collect();
        let (code, stdout, stderr) = outcome(&cli(&args, &env));
        assert_eq!(code, 0, "{stderr}");
        assert!(serde_json::from_str::<Value>(&stdout).is_ok());
        for needle in ["wechatpay_transport", "sending request", "reply received"] {
            assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
        }
        assert!(
            !stderr.contains("WECHATPAY2-SHA256-RSA2048 mchid"),
            "{stderr}"
        );
        assert!(!stderr.contains("PRIVATE KEY"), "{stderr}");
    }
}

/// A GET whose reply never comes: the message says it is safe to send again, not
/// that it "may have taken effect" (a read changes nothing).
#[test]
fn a_get_that_times_out_says_it_is_safe_to_repeat() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    // Accepts and holds connections without answering, for as long as the test runs.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten().take(8) {
            held.push(stream);
        }
        std::thread::sleep(Duration::from_secs(20));
    });
    let id = identity();
    let args: Vec<String> = [
        "call",
        "get-stock",
        "--body",
        r#"{"product_coupon_id":"1000000013","stock_id":"1000000013001"}"#,
        "--base-url",
        &base_url,
        "--brand-id",
        &id.brand_id,
        "--serial-no",
        &id.serial_no,
        "--private-key",
        &keys().join("apiclient_key.pem").display().to_string(),
        "--public-key-id",
        &id.public_key_id,
        "--public-key",
        &keys().join("wxp_pub.pem").display().to_string(),
        "--timeout",
        "0.5",
        "--retries",
        "0",
    ]
    .map(String::from)
    .to_vec();
    let (code, stdout, stderr) = outcome(&cli(&args, &[]));
    assert_eq!(code, 7, "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("a GET changes nothing: it is safe to send again"),
        "{stderr}"
    );
    assert!(!stderr.contains("may have taken effect"), "{stderr}");
}
