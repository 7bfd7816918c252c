//! Sensitive-field encryption, decrypted by OpenSSL.

use crate::support::*;
use wechatpay_protocol::{OaepError, SensitiveEncryptor};

#[test]
fn openssl_decrypts_what_we_encrypt() {
    let encryptor = SensitiveEncryptor::from_pem(fixture_text("wechatpay_pub.pem")).unwrap();
    for plaintext in ["张三", "13800138000", "x"] {
        let a = encryptor.encrypt(plaintext.as_bytes()).unwrap();
        let b = encryptor.encrypt(plaintext.as_bytes()).unwrap();
        assert_ne!(a, b, "OAEP is randomized");
        assert_eq!(
            openssl_oaep_decrypt("wechatpay_key.pem", &a),
            plaintext.as_bytes()
        );
        assert_eq!(
            openssl_oaep_decrypt("wechatpay_key.pem", &b),
            plaintext.as_bytes()
        );
    }
}

#[test]
fn certificates_work_and_long_plaintexts_are_refused() {
    let encryptor = SensitiveEncryptor::from_pem(fixture_text("platform_cert.pem")).unwrap();
    let ct = encryptor.encrypt("李四".as_bytes()).unwrap();
    assert_eq!(
        openssl_oaep_decrypt("platform_key.pem", &ct),
        "李四".as_bytes()
    );
    assert_eq!(encryptor.max_plaintext_len(), 214);
    assert_eq!(
        encryptor.encrypt(&[b'a'; 215]),
        Err(OaepError::TooLong { len: 215, max: 214 })
    );
}
