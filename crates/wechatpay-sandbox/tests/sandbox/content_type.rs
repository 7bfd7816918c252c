//! `Content-Type` as WeChat Pay APIv3 requires it, by the schema's body kind:
//! a JSON operation takes `application/json`, the upload `multipart/form-data`,
//! a GET without a body needs none. The hostile run had text/plain, a missing
//! header and two conflicting ones all processed.

use crate::common;

use common::{brand_authorization, raw};
use wechatpay_sandbox::{Options, Sandbox};

const SEND: &str = "/brand/marketing/product-coupon/users/o-ct/coupons";
const GET_COUPON: &str = "/brand/marketing/product-coupon/users/o-h/coupons/C1?appid=wx1&product_coupon_id=1000000013&stock_id=1000000013001";
const UPLOAD: &str = "/brand/marketing/product-coupon/media/upload-image";

/// A signed request with exactly the `content_types` given (one header line each).
fn request(
    sb: &Sandbox,
    method: &str,
    url: &str,
    body: &[u8],
    content_types: &[&str],
) -> (u16, serde_json::Value) {
    let auth = brand_authorization(
        sb,
        method,
        url,
        body,
        &wechatpay_transport::sign::generate_nonce(),
    );
    let serial = &sb.keys().identity.public_key_id;
    let types: String = content_types
        .iter()
        .map(|t| format!("Content-Type: {t}\r\n"))
        .collect();
    let head = format!(
        "{method} {url} HTTP/1.1\r\nHost: sandbox\r\nConnection: close\r\nAccept: application/json\r\n\
         {types}Content-Length: {}\r\nAuthorization: {auth}\r\nWechatpay-Serial: {serial}\r\n\r\n",
        body.len()
    );
    let reply = raw(sb, &head, body).expect("a reply");
    (reply.status, reply.json())
}

#[test]
fn a_request_is_refused_unless_its_content_type_is_the_one_its_body_needs() {
    let keys = common::keys();
    let sb = Sandbox::start(Options::new(keys.path())).unwrap();
    let send = |n: usize| {
        format!(
            r#"{{"product_coupon_id":"1000000013","stock_id":"1000000013001","appid":"wx233544546545989","send_request_no":"CT_SEND_{n}"}}"#
        )
    };
    for (n, types) in [
        vec!["text/plain"],
        vec![],
        vec!["application/json", "text/plain"],
        vec!["application/json", "application/json"],
        vec!["multipart/form-data; boundary=x"],
    ]
    .into_iter()
    .enumerate()
    {
        let (status, body) = request(&sb, "POST", SEND, send(n).as_bytes(), &types);
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("INVALID_REQUEST")),
            "{types:?}: {body}"
        );
        let message = body["message"].as_str().unwrap();
        assert!(message.starts_with("Content-Type: "), "{message}");
        assert!(message.contains("application/json"), "{message}");
    }
    // The same request with the header WeChat Pay requires (a charset is fine).
    let (status, body) = request(
        &sb,
        "POST",
        SEND,
        send(9).as_bytes(),
        &["application/json; charset=utf-8"],
    );
    assert_eq!(status, 200, "{body}");

    // The upload takes multipart only.
    let (status, body) = request(
        &sb,
        "POST",
        UPLOAD,
        br#"{"filename":"a.png","sha256":"00"}"#,
        &["application/json"],
    );
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("INVALID_REQUEST")),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("multipart/form-data"),
        "{body}"
    );

    // A GET without a body needs no Content-Type (the coupon does not exist: 404, not 400).
    let (status, body) = request(&sb, "GET", GET_COUPON, b"", &[]);
    assert_eq!(status, 404, "{body}");
}
