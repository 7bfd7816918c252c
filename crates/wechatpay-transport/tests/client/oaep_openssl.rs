//! Sensitive-field encryption by the client, decrypted by OpenSSL (the
//! encryptor itself is tested in wechatpay-protocol, `tests/protocol/oaep_openssl.rs`).

use crate::support::*;

#[test]
fn the_client_encrypts_with_the_key_it_names_in_wechatpay_serial() {
    let client = merchant_builder("http://127.0.0.1:1")
        .platform_certificate_file(fixture("platform_cert.pem"))
        .build()
        .unwrap();
    assert_eq!(client.config().wechatpay_serial(), PUB_KEY_ID);
    let ct = client.encrypt_sensitive("王五").unwrap();
    assert_eq!(
        openssl_oaep_decrypt("wechatpay_key.pem", &ct),
        "王五".as_bytes()
    );

    let by_cert = merchant_builder("http://127.0.0.1:1")
        .platform_certificate_file(fixture("platform_cert.pem"))
        .wechatpay_serial(PLATFORM_SERIAL)
        .build()
        .unwrap();
    let ct = by_cert.encrypt_sensitive("王五").unwrap();
    assert_eq!(
        openssl_oaep_decrypt("platform_key.pem", &ct),
        "王五".as_bytes()
    );
}
