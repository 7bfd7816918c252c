//! Platform certificates (issue 13, item 7) against a local server whose
//! certificates are made by OpenSSL in a temporary directory and encrypted
//! with RustCrypto's `aes-gcm`, so neither the X.509 nor the AEAD side is
//! checked only against this crate.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::*;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::json;
use wechatpay_transport::ErrorKind;
use wechatpay_transport::{
    ApiV3Key, CertificateDownload, CertificateError, Client, ConfigError, Error, Identity, KeyKind,
    ManualClock, VerifyError,
};

const API_V3_KEY: &str = "0123456789abcdefghijABCDEFGHIJ01";
const OK_BODY: &str = r#"{"coupon_code":"C-1"}"#;

fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl must be installed");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A platform key pair and its certificate, made by OpenSSL.
struct Platform {
    key: PathBuf,
    pem: String,
    /// The serial as `openssl x509 -serial` prints it.
    serial: String,
}

struct Fixtures {
    _dir: tempfile::TempDir,
    old: Platform,
    new: Platform,
}

fn platform(dir: &Path, name: &str, serial: &str) -> Platform {
    let key = format!("{name}_key.pem");
    let cert = format!("{name}_cert.pem");
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            &key,
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            &key,
            "-subj",
            "/CN=Tenpay.com Root CA test",
            "-days",
            "365",
            "-set_serial",
            serial,
            "-out",
            &cert,
        ],
    );
    let printed = openssl(dir, &["x509", "-in", &cert, "-noout", "-serial"]);
    Platform {
        key: dir.join(key),
        pem: std::fs::read_to_string(dir.join(cert)).unwrap(),
        serial: printed.trim().trim_start_matches("serial=").to_owned(),
    }
}

fn fixtures() -> Fixtures {
    let dir = tempfile::tempdir().unwrap();
    let old = platform(
        dir.path(),
        "old",
        "0x3C4A5B6C7D8E9F00112233445566778899AABBCC",
    );
    // A serial whose top bit is set: DER pads it with a zero byte.
    let new = platform(
        dir.path(),
        "new",
        "0x9A8B7C6D5E4F30211203F4E5D6C7B8A9F0E1D2C3",
    );
    Fixtures {
        _dir: dir,
        old,
        new,
    }
}

/// `encrypt_certificate` as WeChat Pay writes it, with the independent AEAD.
fn encrypt(pem: &str, key: &str, nonce: &str) -> serde_json::Value {
    let cipher = Aes256Gcm::new_from_slice(key.as_bytes()).unwrap();
    let sealed = cipher
        .encrypt(
            Nonce::from_slice(nonce.as_bytes()),
            Payload {
                msg: pem.as_bytes(),
                aad: b"certificate",
            },
        )
        .unwrap();
    json!({
        "algorithm": "AEAD_AES_256_GCM",
        "nonce": nonce,
        "associated_data": "certificate",
        "ciphertext": BASE64.encode(sealed),
    })
}

fn listing(certs: &[(&Platform, &str)], key: &str) -> String {
    let data: Vec<_> = certs
        .iter()
        .enumerate()
        .map(|(i, (p, listed_serial))| {
            json!({
                "serial_no": listed_serial,
                "effective_time": "2025-01-01T00:00:00+08:00",
                "expire_time": "2030-01-01T00:00:00+08:00",
                "encrypt_certificate": encrypt(&p.pem, key, &format!("nonce0000{i:03}")),
            })
        })
        .collect();
    json!({ "data": data }).to_string()
}

/// What the server does now.
#[derive(Clone)]
struct Script {
    /// The certificate list, signed with the WeChat Pay public key (trusted).
    listing: Option<String>,
    /// Sign the listing with this platform key instead (untrusted).
    listing_signed_by: Option<(PathBuf, String)>,
    /// Sign business replies with this platform key and serial (else the public key).
    replies_signed_by: Option<(PathBuf, String)>,
}

fn serve(script: Arc<Mutex<Script>>) -> impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static {
    move |req, _| {
        let s = script.lock().unwrap().clone();
        let sign = |body: &str, by: &Option<(PathBuf, String)>, status| match by {
            Some((key, serial)) => signed_reply(status, body, key.to_str().unwrap(), serial, now()),
            None => signed_reply(status, body, "wechatpay_key.pem", PUB_KEY_ID, now()),
        };
        if let Err(why) = check_request(req, wechatpay_transport::AuthScheme::Merchant, MCHID) {
            return Reply::new(401, json!({"code":"SIGN_ERROR","message": why}).to_string());
        }
        if req.target == "/v3/certificates" {
            assert_eq!(req.method, "GET");
            return match &s.listing {
                Some(body) => sign(body, &s.listing_signed_by, 200),
                None => sign(
                    r#"{"code":"RESOURCE_NOT_EXISTS","message":"无可用的平台证书，请在商户平台-API安全申请使用微信支付公钥"}"#,
                    &None,
                    404,
                ),
            };
        }
        sign(OK_BODY, &s.replies_signed_by, 200)
    }
}

fn client(url: &str) -> Client {
    merchant_builder(url)
        .platform_certificates_from_api(ApiV3Key::new(API_V3_KEY).unwrap())
        .build()
        .unwrap()
}

fn downloads(server: &TestServer) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.target == "/v3/certificates")
        .count()
}

async fn call(client: &Client) -> Result<DemoResponse, Error<DemoCode>> {
    client
        .execute::<_, DemoMerchantSend>(&DemoRequest::new("o1"))
        .await
}

#[tokio::test]
async fn certificates_are_downloaded_checked_and_kept_through_a_rotation() {
    let f = fixtures();
    // Our serials are what OpenSSL prints.
    assert_eq!(f.old.serial, "3C4A5B6C7D8E9F00112233445566778899AABBCC");
    let script = Arc::new(Mutex::new(Script {
        listing: Some(listing(&[(&f.old, &f.old.serial)], API_V3_KEY)),
        listing_signed_by: None,
        replies_signed_by: Some((f.old.key.clone(), f.old.serial.clone())),
    }));
    let server = TestServer::start(serve(script.clone())).await;

    // The download on its own: decrypted, parsed, serial and validity read.
    let plain = merchant_builder(&server.url()).build().unwrap();
    let CertificateDownload::Certificates(list) = plain
        .download_certificates(&ApiV3Key::new(API_V3_KEY).unwrap())
        .await
        .unwrap()
    else {
        panic!("certificates expected")
    };
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].serial_no, f.old.serial);
    assert_eq!(list[0].pem, f.old.pem);
    assert_eq!(list[0].not_after - list[0].not_before, 365 * 86_400);
    assert!((list[0].not_before - now()).abs() < 120);
    assert_eq!(list[0].effective_time, "2025-01-01T00:00:00+08:00");
    // Downloading alone does not change what a client trusts.
    assert_eq!(plain.trusted_keys().kind(&f.old.serial), None);

    // A managing client downloads before its first call and verifies a
    // reply signed with the platform certificate.
    let client = client(&server.url());
    let before = downloads(&server);
    assert_eq!(call(&client).await.unwrap().coupon_code, "C-1");
    assert_eq!(downloads(&server), before + 1);
    assert_eq!(
        client.trusted_keys().kind(&f.old.serial),
        Some(KeyKind::PlatformCertificate)
    );
    // Later calls within the refresh interval do not download again.
    call(&client).await.unwrap();
    assert_eq!(downloads(&server), before + 1);

    // Rotation: the list gains the new certificate, replies switch to it.
    {
        let mut s = script.lock().unwrap();
        s.listing = Some(listing(
            &[(&f.old, &f.old.serial), (&f.new, &f.new.serial)],
            API_V3_KEY,
        ));
        s.replies_signed_by = Some((f.new.key.clone(), f.new.serial.clone()));
    }
    // The unknown Wechatpay-Serial triggers one download, then the reply verifies.
    call(&client).await.unwrap();
    assert_eq!(downloads(&server), before + 2);
    let trusted = client.trusted_keys();
    assert_eq!(
        trusted.kind(&f.new.serial),
        Some(KeyKind::PlatformCertificate)
    );
    assert_eq!(
        trusted.kind(&f.old.serial),
        Some(KeyKind::PlatformCertificate),
        "both kept"
    );
    assert_eq!(trusted.kind(PUB_KEY_ID), Some(KeyKind::PublicKey));
    // Replies signed by either verify during the rotation, with no more downloads.
    script.lock().unwrap().replies_signed_by = Some((f.old.key.clone(), f.old.serial.clone()));
    call(&client).await.unwrap();
    assert_eq!(downloads(&server), before + 2);
    // A client that downloads only on demand (a CLI) makes no download for a
    // reply signed by a key it already has, and one for an unknown serial.
    let on_demand = |url: &str| {
        merchant_builder(url)
            .platform_certificates_from_api(ApiV3Key::new(API_V3_KEY).unwrap())
            .certificates_at_start(false)
            .build()
            .unwrap()
    };
    script.lock().unwrap().replies_signed_by = None;
    call(&on_demand(&server.url())).await.unwrap();
    assert_eq!(downloads(&server), before + 2);
    script.lock().unwrap().replies_signed_by = Some((f.new.key.clone(), f.new.serial.clone()));
    call(&on_demand(&server.url())).await.unwrap();
    assert_eq!(downloads(&server), before + 3);
}

#[tokio::test]
async fn a_download_is_believed_only_when_a_trusted_key_signed_it() {
    let f = fixtures();
    let script = Arc::new(Mutex::new(Script {
        listing: Some(listing(&[(&f.old, &f.old.serial)], API_V3_KEY)),
        // Signed by the very certificate it carries: not yet trusted.
        listing_signed_by: Some((f.old.key.clone(), f.old.serial.clone())),
        replies_signed_by: Some((f.old.key.clone(), f.old.serial.clone())),
    }));
    let server = TestServer::start(serve(script)).await;
    let err = merchant_builder(&server.url())
        .build()
        .unwrap()
        .download_certificates(&ApiV3Key::new(API_V3_KEY).unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Verification {
                error: VerifyError::UnknownSerial(_),
                ..
            }
        ),
        "{err:?}"
    );
    let client = client(&server.url());
    let err = call(&client).await.unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Verification {
                error: VerifyError::UnknownSerial(_),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(client.trusted_keys().kind(&f.old.serial), None);
}

#[tokio::test]
async fn resource_not_exists_means_public_key_mode_not_an_error() {
    let script = Arc::new(Mutex::new(Script {
        listing: None,
        listing_signed_by: None,
        replies_signed_by: None,
    }));
    let server = TestServer::start(serve(script)).await;
    let key = ApiV3Key::new(API_V3_KEY).unwrap();
    let download = merchant_builder(&server.url())
        .build()
        .unwrap()
        .download_certificates(&key)
        .await
        .unwrap();
    assert_eq!(download, CertificateDownload::PublicKeyOnly);
    // A managing client goes on with its public key.
    let client = client(&server.url());
    call(&client).await.unwrap();
    call(&client).await.unwrap();
    assert_eq!(downloads(&server), 2, "one by hand, one scheduled");
}

#[tokio::test]
async fn a_wrong_apiv3_key_or_a_mislabelled_certificate_is_refused() {
    let f = fixtures();
    let wrong = "ZYXWVUTSRQPONMLKJIHGFEDCBA987654";
    let script = Arc::new(Mutex::new(Script {
        listing: Some(listing(&[(&f.old, &f.old.serial)], wrong)),
        listing_signed_by: None,
        replies_signed_by: None,
    }));
    let server = TestServer::start(serve(script.clone())).await;
    let plain = merchant_builder(&server.url()).build().unwrap();
    let key = ApiV3Key::new(API_V3_KEY).unwrap();
    let err = plain.download_certificates(&key).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Certificates(CertificateError::Entry { serial_no, .. }) if *serial_no == f.old.serial),
        "{err:?}"
    );
    assert!(err.to_string().contains("wrong APIv3 key"), "{err}");
    assert!(!err.to_string().contains(API_V3_KEY) && !err.to_string().contains(wrong));

    script.lock().unwrap().listing = Some(listing(&[(&f.old, &f.new.serial)], API_V3_KEY));
    let err = plain.download_certificates(&key).await.unwrap_err();
    assert!(err.to_string().contains("not the one listed"), "{err}");
}

#[tokio::test]
async fn certificates_are_refreshed_on_schedule() {
    let f = fixtures();
    let script = Arc::new(Mutex::new(Script {
        listing: Some(listing(&[(&f.old, &f.old.serial)], API_V3_KEY)),
        listing_signed_by: None,
        replies_signed_by: None,
    }));
    let server = TestServer::start(serve(script)).await;
    // The schedule follows the client's clock, moved by hand here.
    let clock = Arc::new(ManualClock::new(now()));
    let client = merchant_builder(&server.url())
        .platform_certificates_from_api(ApiV3Key::new(API_V3_KEY).unwrap())
        .certificate_refresh(Duration::from_secs(3))
        .clock(clock.clone())
        .build()
        .unwrap();
    assert_eq!(
        client.config().certificate_refresh(),
        Some(Duration::from_secs(3))
    );
    call(&client).await.unwrap();
    clock.advance(2);
    call(&client).await.unwrap();
    assert_eq!(downloads(&server), 1);
    clock.advance(1);
    call(&client).await.unwrap();
    assert_eq!(downloads(&server), 2);

    // The default is well under 12 hours, and longer intervals are refused.
    let default = client_default_refresh();
    assert!(default < Duration::from_secs(12 * 3600), "{default:?}");
    let err = merchant_builder(&server.url())
        .platform_certificates_from_api(ApiV3Key::new(API_V3_KEY).unwrap())
        .certificate_refresh(Duration::from_secs(13 * 3600))
        .build()
        .unwrap_err();
    assert!(matches!(err, ConfigError::InvalidValue { .. }), "{err:?}");
    // Brand APIs are public-key only.
    let err = Client::builder(Identity::brand(BRAND_ID))
        .serial_no(SERIAL_NO)
        .private_key_file(fixture("merchant_key.pem"))
        .wechatpay_public_key_file(PUB_KEY_ID, fixture("wechatpay_pub.pem"))
        .platform_certificates_from_api(ApiV3Key::new(API_V3_KEY).unwrap())
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("public key only"), "{err}");
}

fn client_default_refresh() -> Duration {
    merchant_builder("http://127.0.0.1:9")
        .platform_certificates_from_api(ApiV3Key::new(API_V3_KEY).unwrap())
        .build()
        .unwrap()
        .config()
        .certificate_refresh()
        .unwrap()
}

#[tokio::test]
async fn concurrent_first_calls_share_one_download() {
    let f = fixtures();
    let script = Arc::new(Mutex::new(Script {
        listing: Some(listing(&[(&f.old, &f.old.serial)], API_V3_KEY)),
        listing_signed_by: None,
        replies_signed_by: Some((f.old.key.clone(), f.old.serial.clone())),
    }));
    let server = TestServer::start(serve(script)).await;
    let client = client(&server.url());
    let calls: Vec<_> = (0..4)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { call(&client).await.map(|r| r.coupon_code) })
        })
        .collect();
    for handle in calls {
        assert_eq!(handle.await.unwrap().unwrap(), "C-1");
    }
    assert_eq!(downloads(&server), 1);
}

/// A notification to a service provider, sealed by RustCrypto's AEAD with the partner
/// examples' associated data and signed by OpenSSL with `key` under `serial`.
fn partner_notification(key: &Path, serial: &str, plaintext: &str) -> (HeaderMap, String) {
    let cipher = Aes256Gcm::new_from_slice(API_V3_KEY.as_bytes()).unwrap();
    let nonce = "partnernonce";
    let sealed = cipher
        .encrypt(
            Nonce::from_slice(nonce.as_bytes()),
            Payload {
                msg: plaintext.as_bytes(),
                aad: b"product_coupon_sp",
            },
        )
        .unwrap();
    let body = json!({
        "id": "EV-SP-1",
        "create_time": "2025-01-01T13:29:35+08:00",
        "resource_type": "encrypt-resource",
        "event_type": "PRODUCT_COUPON_SP.SEND",
        "summary": "商品券领券通知",
        "resource": {
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": BASE64.encode(sealed),
            "nonce": nonce,
            "associated_data": "product_coupon_sp",
            "original_type": "coupon",
        },
    })
    .to_string();
    let signed = signed_reply(200, &body, key.to_str().unwrap(), serial, now());
    let mut headers = HeaderMap::new();
    for (name, value) in &signed.headers {
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    (headers, body)
}

/// P2: a service provider may be on platform certificates. It downloads them as the
/// merchant it is (its mchid, the merchant scheme: the server checks each request with
/// OpenSSL), verifies replies with them, and its notification handler trusts them.
#[tokio::test]
async fn a_service_provider_downloads_and_verifies_with_platform_certificates() {
    use wechatpay_models::ProductCouponEvent;
    let f = fixtures();
    let script = Arc::new(Mutex::new(Script {
        listing: Some(listing(&[(&f.old, &f.old.serial)], API_V3_KEY)),
        listing_signed_by: None,
        replies_signed_by: Some((f.old.key.clone(), f.old.serial.clone())),
    }));
    let server = TestServer::start(serve(script)).await;
    let key = ApiV3Key::new(API_V3_KEY).unwrap();

    let plain = partner_builder(&server.url()).build().unwrap();
    let CertificateDownload::Certificates(list) = plain.download_certificates(&key).await.unwrap()
    else {
        panic!("certificates expected")
    };
    assert_eq!(list[0].serial_no, f.old.serial);
    let download = &server.requests()[0];
    assert_eq!(download.target, "/v3/certificates");
    assert_eq!(download.auth().get("mchid"), MCHID);

    let client = partner_builder(&server.url())
        .platform_certificates_from_api(key.clone())
        .build()
        .unwrap();
    // Made before anything is downloaded: it verifies with the keys as they are at
    // each delivery (a long-running notify URL sees downloads and rotations).
    let early = client.notification_handler(key.clone());
    // A notify URL downloads before it listens, without calling anything else.
    let on_demand = partner_builder(&server.url())
        .platform_certificates_from_api(key.clone())
        .certificates_at_start(false)
        .build()
        .unwrap();
    assert_eq!(
        on_demand.update_certificates().await.unwrap(),
        vec![f.old.serial.clone()]
    );
    assert_eq!(
        on_demand.trusted_keys().kind(&f.old.serial),
        Some(KeyKind::PlatformCertificate)
    );
    let err = plain.update_certificates().await.unwrap_err();
    assert!(
        err.to_string().contains("platform_certificates_from_api"),
        "{err}"
    );
    let sent = client
        .execute::<_, DemoPartnerSend>(&DemoRequest::new("o1"))
        .await
        .unwrap();
    assert_eq!(sent.coupon_code, "C-1");
    assert_eq!(
        downloads(&server),
        3,
        "one by hand, one updated, one before the first call"
    );
    assert_eq!(
        client.trusted_keys().kind(&f.old.serial),
        Some(KeyKind::PlatformCertificate)
    );

    let payload = r#"{"brand_id":"120344","coupon_code":"C-1","product_coupon_id":"1000000013","stock_id":"1000000013001","appid":"wx233544546545989","openid":"o1","valid_begin_time":"2025-01-01T00:00:00+08:00","valid_end_time":"2025-12-31T23:59:59+08:00","receive_time":"2025-01-01T13:29:35+08:00","send_request_no":"N1","send_channel":"API"}"#;
    let (headers, body) = partner_notification(&f.old.key, &f.old.serial, payload);
    let event = early
        .receive::<serde_json::Value>(&headers, body.as_bytes())
        .unwrap()
        .fresh()
        .unwrap();
    assert_eq!(event.resource["brand_id"], "120344");
    let typed = client
        .notification_handler(key)
        .receive_event::<ProductCouponEvent>(
            &wechatpay_transport::SignatureHeaders::from_header_map(&headers).unwrap(),
            body.as_bytes(),
        )
        .unwrap()
        .fresh()
        .unwrap();
    assert!(
        matches!(&typed.resource, ProductCouponEvent::ProductCouponSpSend(n) if n.brand_id == "120344"),
        "{:?}",
        typed.resource
    );
    // A certificate the provider never downloaded is not trusted.
    let (headers, body) = partner_notification(&f.new.key, &f.new.serial, payload);
    assert!(client
        .notification_handler(ApiV3Key::new(API_V3_KEY).unwrap())
        .receive::<serde_json::Value>(&headers, body.as_bytes())
        .is_err());
}

/// One provider, two clients: its partner identity and its merchant identity (the same
/// mchid, so the same WeChat Pay keys). Built with `share`, they trust one set of keys:
/// a certificate either downloads is trusted by both, and neither downloads it again.
/// Another tenant on the same pool keeps keys of its own.
#[tokio::test]
async fn clients_of_one_merchant_share_downloaded_certificates() {
    let f = fixtures();
    let script = Arc::new(Mutex::new(Script {
        listing: Some(listing(&[(&f.old, &f.old.serial)], API_V3_KEY)),
        listing_signed_by: None,
        replies_signed_by: Some((f.old.key.clone(), f.old.serial.clone())),
    }));
    let server = TestServer::start(serve(script.clone())).await;
    let partner = partner_builder(&server.url())
        .platform_certificates_from_api(ApiV3Key::new(API_V3_KEY).unwrap())
        .build()
        .unwrap();
    let merchant = Client::builder(Identity::merchant(MCHID))
        .serial_no(SERIAL_NO)
        .private_key_file(fixture("merchant_key.pem"))
        .base_url(server.url())
        .share(&partner)
        .build()
        .unwrap();
    let brand = brand_builder(&server.url())
        .share(&partner)
        .build()
        .unwrap();

    partner
        .execute::<_, DemoPartnerSend>(&DemoRequest::new("o1"))
        .await
        .unwrap();
    assert_eq!(downloads(&server), 1);
    assert_eq!(
        merchant.trusted_keys().kind(&f.old.serial),
        Some(KeyKind::PlatformCertificate)
    );
    assert_eq!(call(&merchant).await.unwrap().coupon_code, "C-1");
    assert_eq!(
        downloads(&server),
        1,
        "the merchant client downloads nothing"
    );
    assert_eq!(brand.trusted_keys().kind(&f.old.serial), None);

    // Rotation seen first by the merchant client: its download serves the partner one.
    {
        let mut s = script.lock().unwrap();
        s.listing = Some(listing(
            &[(&f.old, &f.old.serial), (&f.new, &f.new.serial)],
            API_V3_KEY,
        ));
        s.replies_signed_by = Some((f.new.key.clone(), f.new.serial.clone()));
    }
    call(&merchant).await.unwrap();
    assert_eq!(downloads(&server), 2);
    assert_eq!(
        partner.trusted_keys().kind(&f.new.serial),
        Some(KeyKind::PlatformCertificate)
    );
    partner
        .execute::<_, DemoPartnerSend>(&DemoRequest::new("o1"))
        .await
        .unwrap();
    assert_eq!(downloads(&server), 2);
    assert_eq!(
        server.connections(),
        1,
        "both clients on one connection of the pool"
    );

    // The download setting comes with the shared keys; a second one is refused.
    let err = Client::builder(Identity::merchant(MCHID))
        .serial_no(SERIAL_NO)
        .private_key_file(fixture("merchant_key.pem"))
        .platform_certificates_from_api(ApiV3Key::new(API_V3_KEY).unwrap())
        .share(&partner)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("set it on that client"), "{err}");
}
