//! SHA256withRSA (RSA-2048, PKCS#1 v1.5) sign and verify, per backend.
//!
//! `cargo bench -p wechatpay-transport --features rsa-backend --bench signing`
//! prints one `BENCH name value unit` line per figure for `cargo xtask bench`.

use std::hint::black_box;

#[path = "../../../benches/measure.rs"]
mod measure;

use measure::{measure, report};
use wechatpay_transport::crypto::Backend;
use wechatpay_transport::sign::request_message;
use wechatpay_transport::{PrivateKeyDer, PublicKeyDer};

/// A key of the (unpublished) test kit, read at run time.
fn fixture(name: &str) -> String {
    let path = format!(
        "{}/../wechatpay-test-kit/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Each backend with the figure name `cargo xtask bench` reads for it.
fn backends() -> Vec<(Backend, &'static str)> {
    #[allow(unused_mut)]
    let mut all = vec![(Backend::AwsLc, "aws_lc")];
    #[cfg(feature = "rsa-backend")]
    all.push((Backend::RsaCrate, "rsa_crate"));
    all
}

fn message() -> Vec<u8> {
    let body = r#"{"out_request_no":"REQ-20250101-0001","stock_id":"1212","openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o","appid":"wx233544546545989","coupon_type":"NORMAL","note":"商品券"}"#;
    request_message(
        "POST",
        "/v3/marketing/busifavor/product-coupons/send",
        "1554208460",
        "593BEC0C930BF1AFEB40B4A08C8FB242",
        body.as_bytes(),
    )
}

fn main() {
    let key = PrivateKeyDer::from_pem(fixture("merchant_key.pem")).unwrap();
    let public = PublicKeyDer::from_pem(fixture("merchant_pub.pem")).unwrap();
    let message = message();
    let signature = Backend::AwsLc.signer(&key).unwrap().sign(&message).unwrap();
    for (backend, figure) in backends() {
        let signer = backend.signer(&key).unwrap();
        let ns = measure(|| {
            black_box(signer.sign(black_box(&message)).unwrap());
        });
        report(&format!("sign_{figure}"), 1e9 / ns, "signs/s");
        let verifier = backend.verifier(&public).unwrap();
        let ns = measure(|| {
            assert!(verifier.verify(black_box(&message), black_box(&signature)));
        });
        report(&format!("verify_{figure}"), 1e9 / ns, "verifies/s");
    }
}
