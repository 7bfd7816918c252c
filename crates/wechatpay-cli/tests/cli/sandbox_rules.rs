//! The sandbox checks requests the way WeChat Pay does: raw HTTP/1.1 requests
//! signed in the test, answered with 401 SIGN_ERROR / 400 PARAM_ERROR and
//! signed `{code, message, detail}` bodies.

use crate::common;

use std::sync::OnceLock;

use common::{keys_dir, now, unique, RawReply, Sandbox};
use serde_json::{json, Value};
use wechatpay_transport::headers::SignatureHeaders;
use wechatpay_transport::keystore::PublicKeyStore;
use wechatpay_transport::verify::verify_signed;
use wechatpay_transport::AuthScheme::{Brand, Merchant};

const MERCHANT_URL: &str = "/v3/marketing/busifavor/product-coupons/send";
const BRAND_URL: &str = "/brand/marketing/product-coupon/users/o-user1/coupons";
const BUNDLE_URL: &str = "/brand/marketing/product-coupon/users/o-user1/pre-send-coupon-bundle";

fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| Sandbox::start(&keys_dir("rules"), &[]))
}

fn merchant_body() -> Value {
    json!({"openid":"o-user1","appid":"wx1","stock_id":"12312354","out_request_no":unique("M"),"coupon_type":"NORMAL"})
}

fn brand_body() -> Value {
    json!({"product_coupon_id":"1000000013","stock_id":"1000000013001","appid":"wx2","send_request_no":unique("B")})
}

fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

/// Checks a reply's signature with the sandbox's public key, as a client would.
fn assert_signed(sb: &Sandbox, reply: &RawReply) {
    let mut keys = PublicKeyStore::new();
    keys.add_public_key_pem(
        sb.identity.public_key_id.clone(),
        std::fs::read(sb.key_file("wxp_pub.pem")).unwrap(),
    )
    .unwrap();
    let headers =
        SignatureHeaders::from_lookup(|name| reply.header(name)).expect("five Wechatpay-* headers");
    assert_eq!(headers.serial, sb.identity.public_key_id);
    assert_eq!(headers.signature_type, "WECHATPAY2-SHA256-RSA2048");
    verify_signed(&headers, &reply.body, now(), &keys).expect("reply signature verifies");
    assert!(reply.header("Request-ID").is_some_and(|v| !v.is_empty()));
}

fn assert_error(reply: &RawReply, status: u16, code: &str) -> Value {
    let body = reply.json();
    assert_eq!(
        (reply.status, body["code"].as_str()),
        (status, Some(code)),
        "{body}"
    );
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(body["detail"].is_object(), "{body}");
    body
}

#[test]
fn accepts_signed_requests_for_every_operation_and_signs_replies() {
    let sb = sandbox();
    let body = merchant_body();
    let reply = sb.signed(Merchant, MERCHANT_URL, &bytes(&body), now(), &[]);
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_signed(sb, &reply);
    assert_eq!(
        reply.json()["send_coupon_result"]["out_request_no"],
        body["out_request_no"]
    );

    let body = brand_body();
    let reply = sb.signed(
        Brand,
        BRAND_URL,
        &bytes(&body),
        now(),
        &[sb.serial_header()],
    );
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_signed(sb, &reply);
    assert_eq!(reply.json()["send_request_no"], body["send_request_no"]);

    let body = json!({"product_coupon_id":"200000001","stock_bundle_id":"100232301","appid":"wx3","send_request_no":unique("P")});
    let reply = sb.signed(
        Brand,
        BUNDLE_URL,
        &bytes(&body),
        now(),
        &[sb.serial_header()],
    );
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_signed(sb, &reply);
    assert!(reply.json()["token"].is_string());
}

#[test]
fn bad_signature_is_sign_error_with_the_expected_message() {
    let sb = sandbox();
    let signed_body = bytes(&merchant_body());
    let sent_body = bytes(&merchant_body());
    let ts = now();
    let auth = sb.authorization(Merchant, "POST", MERCHANT_URL, &signed_body, ts);
    let reply = common::http(
        sb.addr,
        "POST",
        MERCHANT_URL,
        &[("Authorization", &auth)],
        &sent_body,
    )
    .unwrap();
    let body = assert_error(&reply, 401, "SIGN_ERROR");
    assert_signed(sb, &reply);
    let nonce = auth
        .split("nonce_str=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap();
    let expected = format!(
        "POST\n{MERCHANT_URL}\n{ts}\n{nonce}\n{}\n",
        String::from_utf8(sent_body).unwrap()
    );
    assert_eq!(body["detail"]["expected_message"], expected.as_str());

    // A signature that is not even Base64, and a WeChat Pay probe signature.
    for bad in ["!!!", "WECHATPAY/SIGNTEST/abc"] {
        let forged = auth.replace(
            auth.split("signature=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap(),
            bad,
        );
        let reply = common::http(
            sb.addr,
            "POST",
            MERCHANT_URL,
            &[("Authorization", &forged)],
            &bytes(&merchant_body()),
        )
        .unwrap();
        assert_error(&reply, 401, "SIGN_ERROR");
    }
}

#[test]
fn stale_and_future_timestamps_are_sign_errors() {
    let sb = sandbox();
    for ts in [now() - 600, now() + 600] {
        let reply = sb.signed(Merchant, MERCHANT_URL, &bytes(&merchant_body()), ts, &[]);
        let body = assert_error(&reply, 401, "SIGN_ERROR");
        assert!(
            body["message"].as_str().unwrap().contains("timestamp"),
            "{body}"
        );
    }
}

#[test]
fn wrong_auth_scheme_or_identity_is_a_sign_error() {
    let sb = sandbox();
    // A brand API signed with the merchant scheme, and the reverse.
    let reply = sb.signed(
        Merchant,
        BRAND_URL,
        &bytes(&brand_body()),
        now(),
        &[sb.serial_header()],
    );
    let body = assert_error(&reply, 401, "SIGN_ERROR");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("WECHATPAY-BRAND-SHA256-RSA2048"),
        "{body}"
    );
    let reply = sb.signed(Brand, MERCHANT_URL, &bytes(&merchant_body()), now(), &[]);
    assert_error(&reply, 401, "SIGN_ERROR");
    // No Authorization at all, and an unknown mchid.
    let reply = common::http(sb.addr, "POST", MERCHANT_URL, &[], &bytes(&merchant_body())).unwrap();
    assert_error(&reply, 401, "SIGN_ERROR");
    let body = bytes(&merchant_body());
    let auth = sb
        .authorization(Merchant, "POST", MERCHANT_URL, &body, now())
        .replace(
            &format!("mchid=\"{}\"", sb.identity.mchid),
            "mchid=\"1234567890\"",
        );
    let reply = common::http(
        sb.addr,
        "POST",
        MERCHANT_URL,
        &[("Authorization", &auth)],
        &body,
    )
    .unwrap();
    let body = assert_error(&reply, 401, "SIGN_ERROR");
    assert!(
        body["message"].as_str().unwrap().contains("mchid"),
        "{body}"
    );
}

#[test]
fn brand_operations_need_the_public_key_id_as_wechatpay_serial() {
    let sb = sandbox();
    let reply = sb.signed(Brand, BRAND_URL, &bytes(&brand_body()), now(), &[]);
    let body = assert_error(&reply, 400, "PARAM_ERROR");
    assert_eq!(body["detail"]["field"], "Wechatpay-Serial");
    assert_signed(sb, &reply);
    let reply = sb.signed(
        Brand,
        BRAND_URL,
        &bytes(&brand_body()),
        now(),
        &[("Wechatpay-Serial", "PUB_KEY_ID_0000")],
    );
    let body = assert_error(&reply, 400, "PARAM_ERROR");
    assert_eq!(body["detail"]["field"], "Wechatpay-Serial");
}

#[test]
fn every_validation_rule_class_is_a_param_error_naming_the_field() {
    let sb = sandbox();
    type Edit = fn(&mut Value);
    let cases: [(&str, &str, Edit, &str, &str); 9] = [
        (
            "required",
            BRAND_URL,
            |b| {
                b.as_object_mut().unwrap().remove("stock_id");
            },
            "stock_id",
            "is required",
        ),
        (
            "empty required",
            BRAND_URL,
            |b| b["appid"] = json!(""),
            "appid",
            "must not be empty",
        ),
        (
            "too long",
            BRAND_URL,
            |b| b["attach"] = json!("商".repeat(151)),
            "attach",
            "at most 150 characters",
        ),
        (
            "too short",
            BRAND_URL,
            |b| b["send_request_no"] = json!("abc"),
            "send_request_no",
            "at least 6",
        ),
        (
            "charset",
            BRAND_URL,
            |b| b["coupon_code"] = json!("code with space"),
            "coupon_code",
            "not allowed",
        ),
        (
            "enum",
            MERCHANT_URL,
            |b| b["coupon_type"] = json!("VIP"),
            "coupon_type",
            "not one of NORMAL, MEMBER",
        ),
        (
            "nested enum",
            BRAND_URL,
            |b| b["coupon_tag_info"] = json!({"coupon_tag_list": ["GOLD"]}),
            "coupon_tag_info.coupon_tag_list[0]",
            "not one of MEMBER",
        ),
        (
            "unknown field",
            BRAND_URL,
            |b| b["surprise"] = json!(1),
            "surprise",
            "unknown field",
        ),
        (
            "wrong type",
            MERCHANT_URL,
            |b| b["stock_id"] = json!(12345),
            "stock_id",
            "expected a string",
        ),
    ];
    for (class, url, edit, field, fragment) in cases {
        let mut body = if url == MERCHANT_URL {
            merchant_body()
        } else {
            brand_body()
        };
        edit(&mut body);
        let scheme = if url == MERCHANT_URL { Merchant } else { Brand };
        let reply = sb.signed(scheme, url, &bytes(&body), now(), &[sb.serial_header()]);
        let reply_body = assert_error(&reply, 400, "PARAM_ERROR");
        assert_eq!(
            reply_body["detail"]["field"], field,
            "{class}: {reply_body}"
        );
        assert!(
            reply_body["message"].as_str().unwrap().contains(fragment),
            "{class}: {reply_body}"
        );
        assert_signed(sb, &reply);
    }
    // A conditional rule from the typed request's validate(): MEMBER needs member_card_id.
    let mut body = merchant_body();
    body["coupon_type"] = json!("MEMBER");
    let reply = sb.signed(Merchant, MERCHANT_URL, &bytes(&body), now(), &[]);
    assert_eq!(
        assert_error(&reply, 400, "PARAM_ERROR")["detail"]["field"],
        "member_card_id"
    );
    // Not JSON, and duplicate keys.
    for raw in [&b"{not json"[..], br#"{"stock_id":"a","stock_id":"b"}"#] {
        let reply = sb.signed(Merchant, MERCHANT_URL, raw, now(), &[]);
        assert_error(&reply, 400, "PARAM_ERROR");
    }
}

#[test]
fn unknown_paths_and_methods_get_json_errors() {
    let sb = sandbox();
    let reply = common::http(sb.addr, "POST", "/v3/nothing/here", &[], b"{}").unwrap();
    assert_error(&reply, 404, "NOT_FOUND");
    let reply = common::http(sb.addr, "GET", MERCHANT_URL, &[], b"").unwrap();
    assert_eq!(reply.status, 405);
}

#[test]
fn rate_limit_flag_limits_the_user_coupon_operations_per_brand() {
    let limited = Sandbox::start(&keys_dir("rules"), &["--rate-limit", "2"]);
    let free = Sandbox::start(&keys_dir("rules"), &["--rate-limit", "off"]);
    let statuses = |sb: &Sandbox| -> Vec<u16> {
        (0..6)
            .map(|_| {
                let reply = sb.signed(
                    Brand,
                    BRAND_URL,
                    &bytes(&brand_body()),
                    now(),
                    &[sb.serial_header()],
                );
                if reply.status == 429 {
                    assert_error(&reply, 429, "FREQUENCY_LIMITED");
                    assert!(reply.header("Request-ID").unwrap().ends_with("-270924289"));
                }
                reply.status
            })
            .collect()
    };
    let limited = statuses(&limited);
    assert!(limited.contains(&429), "{limited:?}");
    let free = statuses(&free);
    assert!(!free.contains(&429), "{free:?}");
}

#[test]
fn a_state_file_survives_a_restart_of_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.db");
    let args = ["--state", file.to_str().unwrap()];
    let body = bytes(&brand_body());
    let first = {
        let sb = Sandbox::start(&keys_dir("rules"), &args);
        let reply = sb.signed(Brand, BRAND_URL, &body, now(), &[sb.serial_header()]);
        assert_eq!(reply.status, 200, "{}", reply.json());
        reply.body
    };
    let sb = Sandbox::start(&keys_dir("rules"), &args);
    let again = sb.signed(Brand, BRAND_URL, &body, now(), &[sb.serial_header()]);
    assert_eq!(again.body, first, "the first result, after the restart");
    assert_eq!(
        sb.stats()["operations"]["send-user-product-coupon"]["replayed"],
        1
    );
}

/// A notify URL on 127.0.0.1 that answers every notification 200 (a handful at
/// most; each read with a deadline).
fn notify_url_answering_200() -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/notify", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(20) {
            let Ok(mut stream) = stream else { return };
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(10)));
            let mut reader = BufReader::new(&mut stream);
            let mut len = 0usize;
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; len];
            if reader.read_exact(&mut body).is_ok() {
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        }
    });
    url
}

/// Sends a coupon of the seeded stock to `openid`; its code.
fn send_coupon(sb: &Sandbox, openid: &str) -> String {
    let url = format!("/brand/marketing/product-coupon/users/{openid}/coupons");
    let reply = sb.signed(
        Brand,
        &url,
        &bytes(&brand_body()),
        now(),
        &[sb.serial_header()],
    );
    assert_eq!(reply.status, 200, "{}", reply.json());
    reply.json()["coupon_code"].as_str().unwrap().to_owned()
}

fn confirm_coupon(sb: &Sandbox, openid: &str, code: &str, number: &str) -> RawReply {
    let url = format!("/brand/marketing/product-coupon/users/{openid}/coupons/{code}/confirm");
    let body = json!({"product_coupon_id":"1000000013","stock_id":"1000000013001","appid":"wx2","out_request_no":number});
    sb.signed(Brand, &url, &bytes(&body), now(), &[sb.serial_header()])
}

#[test]
fn confirm_after_notify_refuses_a_confirm_until_the_send_was_delivered() {
    // Without the flag a CONFIRMING coupon is confirmed at once, notified or not.
    let plain = sandbox();
    let openid = unique("o-plain");
    let code = send_coupon(plain, &openid);
    let reply = confirm_coupon(plain, &openid, &code, &unique("CONFIRM"));
    assert_eq!(reply.status, 200, "{}", reply.json());

    let sb = Sandbox::start(&keys_dir("rules"), &["--confirm-after-notify"]);
    // Issued while no notify URL is set: its PRODUCT_COUPON.SEND never comes.
    let openid = unique("o-quiet");
    let code = send_coupon(&sb, &openid);
    let refused = confirm_coupon(&sb, &openid, &code, &unique("CONFIRM"));
    let body = assert_error(&refused, 400, "INVALID_REQUEST");
    assert!(
        refused
            .header("Request-ID")
            .unwrap()
            .ends_with("-268578367"),
        "{:?}",
        refused.header("Request-ID")
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("PRODUCT_COUPON.SEND has not been delivered yet"),
        "{body}"
    );
    assert_eq!(body["detail"]["notification"], "not_queued", "{body}");

    // With a notify URL answering 200: the confirm refused before the delivery
    // is accepted after it under the same number, then replayed.
    let config = json!({ "notify_url": notify_url_answering_200() });
    let reply = sb.signed(
        Brand,
        "/brand/marketing/product-coupon/notify-configs",
        &bytes(&config),
        now(),
        &[sb.serial_header()],
    );
    assert_eq!(reply.status, 200, "{}", reply.json());
    let openid = unique("o-told");
    let code = send_coupon(&sb, &openid);
    let number = unique("CONFIRM");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let accepted = loop {
        let reply = confirm_coupon(&sb, &openid, &code, &number);
        if reply.status == 200 {
            break reply;
        }
        let body = assert_error(&reply, 400, "INVALID_REQUEST");
        assert_eq!(body["detail"]["notification"], "pending", "{body}");
        assert!(std::time::Instant::now() < deadline, "never delivered");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(accepted.json()["confirm_request_no"], number.as_str());
    let replay = confirm_coupon(&sb, &openid, &code, &number);
    assert_eq!((replay.status, &replay.body), (200, &accepted.body));
    let stats = &sb.stats()["operations"]["confirm-send-user-product-coupon"];
    assert_eq!(
        (stats["issued"].as_u64(), stats["replayed"].as_u64()),
        (Some(1), Some(1)),
        "{stats}"
    );
}

/// The three SQLite file kinds have distinct marks, and the sandbox's copies
/// (which name the other kinds in its refusal) match the crates that own them.
#[test]
fn each_file_kind_has_its_own_application_id() {
    let sandbox = wechatpay_sandbox::store::APPLICATION_ID;
    let campaign = wechatpay_campaign::journal::APPLICATION_ID;
    let notify = wechatpay_notify::journal::APPLICATION_ID;
    assert!(sandbox != campaign && campaign != notify && notify != sandbox);
    let copies: Vec<i32> = wechatpay_sandbox::store::OTHER_KINDS
        .iter()
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(copies, [campaign, notify]);
}
