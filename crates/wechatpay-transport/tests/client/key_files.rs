//! Key files people actually have, made by OpenSSL in a temporary directory:
//! each refusal names the file and says what is wrong in words, never a
//! crypto backend's internal error name; a PKCS#1 `RSA PUBLIC KEY` works.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::*;
use wechatpay_transport::keys::{PrivateKeyDer, PublicKeyDer};
use wechatpay_transport::{Backend, Client, ErrorChain, Identity};

fn openssl(dir: &Path, args: &[&str]) {
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
}

/// Internal names of aws-lc-rs and the `rsa` crate that must never reach a user.
const INTERNAL: [&str; 7] = [
    "KeyRejected",
    "InvalidEncoding",
    "WrongAlgorithm",
    "TooSmall",
    "UnexpectedError",
    "Unspecified",
    "Asn1",
];

fn build_error(key: &Path, public: &Path) -> String {
    Client::builder(Identity::merchant(MCHID))
        .serial_no(SERIAL_NO)
        .private_key_file(key)
        .wechatpay_public_key_file(PUB_KEY_ID, public)
        .build()
        .map(drop)
        .map_err(|e| ErrorChain(&e).to_string())
        .unwrap_err()
}

fn assert_readable(text: &str, file: &Path, needle: &str) {
    assert!(
        text.contains(&file.display().to_string()),
        "{text:?} does not name {}",
        file.display()
    );
    assert!(text.contains(needle), "{needle:?} not in {text:?}");
    for name in INTERNAL {
        assert!(!text.contains(name), "{name} in {text:?}");
    }
}

struct Keys {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn made() -> Keys {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl(
        d,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "rsa.pem",
        ],
    );
    openssl(
        d,
        &["pkey", "-in", "rsa.pem", "-pubout", "-out", "rsa_pub.pem"],
    );
    openssl(
        d,
        &[
            "pkey",
            "-in",
            "rsa.pem",
            "-aes256",
            "-passout",
            "pass:secret",
            "-out",
            "encrypted.pem",
        ],
    );
    openssl(
        d,
        &[
            "rsa",
            "-in",
            "rsa.pem",
            "-aes256",
            "-passout",
            "pass:secret",
            "-traditional",
            "-out",
            "encrypted_pkcs1.pem",
        ],
    );
    openssl(
        d,
        &[
            "pkey", "-in", "rsa.pem", "-outform", "DER", "-out", "rsa.der",
        ],
    );
    openssl(
        d,
        &[
            "pkey",
            "-in",
            "rsa.pem",
            "-pubout",
            "-outform",
            "DER",
            "-out",
            "rsa_pub.der",
        ],
    );
    openssl(
        d,
        &[
            "rsa",
            "-in",
            "rsa.pem",
            "-RSAPublicKey_out",
            "-out",
            "rsa_pkcs1_pub.pem",
        ],
    );
    openssl(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "ec.pem",
        ],
    );
    openssl(
        d,
        &["pkey", "-in", "ec.pem", "-pubout", "-out", "ec_pub.pem"],
    );
    openssl(
        d,
        &[
            "ecparam",
            "-genkey",
            "-name",
            "prime256v1",
            "-noout",
            "-out",
            "ec_sec1.pem",
        ],
    );
    openssl(
        d,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:1024",
            "-out",
            "rsa1024.pem",
        ],
    );
    openssl(
        d,
        &[
            "pkey",
            "-in",
            "rsa1024.pem",
            "-pubout",
            "-out",
            "rsa1024_pub.pem",
        ],
    );
    Keys {
        path: d.to_owned(),
        _dir: dir,
    }
}

#[test]
fn unusable_private_keys_are_named_and_explained() {
    let keys = made();
    let p = |name: &str| keys.path.join(name);
    let public = p("rsa_pub.pem");
    for (file, needle) in [
        ("encrypted.pem", "the key is encrypted"),
        ("encrypted_pkcs1.pem", "the key is encrypted"),
        ("rsa.der", "binary DER, not PEM"),
        ("ec.pem", "an EC key"),
        ("ec_sec1.pem", "an EC key"),
        ("rsa1024.pem", "shorter than 2048 bits"),
    ] {
        let text = build_error(&p(file), &public);
        assert_readable(&text, &p(file), needle);
        assert!(!text.contains("secret"), "{text}");
    }
    // Straight from the loader too.
    let err = PrivateKeyDer::from_pem_file(p("encrypted.pem")).unwrap_err();
    assert_readable(
        &ErrorChain(&err).to_string(),
        &p("encrypted.pem"),
        "openssl pkey",
    );
}

#[test]
fn unusable_public_keys_are_named_and_explained() {
    let keys = made();
    let p = |name: &str| keys.path.join(name);
    let private = p("rsa.pem");
    for (file, needle) in [
        ("rsa_pub.der", "binary DER, not PEM"),
        ("ec_pub.pem", "an EC key"),
        ("rsa1024_pub.pem", "1024 bits"),
    ] {
        let text = build_error(&private, &p(file));
        assert_readable(&text, &p(file), needle);
    }
}

#[test]
fn a_pkcs1_rsa_public_key_is_accepted_and_verifies_openssl_signatures() {
    let keys = made();
    let key = PublicKeyDer::from_pem_file(keys.path.join("rsa_pkcs1_pub.pem")).unwrap();
    let spki = PublicKeyDer::from_pem_file(keys.path.join("rsa_pub.pem")).unwrap();
    assert_eq!(
        key, spki,
        "the same SubjectPublicKeyInfo as openssl -pubout writes"
    );
    // A signature made by OpenSSL verifies with it.
    let message = keys.path.join("m.txt");
    std::fs::write(&message, b"1700000000\nNONCE\n{}\n").unwrap();
    let sig = keys.path.join("sig.bin");
    openssl(
        &keys.path,
        &[
            "dgst", "-sha256", "-sign", "rsa.pem", "-out", "sig.bin", "m.txt",
        ],
    );
    let verifier = Backend::default().verifier(&key).unwrap();
    assert!(verifier.verify(
        &std::fs::read(&message).unwrap(),
        &std::fs::read(&sig).unwrap()
    ));
}

#[test]
fn huge_and_endless_files_are_not_read_whole() {
    let keys = made();
    let big = keys.path.join("big.pem");
    std::fs::write(&big, vec![b'A'; 2 << 20]).unwrap();
    for file in [big.as_path(), Path::new("/dev/zero")] {
        let text = build_error(file, &keys.path.join("rsa_pub.pem"));
        assert_readable(&text, file, "larger than");
    }
}

#[test]
fn a_public_key_id_cannot_take_over_a_certificate_serial() {
    // The platform certificate fixture's serial, reused as a public key id.
    let err = merchant_builder("http://127.0.0.1:9")
        .platform_certificate_file(fixture("platform_cert.pem"))
        .wechatpay_public_key_file(
            PLATFORM_SERIAL.to_ascii_lowercase(),
            fixture("wechatpay_pub.pem"),
        )
        .build()
        .map(drop)
        .map_err(|e| ErrorChain(&e).to_string())
        .unwrap_err();
    assert!(
        err.contains("already configured as a platform certificate serial"),
        "{err}"
    );
}
