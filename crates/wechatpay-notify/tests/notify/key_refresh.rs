//! A notification signed with a key the receiver does not know yet (a platform certificate
//! rotated before any call of its own downloaded it): the receiver downloads the keys once
//! and verifies the delivery again; a second unknown serial within the minute is refused
//! without another download.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use wechatpay_notify::receiver::{Outcome, Receiver};
use wechatpay_notify::Journal;
use wechatpay_protocol::keystore::PublicKeyStore;
use wechatpay_protocol::notification::{ApiV3Key, NotificationHandler};

use crate::common;

fn header_map(pairs: &[(String, String)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

#[test]
fn an_unknown_serial_downloads_the_keys_once_and_verifies_again() {
    let keys = common::keys();
    let sandbox = common::sandbox(keys.path());
    let dir = tempfile::tempdir().unwrap();
    // The keys the handler reads at each delivery: none yet.
    let live = Arc::new(RwLock::new(Arc::new(PublicKeyStore::new())));
    let reader = live.clone();
    let handler = NotificationHandler::with_live_keys(
        move || reader.read().unwrap().clone(),
        ApiV3Key::new(&sandbox.keys().identity.apiv3_key).unwrap(),
    );
    // The "download": the platform certificate's key under its new serial.
    let pem = std::fs::read(keys.path().join("wxp_pub.pem")).unwrap();
    let downloads = Arc::new(AtomicUsize::new(0));
    let (writer, counter) = (live.clone(), downloads.clone());
    let receiver = Receiver::builder(handler, Journal::open(&dir.path().join("n.db")).unwrap())
        .provider("1600000001")
        .refresh_keys_with(Arc::new(move || {
            let (writer, counter, pem) = (writer.clone(), counter.clone(), pem.clone());
            Box::pin(async move {
                let mut store = PublicKeyStore::new();
                store.add_public_key_pem("ROTATED_SERIAL", &pem).unwrap();
                *writer.write().unwrap() = Arc::new(store);
                counter.fetch_add(1, Ordering::SeqCst);
            })
        }))
        .build();

    let body = common::envelope(
        &sandbox,
        "EV-ROTATED-1",
        "PRODUCT_COUPON.SEND",
        &common::send_payload("SBXROTATED1", "o-rotated"),
    );
    let headers = header_map(&common::signed_headers(
        &sandbox,
        &body,
        common::now(),
        "ROTATED_SERIAL",
    ));
    let answer = common::runtime().block_on(receiver.handle(&headers, &body));
    assert_eq!(
        answer.status,
        StatusCode::NO_CONTENT,
        "{:?}",
        answer.outcome
    );
    assert!(
        matches!(answer.outcome, Outcome::Recorded { .. }),
        "{:?}",
        answer.outcome
    );
    assert_eq!(downloads.load(Ordering::SeqCst), 1);

    // Another unknown serial a moment later: refused, no second download.
    let body = common::envelope(
        &sandbox,
        "EV-ROTATED-2",
        "PRODUCT_COUPON.SEND",
        &common::send_payload("SBXROTATED2", "o-rotated"),
    );
    let headers = header_map(&common::signed_headers(
        &sandbox,
        &body,
        common::now(),
        "ANOTHER_SERIAL",
    ));
    let answer = common::runtime().block_on(receiver.handle(&headers, &body));
    assert_eq!(
        answer.status,
        StatusCode::UNAUTHORIZED,
        "{:?}",
        answer.outcome
    );
    assert_eq!(downloads.load(Ordering::SeqCst), 1);
    assert_eq!(common::events(&dir.path().join("n.db")).len(), 1);
}
