//! The built `wechatpay` binary against the sandbox: the three operations,
//! settings from flags, environment and profile, every fault mode's exit code
//! and message, `sign` against OpenSSL, `verify` (with `--at`, tampering and
//! notification decryption), configuration errors, and secrets never printed.

use crate::common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use common::{cli, keys_dir, now, outcome, unique, Sandbox};
use serde_json::{json, Value};
use wechatpay_transport::crypto::signer_from_pem;
use wechatpay_transport::notification::{encrypt_resource, ApiV3Key, Notification};
use wechatpay_transport::sign::sign_reply;
use wechatpay_transport::AuthScheme::Merchant;

const MERCHANT_URL: &str = "/v3/marketing/busifavor/product-coupons/send";

fn keys() -> std::path::PathBuf {
    keys_dir("cli")
}

fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| Sandbox::start(&keys(), &[]))
}

fn merchant_body(number: &str) -> String {
    json!({"openid":"o1","appid":"wx1","stock_id":"12312354","out_request_no":number,"coupon_type":"NORMAL"}).to_string()
}

fn call_args(sb: &Sandbox, operation: &str, body: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "call".to_owned(),
        operation.to_owned(),
        "--body".to_owned(),
        body.to_owned(),
    ];
    args.extend(sb.cli_flags());
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

#[test]
fn calls_all_three_operations_with_flags_environment_and_profile() {
    let sb = sandbox();
    // 1. Flags.
    let number = unique("CLI");
    let (code, stdout, stderr) = outcome(&cli(
        &call_args(sb, "send-product-coupon", &merchant_body(&number), &[]),
        &[],
    ));
    assert_eq!(code, 0, "{stderr}");
    let reply: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        reply["send_coupon_result"]["out_request_no"],
        number.as_str()
    );
    assert_eq!(reply["send_coupon_result"]["stock_id"], "12312354");

    // 2. Environment variables only.
    let id = &sb.identity;
    let key = sb.key_file("apiclient_key.pem");
    let public = sb.key_file("wxp_pub.pem");
    let env = [
        ("WECHATPAY_BASE_URL", sb.base_url.as_str()),
        ("WECHATPAY_BRAND_ID", id.brand_id.as_str()),
        ("WECHATPAY_SERIAL_NO", id.serial_no.as_str()),
        ("WECHATPAY_PRIVATE_KEY", key.to_str().unwrap()),
        ("WECHATPAY_PUBLIC_KEY_ID", id.public_key_id.as_str()),
        ("WECHATPAY_PUBLIC_KEY", public.to_str().unwrap()),
    ];
    let body = json!({"openid":"o-env","product_coupon_id":"200000001","stock_bundle_id":"100232301","appid":"wx233544546545989","send_request_no":unique("ENV")}).to_string();
    let (code, stdout, stderr) = outcome(&cli(
        &[
            "call",
            "pre-send-user-product-coupon-bundle",
            "--body",
            &body,
        ],
        &env,
    ));
    assert_eq!(code, 0, "{stderr}");
    assert!(serde_json::from_str::<Value>(&stdout).unwrap()["token"].is_string());

    // 3. The profile the sandbox wrote, with a body file; a flag beats the
    //    environment, which beats the profile.
    let dir = tempfile::tempdir().unwrap();
    let body_file = dir.path().join("send.json");
    let number = unique("PROFILE");
    std::fs::write(
        &body_file,
        json!({"openid":"o-profile","product_coupon_id":"1000000013","stock_id":"1000000013001","appid":"wx2","send_request_no":number,"attach":"来自配置"}).to_string(),
    )
    .unwrap();
    let profile = sb.key_file("profile.toml");
    let (code, stdout, stderr) = outcome(&cli(
        &[
            "call",
            "send-user-product-coupon",
            "--body",
            &format!("@{}", body_file.display()),
            "--profile",
            profile.to_str().unwrap(),
            "--base-url",
            &sb.base_url,
        ],
        &[
            ("WECHATPAY_BASE_URL", "http://127.0.0.1:9"),
            ("WECHATPAY_BRAND_ID", "not-the-brand"),
        ],
    ));
    // The environment's brand_id beats the profile's: the sandbox refuses it.
    assert_eq!(code, 5, "{stdout}{stderr}");
    assert!(
        stderr.contains("SIGN_ERROR") && stderr.contains("brand_id"),
        "{stderr}"
    );
    let (code, stdout, stderr) = outcome(&cli(
        &[
            "call",
            "send-user-product-coupon",
            "--body",
            &format!("@{}", body_file.display()),
            "--base-url",
            &sb.base_url,
        ],
        &[
            ("WECHATPAY_PROFILE", profile.to_str().unwrap()),
            ("WECHATPAY_BASE_URL", "http://127.0.0.1:9"),
        ],
    ));
    assert_eq!(code, 0, "{stderr}");
    let reply: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(reply["send_request_no"], number.as_str());
    assert_eq!(reply["attach"], "来自配置");
    assert!(serde_json::from_value::<wechatpay_models::UserProductCouponEntity>(reply).is_ok());
}

#[test]
fn help_lists_operations_with_titles_and_exit_codes() {
    let (code, stdout, _) = outcome(&cli(&["call", "--help"], &[]));
    assert_eq!(code, 0);
    for info in wechatpay_endpoints::ALL {
        let line = stdout
            .lines()
            .find(|l| {
                l.trim_start()
                    .starts_with(&format!("{} ", info.operation_id))
            })
            .unwrap_or_else(|| panic!("{} not listed:\n{stdout}", info.operation_id));
        assert!(line.contains(info.title), "{line}");
    }
    for code in 1..=9 {
        assert!(
            stdout.contains(&format!("  {code}  ")),
            "exit code {code} not listed:\n{stdout}"
        );
    }
    for flag in [
        "--base-url",
        "--mchid",
        "--brand-id",
        "--serial-no",
        "--private-key",
        "--public-key-id",
        "--public-key",
        "WECHATPAY_PUBLIC_KEY",
    ] {
        assert!(stdout.contains(flag), "{flag} not in help");
    }
    let (code, stdout, _) = outcome(&cli(&["describe", "send-product-coupon"], &[]));
    assert_eq!(code, 0);
    for needle in [
        "POST /v3/marketing/busifavor/product-coupons/send",
        "WECHATPAY2-SHA256-RSA2048 mchid=",
        "out_request_no (body, string): required, at most 128 characters, charset [A-Za-z0-9|_*-]",
        "coupon_type (body, CouponType): required, values: NORMAL | MEMBER",
        "400 STOCK_INSUFFICIENT",
        "429 FREQUENCY_LIMITED [caller] (retryable)",
    ] {
        assert!(stdout.contains(needle), "{needle:?} not in\n{stdout}");
    }
}

struct FaultCase {
    fault: &'static str,
    extra: &'static [&'static str],
    exit: i32,
    needles: &'static [&'static str],
}

#[test]
fn each_fault_mode_has_its_exit_code_and_message() {
    let cases = [
        FaultCase {
            fault: "error=STOCK_INSUFFICIENT",
            extra: &[],
            exit: 5,
            needles: &["HTTP 400 STOCK_INSUFFICIENT", "Request-ID: "],
        },
        FaultCase {
            fault: "status=500",
            extra: &["--retries", "1"],
            exit: 5,
            needles: &["HTTP 500 SYSTEM_ERROR", "after 2 attempts", "Request-ID: "],
        },
        FaultCase {
            fault: "status=429",
            extra: &["--retries", "0"],
            exit: 5,
            needles: &["HTTP 429 FREQUENCY_LIMITED", "Request-ID: "],
        },
        FaultCase {
            fault: "delay-ms=1500",
            extra: &["--timeout", "0.5", "--retries", "0"],
            exit: 7,
            needles: &["network error", "timeout"],
        },
        FaultCase {
            fault: "delay-ms=200",
            extra: &[],
            exit: 0,
            needles: &[],
        },
        FaultCase {
            fault: "tamper-signature",
            extra: &[],
            exit: 6,
            needles: &["did not verify", "signature does not match"],
        },
        FaultCase {
            fault: "drop-after-receive",
            extra: &["--retries", "0"],
            exit: 7,
            needles: &["network error"],
        },
        // With a retry the same request number gets the recorded result.
        FaultCase {
            fault: "drop-after-receive",
            extra: &["--retries", "1"],
            exit: 0,
            needles: &[],
        },
    ];
    for case in cases {
        let sb = Sandbox::start(&keys(), &["--fault", case.fault]);
        let number = unique("FAULT");
        let (code, stdout, stderr) = outcome(&cli(
            &call_args(
                &sb,
                "send-product-coupon",
                &merchant_body(&number),
                case.extra,
            ),
            &[],
        ));
        assert_eq!(
            code, case.exit,
            "{} {:?}: {stdout}{stderr}",
            case.fault, case.extra
        );
        for needle in case.needles {
            assert!(
                stderr.contains(needle),
                "{}: {needle:?} not in {stderr}",
                case.fault
            );
        }
        if case.exit == 0 {
            let reply: Value = serde_json::from_str(&stdout).unwrap();
            assert_eq!(
                reply["send_coupon_result"]["out_request_no"],
                number.as_str()
            );
        } else {
            // A failed call prints no body, in particular not a tampered one.
            assert!(stdout.is_empty(), "{}: {stdout}", case.fault);
        }
        if case.fault == "drop-after-receive" && case.exit == 0 {
            let op = &sb.stats()["operations"]["send-product-coupon"];
            assert_eq!(
                (op["issued"].as_u64(), op["replayed"].as_u64()),
                (Some(1), Some(1)),
                "{op}"
            );
        }
    }
}

#[test]
fn a_sign_error_shows_the_message_the_server_expected() {
    let sb = sandbox();
    let mut args = call_args(
        sb,
        "send-product-coupon",
        &merchant_body(&unique("SIGN")),
        &[],
    );
    let serial = args.iter().position(|a| a == "--serial-no").unwrap() + 1;
    args[serial] = "0123456789ABCDEF".into();
    let (code, stdout, stderr) = outcome(&cli(&args, &[]));
    assert_eq!(code, 5, "{stdout}{stderr}");
    assert!(stderr.contains("HTTP 401 SIGN_ERROR"), "{stderr}");
    assert!(
        stderr.contains("expected_message") && stderr.contains("POST\\n/v3/marketing"),
        "{stderr}"
    );
    assert!(stderr.contains("Request-ID: "), "{stderr}");
}

/// What `openssl dgst -sha256 -sign KEY | base64 -w0` prints for `message`.
fn openssl_signature(key: &Path, message: &[u8]) -> String {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl dgst -sha256 -sign '{}' | base64 -w0",
            key.display()
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), message).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn line<'a>(stdout: &'a str, label: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label:?} line in {stdout}"))
        .trim()
}

#[test]
fn sign_matches_openssl_for_pkcs8_and_pkcs1_keys() {
    let sb = sandbox();
    let dir = tempfile::tempdir().unwrap();
    let body = "{\"stock_id\":\"商品券\",\"n\":1}";
    let body_file = dir.path().join("body.json");
    std::fs::write(&body_file, body).unwrap();
    let pkcs8 = sb.key_file("apiclient_key.pem");
    let pkcs1 = dir.path().join("pkcs1.pem");
    common::openssl(
        &[
            "rsa",
            "-traditional",
            "-in",
            pkcs8.to_str().unwrap(),
            "-out",
            pkcs1.to_str().unwrap(),
        ],
        b"",
    );
    assert!(std::fs::read_to_string(&pkcs1)
        .unwrap()
        .contains("BEGIN RSA PRIVATE KEY"));
    let url = "/v3/marketing/busifavor/product-coupons/send?a=1&b=%E5%88%B8";
    let message = format!("POST\n{url}\n1700000000\nNONCEnonce123\n{body}\n");
    let expected = openssl_signature(&pkcs8, message.as_bytes());
    for key in [&pkcs8, &pkcs1] {
        let mut args = vec![
            "sign".to_owned(),
            "--method".into(),
            "post".into(),
            "--url".into(),
            url.into(),
            "--body".into(),
            format!("@{}", body_file.display()),
            "--timestamp".into(),
            "1700000000".into(),
            "--nonce".into(),
            "NONCEnonce123".into(),
        ];
        args.extend(sb.cli_flags());
        let pos = args.iter().position(|a| a == "--private-key").unwrap() + 1;
        args[pos] = key.display().to_string();
        let (code, stdout, stderr) = outcome(&cli(&args, &[]));
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(line(&stdout, "message:"), message.replace('\n', "\\n"));
        assert_eq!(line(&stdout, "signature:"), expected);
        let auth = line(&stdout, "authorization:");
        assert_eq!(
            auth,
            format!(
                "WECHATPAY2-SHA256-RSA2048 mchid=\"{}\",nonce_str=\"NONCEnonce123\",signature=\"{expected}\",timestamp=\"1700000000\",serial_no=\"{}\"",
                sb.identity.mchid, sb.identity.serial_no
            )
        );
    }
    // A brand path signs with the brand scheme and brand_id; an empty body for GET.
    let mut args = vec![
        "sign",
        "--method",
        "GET",
        "--url",
        "/brand/marketing/x?y=1",
        "--timestamp",
        "1700000001",
        "--nonce",
        "N2",
    ]
    .into_iter()
    .map(String::from)
    .collect::<Vec<_>>();
    args.extend(sb.cli_flags());
    let (code, stdout, stderr) = outcome(&cli(&args, &[]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        line(&stdout, "message:"),
        "GET\\n/brand/marketing/x?y=1\\n1700000001\\nN2\\n\\n"
    );
    assert_eq!(
        line(&stdout, "signature:"),
        openssl_signature(&pkcs8, b"GET\n/brand/marketing/x?y=1\n1700000001\nN2\n\n")
    );
    assert!(line(&stdout, "authorization:").starts_with(&format!(
        "WECHATPAY-BRAND-SHA256-RSA2048 brand_id=\"{}\"",
        sb.identity.brand_id
    )));
}

/// Captures a signed reply from the sandbox: verify arguments and the body file.
fn capture(sb: &Sandbox, dir: &Path) -> (Vec<String>, std::path::PathBuf, i64) {
    let body = merchant_body(&unique("CAPTURE"));
    let reply = sb.signed(Merchant, MERCHANT_URL, body.as_bytes(), now(), &[]);
    assert_eq!(reply.status, 200);
    let body_file = dir.join("reply.json");
    std::fs::write(&body_file, &reply.body).unwrap();
    let ts = reply
        .header("Wechatpay-Timestamp")
        .unwrap()
        .parse()
        .unwrap();
    (reply.verify_args(), body_file, ts)
}

fn verify_args(sb: &Sandbox, headers: &[String], body: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["verify".to_owned()];
    args.extend(headers.iter().cloned());
    args.extend(["--body".to_owned(), body.to_owned()]);
    args.extend(sb.cli_flags());
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

#[test]
fn verify_checks_a_captured_reply_as_of_when_it_was_captured() {
    let sb = sandbox();
    let dir = tempfile::tempdir().unwrap();
    let (headers, body_file, ts) = capture(sb, dir.path());
    let body_arg = format!("@{}", body_file.display());
    // Later: as of a time 10 minutes on it is stale, as of its capture it verifies.
    let later = (ts + 600).to_string();
    let (code, stdout, stderr) = outcome(&cli(
        &verify_args(sb, &headers, &body_arg, &["--at", &later]),
        &[],
    ));
    assert_eq!(code, 6, "{stderr}");
    assert!(stderr.contains("600 s away"), "{stderr}");
    assert!(stdout.is_empty());
    let at = (ts + 10).to_string();
    let (code, stdout, stderr) = outcome(&cli(
        &verify_args(sb, &headers, &body_arg, &["--at", &at]),
        &[],
    ));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout.trim_end().as_bytes(),
        std::fs::read(&body_file).unwrap()
    );
    assert!(stderr.contains(&sb.identity.public_key_id), "{stderr}");
}

#[test]
fn verify_rejects_a_tampered_body_and_unknown_serials() {
    let sb = sandbox();
    let dir = tempfile::tempdir().unwrap();
    let (headers, body_file, _) = capture(sb, dir.path());
    let tampered = std::fs::read_to_string(&body_file)
        .unwrap()
        .replace("12312354", "12312355");
    let (code, stdout, stderr) = outcome(&cli(&verify_args(sb, &headers, &tampered, &[]), &[]));
    assert_eq!(code, 6, "{stderr}");
    assert!(stderr.contains("signature does not match"), "{stderr}");
    assert!(stdout.is_empty());
    let mut args = verify_args(sb, &headers, &format!("@{}", body_file.display()), &[]);
    let pos = args.iter().position(|a| a == "--public-key-id").unwrap() + 1;
    args[pos] = "PUB_KEY_ID_OTHER".into();
    let (code, _, stderr) = outcome(&cli(&args, &[]));
    assert_eq!(code, 6, "{stderr}");
    assert!(stderr.contains("unknown serial"), "{stderr}");
    // A missing header is named.
    let without_nonce: Vec<String> = headers
        .chunks(2)
        .filter(|pair| !pair[1].to_ascii_lowercase().starts_with("wechatpay-nonce"))
        .flatten()
        .cloned()
        .collect();
    let (code, _, stderr) = outcome(&cli(
        &verify_args(
            sb,
            &without_nonce,
            &format!("@{}", body_file.display()),
            &[],
        ),
        &[],
    ));
    assert_eq!(code, 6, "{stderr}");
    assert!(stderr.contains("Wechatpay-Nonce"), "{stderr}");
}

#[test]
fn verify_decrypts_a_notification_with_the_apiv3_key_without_printing_it() {
    let sb = sandbox();
    let apiv3 = "0123456789abcdefSECRETkey0123456";
    let plaintext =
        json!({"event":"PRODUCT_COUPON.SEND","coupon_code":"C1","stock_id":"S1"}).to_string();
    let resource = encrypt_resource(
        &ApiV3Key::new(apiv3).unwrap(),
        plaintext.as_bytes(),
        "abcdefghijkl",
        "product_coupon",
        "product_coupon",
    )
    .unwrap();
    let notification = Notification {
        id: "EV-1".into(),
        create_time: "2025-08-02T00:00:00+08:00".into(),
        event_type: "PRODUCT_COUPON.SEND".into(),
        resource_type: "encrypt-resource".into(),
        summary: "商品券发放".into(),
        resource,
    };
    let body = serde_json::to_string(&notification).unwrap();
    // Signed with the sandbox's WeChat Pay key, as WeChat Pay signs notifications.
    let signer = signer_from_pem(std::fs::read(sb.key_file("wxp_key.pem")).unwrap()).unwrap();
    let ts = now();
    let signed = sign_reply(
        signer.as_ref(),
        &sb.identity.public_key_id,
        ts,
        "notifynonce",
        body.as_bytes(),
    )
    .unwrap();
    let headers: Vec<String> = signed
        .pairs()
        .iter()
        .flat_map(|(n, v)| ["--header".to_owned(), format!("{n}: {v}")])
        .collect();
    let (code, stdout, stderr) = outcome(&cli(
        &verify_args(sb, &headers, &body, &[]),
        &[("WECHATPAY_APIV3_KEY", apiv3)],
    ));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.trim_end(), plaintext);
    assert!(stderr.contains("PRODUCT_COUPON.SEND"), "{stderr}");
    assert!(!stdout.contains(apiv3) && !stderr.contains(apiv3));
    // A wrong key fails decryption, and says so without echoing either key.
    let wrong = "ffffffffffffffffffffffffffffffff";
    let (code, stdout, stderr) = outcome(&cli(
        &verify_args(sb, &headers, &body, &["--apiv3-key", wrong]),
        &[],
    ));
    assert_eq!(code, 6, "{stderr}");
    assert!(stderr.contains("decryption failed"), "{stderr}");
    assert!(stdout.is_empty() && !stderr.contains(wrong));
    // Help shows that the variable exists, never its value.
    let (_, stdout, _) = outcome(&cli(
        &["verify", "--help"],
        &[("WECHATPAY_APIV3_KEY", apiv3)],
    ));
    assert!(
        stdout.contains("WECHATPAY_APIV3_KEY") && !stdout.contains(apiv3),
        "{stdout}"
    );
}

#[test]
fn configuration_errors_exit_4_and_never_print_key_material() {
    // Its own sandbox, so the request counter is not raced by other tests.
    let sb = &Sandbox::start(&keys(), &[]);
    let dir = tempfile::tempdir().unwrap();
    let secret_pem = dir.path().join("bad.pem");
    std::fs::write(
        &secret_pem,
        "-----BEGIN PRIVATE KEY-----\nTOPSECRET!!material\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let body = merchant_body(&unique("CONF"));
    let replace = |flag: &str, value: Option<&str>| {
        let mut args = call_args(sb, "send-product-coupon", &body, &[]);
        let pos = args.iter().position(|a| a == flag).unwrap();
        match value {
            Some(v) => args[pos + 1] = v.to_owned(),
            None => {
                args.drain(pos..pos + 2);
            }
        }
        args
    };
    let missing = dir.path().join("nope.pem");
    let cases = [
        (
            replace("--private-key", Some(missing.to_str().unwrap())),
            "nope.pem",
        ),
        (
            replace("--private-key", Some(secret_pem.to_str().unwrap())),
            "not valid PEM",
        ),
        (
            replace("--public-key", Some(secret_pem.to_str().unwrap())),
            "public key",
        ),
        (replace("--mchid", None), "a merchant operation needs mchid"),
        (replace("--serial-no", None), "serial-no"),
        (replace("--public-key-id", None), "public-key-id"),
    ];
    let before = sb.request_count();
    for (args, needle) in cases {
        let (code, stdout, stderr) = outcome(&cli(&args, &[]));
        assert_eq!(code, 4, "{needle}: {stderr}");
        assert!(
            stderr.contains("configuration error") && stderr.contains(needle),
            "{needle}: {stderr}"
        );
        assert!(
            !stderr.contains("TOPSECRET") && stdout.is_empty(),
            "{stderr}"
        );
    }
    // A brand operation without brand_id.
    let mut args = call_args(
        sb,
        "send-user-product-coupon",
        r#"{"openid":"o","product_coupon_id":"P","stock_id":"S","appid":"wx","send_request_no":"NO_BRAND_1"}"#,
        &[],
    );
    let pos = args.iter().position(|a| a == "--brand-id").unwrap();
    args.drain(pos..pos + 2);
    let (code, _, stderr) = outcome(&cli(&args, &[]));
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("brand_id"), "{stderr}");
    // A profile with an unknown key is named, its values are not.
    let profile = dir.path().join("p.toml");
    std::fs::write(
        &profile,
        "apiv3_key = \"TOPSECRETAPIV3KEY000000000000000\"\nmchidd = \"x\"\n",
    )
    .unwrap();
    let mut args = call_args(sb, "send-product-coupon", &body, &["--profile"]);
    args.push(profile.display().to_string());
    let (code, _, stderr) = outcome(&cli(&args, &[]));
    assert_eq!(code, 4, "{stderr}");
    assert!(
        stderr.contains("mchidd") && !stderr.contains("TOPSECRET"),
        "{stderr}"
    );
    assert_eq!(
        sb.request_count(),
        before,
        "nothing may be sent on a configuration error"
    );
    // Refusing to listen beyond loopback is a configuration error too.
    let (code, _, stderr) = outcome(&cli(
        &[
            "sandbox",
            "--listen",
            "0.0.0.0:0",
            "--keys",
            keys().to_str().unwrap(),
        ],
        &[],
    ));
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("loopback"), "{stderr}");
    // So is a --fault code no operation documents, or a fault list that cannot all apply.
    for (fault, needle) in [
        ("error=NOPE", "NOPE"),
        (
            "error=SYSTEM_ERROR;drop-after-receive",
            "cannot be combined",
        ),
    ] {
        let (code, _, stderr) = outcome(&cli(
            &[
                "sandbox",
                "--keys",
                keys().to_str().unwrap(),
                "--fault",
                fault,
            ],
            &[],
        ));
        assert_eq!(code, 4, "{fault}: {stderr}");
        assert!(stderr.contains(needle), "{fault}: {stderr}");
    }
    let (code, _, stderr) = outcome(&cli(
        &[
            "sandbox",
            "--keys",
            keys().to_str().unwrap(),
            "--rate-limit",
            "fast",
        ],
        &[],
    ));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--rate-limit"), "{stderr}");
}

#[test]
fn unreachable_server_is_a_network_error() {
    // Bind then drop a listener: the port is (very likely) closed now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sb = sandbox();
    let mut args = call_args(
        sb,
        "send-product-coupon",
        &merchant_body(&unique("NET")),
        &["--retries", "0"],
    );
    let pos = args.iter().position(|a| a == "--base-url").unwrap() + 1;
    args[pos] = format!("http://127.0.0.1:{port}");
    let (code, stdout, stderr) = outcome(&cli(&args, &[]));
    assert_eq!(code, 7, "{stderr}");
    assert!(
        stderr.contains("network error") && stdout.is_empty(),
        "{stderr}"
    );
}

#[test]
fn upload_image_builds_the_multipart_request_from_the_file() {
    let sb = sandbox();
    let dir = tempfile::tempdir().unwrap();
    let logo = dir.path().join("logo.png");
    std::fs::write(&logo, b"\x89PNG\r\n\x1a\nnot really an image").unwrap();
    let mut args = vec![
        "call".to_owned(),
        "upload-image".to_owned(),
        "--file".to_owned(),
        logo.display().to_string(),
    ];
    args.extend(sb.cli_flags());
    let (code, stdout, stderr) = outcome(&cli(&args, &[]));
    assert_eq!(code, 0, "{stderr}");
    let reply: Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        reply["image_url"].as_str().unwrap().starts_with("https://"),
        "{reply}"
    );

    // Without the file, or with a file for a JSON operation: a validation error, nothing sent.
    let before = sb.request_count();
    let mut no_file = vec![
        "call".to_owned(),
        "upload-image".to_owned(),
        "--body".to_owned(),
        "{}".to_owned(),
    ];
    no_file.extend(sb.cli_flags());
    let (code, _, stderr) = outcome(&cli(&no_file, &[]));
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("--file"), "{stderr}");
    let mut wrong = call_args(sb, "send-product-coupon", &merchant_body(&unique("F")), &[]);
    wrong.extend(["--file".to_owned(), logo.display().to_string()]);
    let (code, _, stderr) = outcome(&cli(&wrong, &[]));
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(sb.request_count(), before);
}

#[test]
fn all_follows_every_page_and_prints_one_item_per_line() {
    // Its own sandbox: the request counts below must be this test's alone.
    let sb = &Sandbox::start(&keys_dir("pages"), &[]);
    let list = |page_size: u32| {
        json!({"product_coupon_id": "200000001", "page_size": page_size}).to_string()
    };
    let stock_ids = |items: Vec<Value>| {
        let mut ids: Vec<String> = items
            .iter()
            .map(|item| item["stock_id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };

    // Everything in one page, for reference.
    let (code, stdout, stderr) = outcome(&cli(&call_args(sb, "list-stocks", &list(50), &[]), &[]));
    assert_eq!(code, 0, "{stderr}");
    let whole: Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        whole["next_page_token"].as_str().unwrap_or("").is_empty(),
        "{whole}"
    );
    let expected = stock_ids(whole["stock_list"].as_array().unwrap().clone());
    assert!(
        expected.len() > 4,
        "the seed has several stocks: {expected:?}"
    );

    // Without --all: the first page as it is, its token left to the caller.
    let (code, stdout, stderr) = outcome(&cli(&call_args(sb, "list-stocks", &list(2), &[]), &[]));
    assert_eq!(code, 0, "{stderr}");
    let page: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(page["stock_list"].as_array().unwrap().len(), 2);
    assert!(
        !page["next_page_token"].as_str().unwrap_or("").is_empty(),
        "{page}"
    );

    // With --all: every item of every page, one JSON object per line.
    let before = sb.request_count();
    let (code, stdout, stderr) = outcome(&cli(
        &call_args(sb, "list-stocks", &list(2), &["--all"]),
        &[],
    ));
    assert_eq!(code, 0, "{stderr}");
    let items: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(stock_ids(items), expected);
    let pages = expected.len().div_ceil(2);
    assert!(
        stderr.contains(&format!("{} items from {pages} pages", expected.len())),
        "{stderr}"
    );
    assert_eq!(
        sb.request_count() - before,
        pages as u64,
        "one request per page"
    );

    // Not a list operation, or with --raw: a usage error, nothing sent.
    let before = sb.request_count();
    let (code, _, stderr) = outcome(&cli(
        &call_args(
            sb,
            "send-product-coupon",
            &merchant_body(&unique("ALL")),
            &["--all"],
        ),
        &[],
    ));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("list-user-product-coupons"), "{stderr}");
    let (code, _, stderr) = outcome(&cli(
        &call_args(sb, "list-stocks", &list(2), &["--all", "--raw"]),
        &[],
    ));
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(sb.request_count(), before);
}
