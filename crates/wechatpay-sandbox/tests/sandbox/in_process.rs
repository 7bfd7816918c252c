//! The sandbox started in-process, as any crate's tests start it: on
//! 127.0.0.1:0, driven through the real transport client, stopped on drop.

use std::net::TcpStream;
use std::time::Duration;

use wechatpay_models::{CouponType, SendProductCouponRequest, SendUserProductCouponRequest};
use wechatpay_sandbox::{Options, Sandbox};
use wechatpay_transport::certificates::CertificateDownload;
use wechatpay_transport::notification::ApiV3Key;
use wechatpay_transport::{Error, ErrorKind, Identity};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn serves_signed_replies_and_stops_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start(Options::new(dir.path())).unwrap();
    let addr = sandbox.base_url().trim_start_matches("http://").to_owned();
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    let brand = sandbox
        .client_builder(Identity::brand(sandbox.keys().identity.brand_id.as_str()))
        .build()
        .unwrap();
    let merchant = sandbox
        .client_builder(Identity::merchant(sandbox.keys().identity.mchid.as_str()))
        .build()
        .unwrap();
    runtime().block_on(async {
        let request = SendUserProductCouponRequest::new(
            "o1",
            "1000000013",
            "1000000013001",
            "wx1",
            "REQ_000001",
        );
        let first = brand.execute(&request).await.unwrap();
        assert_eq!(first.send_request_no, "REQ_000001");
        // The same request number again: the recorded result, not a second coupon.
        let again = brand.execute(&request).await.unwrap();
        assert_eq!(again.coupon_code, first.coupon_code);

        let merchant_request =
            SendProductCouponRequest::new("o1", "wx1", "12312354", "OUT_1", CouponType::Normal);
        let reply = merchant.execute(&merchant_request).await.unwrap();
        assert_eq!(
            reply.send_coupon_result.unwrap().out_request_no.as_deref(),
            Some("OUT_1")
        );
        // A merchant client calling a brand operation is refused before anything is sent.
        assert!(matches!(
            merchant.execute(&request).await.map_err(Error::into_kind),
            Err(ErrorKind::Config(_))
        ));
    });
    drop(sandbox);
    assert!(
        TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(2)).is_err(),
        "the port is closed once the sandbox is dropped"
    );
}

#[tokio::test]
async fn starts_and_stops_inside_an_async_test() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start(Options::new(dir.path())).unwrap();
    let client = sandbox
        .client_builder(Identity::brand(sandbox.keys().identity.brand_id.as_str()))
        .build()
        .unwrap();
    let request = SendUserProductCouponRequest::new(
        "o1",
        "1000000013",
        "1000000013001",
        "wx1",
        "ASYNC_000001",
    );
    let reply = client.execute(&request).await.unwrap();
    assert_eq!(reply.send_request_no, "ASYNC_000001");
    // Dropping joins the sandbox's own thread (it needs nothing from this runtime).
    drop(sandbox);
}

/// A service provider may verify with platform certificates (P2): the download is answered for
/// its mchid as for the merchant's, and an unknown mchid is refused.
#[tokio::test]
async fn the_service_provider_downloads_platform_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start(Options::new(dir.path())).unwrap();
    let id = &sandbox.keys().identity;
    let key = ApiV3Key::new(&id.apiv3_key).unwrap();
    for identity in [
        Identity::partner(id.sp_mchid.as_str()),
        Identity::merchant(id.mchid.as_str()),
    ] {
        let client = sandbox.client_builder(identity.clone()).build().unwrap();
        let download = client.download_certificates(&key).await;
        match download.unwrap_or_else(|e| panic!("{identity:?}: {e}")) {
            CertificateDownload::Certificates(list) => assert_eq!(list.len(), 1, "{identity:?}"),
            CertificateDownload::PublicKeyOnly => panic!("{identity:?}: no certificates"),
        }
    }
    let stranger = sandbox
        .client_builder(Identity::partner("1600009999"))
        .build()
        .unwrap();
    let refused = stranger.download_certificates(&key).await.unwrap_err();
    assert_eq!(
        refused.api_error().map(|e| e.code.0.as_str()),
        Some("SIGN_ERROR")
    );
}
