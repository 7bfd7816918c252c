//! The sandbox against a client that is not ours: requests signed by
//! `openssl dgst -sha256 -sign` and sent by curl (or a raw socket), and replies
//! checked by `openssl dgst -sha256 -verify` over `TIMESTAMP\nNONCE\nBODY\n`;
//! merchant, brand and service-provider (partner) operations alike.

use crate::common;

use std::process::{Command, Stdio};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use common::{keys_dir, now, openssl, unique, RawReply, Sandbox};

fn has_curl() -> bool {
    Command::new("which")
        .arg("curl")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Sends with curl when present (headers and body to files), else a raw socket.
fn send(sb: &Sandbox, url: &str, headers: &[(&str, &str)], body: &[u8]) -> RawReply {
    if !has_curl() {
        return common::http(sb.addr, "POST", url, headers, body).expect("a reply");
    }
    let dir = tempfile::tempdir().unwrap();
    let body_file = dir.path().join("body.json");
    std::fs::write(&body_file, body).unwrap();
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "30", "-D"])
        .arg(dir.path().join("headers.txt"))
        .arg("-o")
        .arg(dir.path().join("reply.json"))
        .arg("--data-binary")
        .arg(format!("@{}", body_file.display()))
        .args([
            "-H",
            "Content-Type: application/json",
            "-H",
            "Accept: application/json",
        ]);
    for (name, value) in headers {
        cmd.arg("-H").arg(format!("{name}: {value}"));
    }
    let status = cmd.arg(format!("{}{url}", sb.base_url)).status().unwrap();
    assert!(status.success(), "curl failed");
    let head = std::fs::read_to_string(dir.path().join("headers.txt")).unwrap();
    let mut lines = head.lines();
    let code: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    RawReply {
        status: code,
        headers: lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect(),
        body: std::fs::read(dir.path().join("reply.json")).unwrap(),
    }
}

/// Verifies a reply with openssl and the sandbox's wxp_pub.pem.
fn openssl_verifies(sb: &Sandbox, reply: &RawReply) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let mut message = Vec::new();
    for part in [
        reply.header("Wechatpay-Timestamp").unwrap().as_bytes(),
        reply.header("Wechatpay-Nonce").unwrap().as_bytes(),
        &reply.body,
    ] {
        message.extend_from_slice(part);
        message.push(b'\n');
    }
    let sig = BASE64
        .decode(reply.header("Wechatpay-Signature").unwrap())
        .unwrap();
    std::fs::write(dir.path().join("sig.bin"), sig).unwrap();
    std::fs::write(dir.path().join("msg.bin"), &message).unwrap();
    Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(sb.key_file("wxp_pub.pem"))
        .arg("-signature")
        .arg(dir.path().join("sig.bin"))
        .arg(dir.path().join("msg.bin"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

#[test]
fn openssl_signed_requests_are_accepted_and_replies_verify_with_openssl() {
    let sb = Sandbox::start(&keys_dir("interop"), &[]);
    let cases = [
        (
            "/v3/marketing/busifavor/product-coupons/send",
            "WECHATPAY2-SHA256-RSA2048",
            format!("mchid=\"{}\"", sb.identity.mchid),
            format!(
                r#"{{"openid":"o1","appid":"wx1","stock_id":"12312354","out_request_no":"{}","coupon_type":"NORMAL"}}"#,
                unique("OSSL")
            ),
        ),
        (
            "/brand/marketing/product-coupon/users/o-ossl/coupons",
            "WECHATPAY-BRAND-SHA256-RSA2048",
            format!("brand_id=\"{}\"", sb.identity.brand_id),
            format!(
                r#"{{"product_coupon_id":"1000000013","stock_id":"1000000013001","appid":"wx","send_request_no":"{}"}}"#,
                unique("OSSL")
            ),
        ),
        // The service provider signs as a plain merchant client does (what
        // PyPI wechatpayv3 sends): its own mchid, the same key and serial.
        (
            "/v3/marketing/partner/product-coupon/notify-configs",
            "WECHATPAY2-SHA256-RSA2048",
            format!("mchid=\"{}\"", sb.identity.sp_mchid),
            r#"{"notify_url":"https://example.com/provider-notify"}"#.to_owned(),
        ),
        (
            "/v3/marketing/partner/product-coupon/image-generation-tasks",
            "WECHATPAY2-SHA256-RSA2048",
            format!("mchid=\"{}\"", sb.identity.sp_mchid),
            format!(
                r##"{{"brand_id":"{}","task_id":"{}","image_generation_type":"COMBINE_IMAGE","combine_image":{{"scope":"ALL","type":"NORMAL","usage_mode":"SINGLE","normal_coupon":{{"threshold":10000,"discount_amount":100}},"background_color":"#ff5733"}}}}"##,
                sb.identity.authorized_brand_ids[1],
                unique("OSSL")
            ),
        ),
    ];
    for (url, scheme, identity, body) in cases {
        let ts = now().to_string();
        let nonce = "0penSSLn0nce0penSSLn0nce0penSSL1";
        let message = format!("POST\n{url}\n{ts}\n{nonce}\n{body}\n");
        let key = sb.key_file("apiclient_key.pem");
        let signature = BASE64.encode(openssl(
            &["dgst", "-sha256", "-sign", key.to_str().unwrap()],
            message.as_bytes(),
        ));
        let auth = format!(
            "{scheme} {identity},nonce_str=\"{nonce}\",signature=\"{signature}\",timestamp=\"{ts}\",serial_no=\"{}\"",
            sb.identity.serial_no
        );
        let reply = send(
            &sb,
            url,
            &[
                ("Authorization", &auth),
                ("Wechatpay-Serial", &sb.identity.public_key_id),
                (
                    "User-Agent",
                    "wechatpay v3 python sdk(https://github.com/minibear2021/wechatpayv3)",
                ),
            ],
            body.as_bytes(),
        );
        assert_eq!(
            reply.status,
            200,
            "{url}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        assert!(
            openssl_verifies(&sb, &reply),
            "openssl rejects the reply to {url}"
        );
        // The same check fails on a body that is not the one signed.
        let mut tampered = reply.clone();
        tampered.body.push(b' ');
        assert!(!openssl_verifies(&sb, &tampered));
    }
    // An error reply is signed too.
    let reply = send(
        &sb,
        "/v3/marketing/busifavor/product-coupons/send",
        &[],
        b"{}",
    );
    assert_eq!(reply.status, 401);
    assert!(openssl_verifies(&sb, &reply));
}
