//! The page stream of list operations and multipart uploads, against a
//! 127.0.0.1 server that checks what it receives (signatures with OpenSSL).

use crate::support::*;
use futures_util::StreamExt as _;
use wechatpay_endpoints as _;
use wechatpay_models::{ListAssociatedStoresRequest, UploadImageRequest};
use wechatpay_transport::ErrorKind;
use wechatpay_transport::{AuthScheme, Error, FilePart};

const STORES: &str =
    "/brand/marketing/product-coupon/product-coupons/P1/stocks/S1/associated-stores";

#[tokio::test]
async fn pages_walks_every_page_with_the_previous_token() {
    let server = TestServer::start(checking(AuthScheme::Brand, BRAND_ID, |index| {
        ok_reply(match index {
            0 => r#"{"total_count":3,"store_list":[{"store_id":"a"}],"next_page_token":"p 2"}"#,
            1 => r#"{"total_count":3,"store_list":[{"store_id":"b"},{"store_id":"c"}],"next_page_token":"p3"}"#,
            // The last page: an empty token ends the walk as an absent one does.
            _ => r#"{"total_count":3,"next_page_token":""}"#,
        })
    }))
    .await;
    let client = brand_builder(&server.url()).build().unwrap();
    let request = ListAssociatedStoresRequest::new("P1", "S1").page_size(2);
    let stores: Vec<String> = client
        .pages(request)
        .map(|item| item.unwrap().store_id)
        .collect()
        .await;
    assert_eq!(stores, ["a", "b", "c"]);
    let targets: Vec<String> = server.requests().into_iter().map(|r| r.target).collect();
    assert_eq!(
        targets,
        [
            format!("{STORES}?page_size=2"),
            format!("{STORES}?page_size=2&page_token=p%202"),
            format!("{STORES}?page_size=2&page_token=p3"),
        ]
    );
    // GET requests carry no body and no Content-Type (checked by `checking`).
    assert!(server
        .requests()
        .iter()
        .all(|r| r.method == "GET" && r.body.is_empty()));
}

#[tokio::test]
async fn a_page_error_ends_the_stream_after_it_is_yielded() {
    let server = TestServer::start(checking(AuthScheme::Brand, BRAND_ID, |index| match index {
        0 => {
            ok_reply(r#"{"total_count":2,"store_list":[{"store_id":"a"}],"next_page_token":"p2"}"#)
        }
        _ => signed_reply(
            400,
            r#"{"code":"PARAM_ERROR","message":"page size out of range"}"#,
            "wechatpay_key.pem",
            PUB_KEY_ID,
            now(),
        ),
    }))
    .await;
    let client = brand_builder(&server.url()).build().unwrap();
    let items: Vec<_> = client
        .pages(ListAssociatedStoresRequest::new("P1", "S1"))
        .collect()
        .await;
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].as_ref().unwrap().store_id, "a");
    assert!(
        matches!(items[1].as_ref().map_err(Error::kind), Err(ErrorKind::Api(e)) if e.raw_code == "PARAM_ERROR")
    );
}

/// The bytes of the multipart part named `name`.
fn part<'a>(body: &'a [u8], name: &str) -> &'a [u8] {
    let text = body;
    let marker = format!("name=\"{name}\"");
    let at = text
        .windows(marker.len())
        .position(|w| w == marker.as_bytes())
        .unwrap_or_else(|| panic!("no part {name}"));
    let start = at
        + text[at..]
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap()
        + 4;
    let end = start
        + text[start..]
            .windows(4)
            .position(|w| w == b"\r\n--")
            .unwrap();
    &text[start..end]
}

#[tokio::test]
async fn upload_signs_the_meta_part_and_sends_the_file_beside_it() {
    let server =
        TestServer::start(|_, _| ok_reply(r#"{"image_url":"https://wxpaylogo.qpic.cn/x"}"#)).await;
    let client = brand_builder(&server.url()).build().unwrap();
    let file = FilePart::new("logo.png", b"\x89PNG\r\n\x1a\nfake image".to_vec());
    let request = UploadImageRequest::new("logo.png", file.sha256_hex());
    let reply = client.upload(&request, &file).await.unwrap();
    assert_eq!(reply.image_url, "https://wxpaylogo.qpic.cn/x");

    let received = &server.requests()[0];
    assert!(received
        .header("content-type")
        .unwrap()
        .starts_with("multipart/form-data; boundary="));
    let meta = part(&received.body, "meta");
    assert_eq!(meta, serde_json::to_vec(&request).unwrap().as_slice());
    assert_eq!(part(&received.body, "file"), file.bytes.as_slice());
    // The signature covers the meta JSON, not the multipart body (OpenSSL checks it).
    let auth = received.auth();
    let mut message = format!(
        "POST\n{}\n{}\n{}\n",
        received.target,
        auth.get("timestamp"),
        auth.get("nonce_str")
    )
    .into_bytes();
    message.extend_from_slice(meta);
    message.push(b'\n');
    assert!(openssl_verify(
        "merchant_pub.pem",
        &message,
        auth.get("signature")
    ));

    // A multipart operation without its file, or a JSON one with a file, sends nothing.
    assert!(matches!(
        client.execute(&request).await.map_err(Error::into_kind),
        Err(ErrorKind::Config(_))
    ));
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn a_repeated_page_token_ends_the_walk_with_an_error() {
    let server = TestServer::start(checking(AuthScheme::Brand, BRAND_ID, |_| {
        ok_reply(r#"{"total_count":9,"store_list":[{"store_id":"a"}],"next_page_token":"same"}"#)
    }))
    .await;
    let client = brand_builder(&server.url()).build().unwrap();
    let items: Vec<_> = client
        .pages(ListAssociatedStoresRequest::new("P1", "S1"))
        .collect()
        .await;
    // Page 1 (no token) and page 2 (token "same") are read; page 2 names "same" again.
    assert_eq!(items.len(), 3, "{items:?}");
    assert!(
        matches!(items[2].as_ref().map_err(Error::kind), Err(ErrorKind::RepeatedPageToken { token }) if token == "same")
    );
    assert_eq!(server.count(), 2);
}

#[tokio::test]
async fn a_stale_digest_or_a_missing_file_sends_nothing() {
    let server = TestServer::start(|_, _| ok_reply(r#"{"image_url":"https://x"}"#)).await;
    let client = brand_builder(&server.url()).build().unwrap();
    let file = FilePart::new("logo.png", b"png bytes".to_vec());
    let stale = UploadImageRequest::new("logo.png", "0".repeat(64));
    assert!(matches!(
        client.upload(&stale, &file).await.map_err(Error::into_kind),
        Err(ErrorKind::Config(_))
    ));
    let renamed = UploadImageRequest::new("other.png", file.sha256_hex());
    assert!(matches!(
        client
            .upload(&renamed, &file)
            .await
            .map_err(Error::into_kind),
        Err(ErrorKind::Config(_))
    ));
    assert_eq!(server.count(), 0);
}
