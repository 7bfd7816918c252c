//! What one more tenant's client costs: building a brand client from its PEM key and
//! WeChat Pay public key with a connection pool of its own, and sharing another
//! client's (`ClientBuilder::share`), against one RSA-2048 signature measured in the
//! same process (the reference: the machine's speed changes from day to day).
//!
//! `cargo bench -p wechatpay-transport --bench clients` prints one `BENCH name value
//! unit` line per figure for `cargo xtask bench`.

use std::hint::black_box;

#[path = "../../../benches/measure.rs"]
mod measure;

use measure::{measure, report};
use wechatpay_transport::crypto::Backend;
use wechatpay_transport::{Client, ClientBuilder, Identity, PrivateKeyDer, PublicKeyStore};

/// A key of the (unpublished) test kit, read at run time.
fn fixture(name: &str) -> String {
    let path = format!(
        "{}/../wechatpay-test-kit/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

const PUB_KEY_ID: &str = "PUB_KEY_ID_0119000000012025010100000000000000";

/// A tenant as a service provider's process holds it: PEM text from its store.
fn tenant(key: &str, public_key: &str) -> ClientBuilder {
    Client::builder(Identity::brand("120344"))
        .serial_no("1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C")
        .private_key_pem(key)
        .wechatpay_public_key_pem(PUB_KEY_ID, public_key)
        .base_url("http://127.0.0.1:9")
}

fn main() {
    let key = fixture("merchant_key.pem");
    let public_key = fixture("wechatpay_pub.pem");

    let der = PrivateKeyDer::from_pem(&key).unwrap();
    let signer = Backend::AwsLc.signer(&der).unwrap();
    let message = [7u8; 256];
    let sign_ns = measure(|| {
        black_box(signer.sign(black_box(&message)).unwrap());
    });

    let own_ns = measure(|| {
        black_box(tenant(&key, &public_key).build().unwrap());
    });
    let first = tenant(&key, &public_key).build().unwrap();
    let shared_ns = measure(|| {
        black_box(tenant(&key, &public_key).share(&first).build().unwrap());
    });
    // Keys already loaded (a signer and key store kept per tenant): what sharing leaves.
    let mut store = PublicKeyStore::new();
    store.add_public_key_pem(PUB_KEY_ID, &public_key).unwrap();
    let loaded_signer = signer;
    let loaded_ns = measure(|| {
        let builder = Client::builder(Identity::brand("120344"))
            .serial_no("1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C")
            .signer(loaded_signer.clone())
            .public_key_store(store.clone())
            .base_url("http://127.0.0.1:9");
        black_box(builder.share(&first).build().unwrap());
    });

    report("client_sign_reference", sign_ns / 1e3, "us");
    report("client_build_own", own_ns / 1e3, "us");
    report("client_build_shared", shared_ns / 1e3, "us");
    println!("BENCH client_build_loaded {:.1} us", loaded_ns / 1e3);
    println!("BENCH client_build_own_ratio {:.2} x", own_ns / sign_ns);
    println!(
        "BENCH client_build_shared_ratio {:.2} x",
        shared_ns / sign_ns
    );
    println!(
        "BENCH client_build_loaded_ratio {:.3} x",
        loaded_ns / sign_ns
    );
}
