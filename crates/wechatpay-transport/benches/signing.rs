//! SHA256withRSA (RSA-2048, PKCS#1 v1.5) sign and verify, per backend.
//!
//! `cargo bench -p wechatpay-transport --features rsa-backend --bench signing`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use wechatpay_transport::crypto::Backend;
use wechatpay_transport::sign::request_message;
use wechatpay_transport::{PrivateKeyDer, PublicKeyDer};

const KEY: &str = include_str!("../tests/fixtures/merchant_key.pem");
const PUB: &str = include_str!("../tests/fixtures/merchant_pub.pem");

fn backends() -> Vec<Backend> {
    #[allow(unused_mut)]
    let mut all = vec![Backend::AwsLc];
    #[cfg(feature = "rsa-backend")]
    all.push(Backend::RsaCrate);
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

fn signing(c: &mut Criterion) {
    let key = PrivateKeyDer::from_pem(KEY).unwrap();
    let public = PublicKeyDer::from_pem(PUB).unwrap();
    let message = message();

    let mut sign = c.benchmark_group("sign_rsa2048_sha256");
    for backend in backends() {
        let signer = backend.signer(&key).unwrap();
        sign.bench_function(backend.name(), |b| {
            b.iter(|| signer.sign(black_box(&message)).unwrap())
        });
    }
    sign.finish();

    let signature = Backend::AwsLc.signer(&key).unwrap().sign(&message).unwrap();
    let mut verify = c.benchmark_group("verify_rsa2048_sha256");
    for backend in backends() {
        let verifier = backend.verifier(&public).unwrap();
        verify.bench_function(backend.name(), |b| {
            b.iter(|| assert!(verifier.verify(black_box(&message), black_box(&signature))))
        });
    }
    verify.finish();
}

criterion_group!(benches, signing);
criterion_main!(benches);
