//! Dedup of notifications by event id: opt-in, only after the signature
//! verified (and the resource decrypted), bounded, expiring on the handler's
//! clock, and pluggable.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::*;
use http::{HeaderMap, HeaderValue};
use serde::Deserialize;
use wechatpay_protocol::notification::{encrypt_resource, EncryptedResource};
use wechatpay_protocol::{
    ApiV3Key, Delivery, HeaderError, InMemorySeenEvents, ManualClock, NotificationError,
    NotificationHandler, PublicKeyStore, SeenEvents, VerifyError,
};

const API_V3_KEY: &str = "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb";
const OTHER_KEY: &str = "b7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb";
const EVENT_ID: &str = "EV-2018022511223320873";
const T0: i64 = 1_700_000_000;
const PLAINTEXT: &str = r#"{"event":"PRODUCT_COUPON.SEND","coupon_code":"券-123"}"#;

#[derive(Debug, Deserialize, PartialEq)]
struct CouponEvent {
    event: String,
    coupon_code: String,
}

fn resource(key: &str, plaintext: &str) -> EncryptedResource {
    encrypt_resource(
        &ApiV3Key::new(key).unwrap(),
        plaintext.as_bytes(),
        "8IQLCe1NOCNl",
        "product_coupon",
        "product_coupon",
    )
    .unwrap()
}

fn good_body(id: &str) -> String {
    notification_body(id, &resource(API_V3_KEY, PLAINTEXT))
}

/// Headers as WeChat Pay would send them for `body` at `timestamp`
/// (a redelivery is signed afresh: `signed_reply` derives the nonce from the time).
fn signed(body: &str, timestamp: i64) -> HeaderMap {
    header_map(&signed_reply(
        200,
        body,
        "wechatpay_key.pem",
        PUB_KEY_ID,
        timestamp,
    ))
}

fn keys() -> PublicKeyStore {
    let mut keys = PublicKeyStore::new();
    keys.add_public_key_pem(PUB_KEY_ID, fixture_text("wechatpay_pub.pem"))
        .unwrap();
    keys
}

fn handler(clock: &Arc<ManualClock>) -> NotificationHandler {
    NotificationHandler::new(keys(), ApiV3Key::new(API_V3_KEY).unwrap()).with_clock(clock.clone())
}

#[test]
fn a_redelivered_event_is_a_duplicate_once_dedup_is_on() {
    let clock = Arc::new(ManualClock::new(T0));
    let body = good_body(EVENT_ID);
    let h = handler(&clock).with_dedup(100, Duration::from_secs(3600));

    let first = h
        .receive::<CouponEvent>(&signed(&body, T0), body.as_bytes())
        .unwrap();
    assert!(!first.is_duplicate());
    assert_eq!(first.id(), EVENT_ID);
    let event = first.fresh().unwrap();
    assert_eq!(event.resource.coupon_code, "券-123");

    // WeChat Pay redelivers 15 s later, signed afresh.
    clock.advance(15);
    let again = signed(&body, T0 + 15);
    assert_ne!(again, signed(&body, T0), "a fresh signature");
    match h.receive::<CouponEvent>(&again, body.as_bytes()).unwrap() {
        Delivery::Duplicate { id } => assert_eq!(id, EVENT_ID),
        Delivery::Fresh(_) => panic!("redelivery reported as fresh"),
    }
    // `handle` (the Result-of-notification API) reports it as a distinct error.
    let err = h
        .handle::<CouponEvent>(&again, body.as_bytes())
        .unwrap_err();
    assert_eq!(
        err,
        NotificationError::Duplicate {
            id: EVENT_ID.into()
        }
    );
    assert!(err.is_duplicate());
    assert!(err.to_string().contains(EVENT_ID), "{err}");

    // A different event is fresh; clones share the store.
    let other = good_body("EV-2018022511223320874");
    assert!(h
        .clone()
        .handle::<CouponEvent>(&signed(&other, T0 + 15), other.as_bytes())
        .is_ok());
    assert!(h
        .handle::<CouponEvent>(&signed(&other, T0 + 15), other.as_bytes())
        .unwrap_err()
        .is_duplicate());
}

#[test]
fn dedup_is_opt_in() {
    let clock = Arc::new(ManualClock::new(T0));
    let body = good_body(EVENT_ID);
    let h = handler(&clock);
    assert!(h.seen_events().is_none());
    for _ in 0..3 {
        h.handle::<CouponEvent>(&signed(&body, T0), body.as_bytes())
            .unwrap();
    }
}

#[test]
fn unverified_or_undecryptable_deliveries_never_mark_an_id_as_seen() {
    let clock = Arc::new(ManualClock::new(T0));
    let h = handler(&clock).with_dedup(100, Duration::from_secs(3600));
    let body = good_body(EVENT_ID);

    // A forged notification with the real event id: rejected, and not recorded.
    let mut forged = signed(&body, T0);
    forged.insert(
        "Wechatpay-Signature",
        HeaderValue::from_static("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    );
    assert!(matches!(
        h.receive::<CouponEvent>(&forged, body.as_bytes()),
        Err(NotificationError::Verify(_))
    ));
    // A tampered body (signature over the original) with the same id.
    let tampered = body.replace("商品券发放", "商品券发放!");
    assert_eq!(
        h.receive::<CouponEvent>(&signed(&body, T0), tampered.as_bytes())
            .unwrap_err(),
        NotificationError::Verify(VerifyError::BadSignature)
    );
    // Stale, and missing headers.
    assert!(matches!(
        h.receive::<CouponEvent>(&signed(&body, T0 - 400), body.as_bytes()),
        Err(NotificationError::Verify(VerifyError::TimestampSkew { .. }))
    ));
    assert!(matches!(
        h.receive::<CouponEvent>(&HeaderMap::new(), body.as_bytes()),
        Err(NotificationError::Verify(VerifyError::Header(
            HeaderError::Missing(_)
        )))
    ));
    // Signed but encrypted with another key, or of the wrong shape.
    let wrong_key = body_with(EVENT_ID, OTHER_KEY, PLAINTEXT);
    assert_eq!(
        h.receive::<CouponEvent>(&signed(&wrong_key, T0), wrong_key.as_bytes())
            .unwrap_err(),
        NotificationError::Decrypt
    );
    let wrong_shape = body_with(EVENT_ID, API_V3_KEY, r#"{"x":1}"#);
    assert!(matches!(
        h.receive::<CouponEvent>(&signed(&wrong_shape, T0), wrong_shape.as_bytes()),
        Err(NotificationError::Payload { .. })
    ));

    // None of those recorded the id: the genuine one is fresh.
    assert!(h
        .receive::<CouponEvent>(&signed(&body, T0), body.as_bytes())
        .unwrap()
        .fresh()
        .is_some());

    // And a duplicate that fails verification is a verification error, not a duplicate.
    assert_eq!(
        h.receive::<CouponEvent>(&signed(&body, T0), tampered.as_bytes())
            .unwrap_err(),
        NotificationError::Verify(VerifyError::BadSignature)
    );
    assert!(matches!(
        h.receive::<CouponEvent>(&forged, body.as_bytes()),
        Err(NotificationError::Verify(_))
    ));
}

fn body_with(id: &str, key: &str, plaintext: &str) -> String {
    notification_body(id, &resource(key, plaintext))
}

#[test]
fn records_expire_after_ttl_on_the_handlers_clock() {
    let clock = Arc::new(ManualClock::new(T0));
    let h = handler(&clock).with_dedup(100, Duration::from_secs(1000));
    let body = good_body(EVENT_ID);
    let at = |t: i64| {
        clock.set(t);
        h.receive::<CouponEvent>(&signed(&body, t), body.as_bytes())
            .unwrap()
            .is_duplicate()
    };
    assert!(!at(T0));
    assert!(at(T0 + 999));
    assert!(!at(T0 + 1000), "expired exactly ttl after it was recorded");
    assert!(at(T0 + 1001));
}

#[test]
fn the_store_is_bounded_and_evicts_the_oldest_first() {
    let clock = Arc::new(ManualClock::new(T0));
    let store = Arc::new(InMemorySeenEvents::new(2, Duration::from_secs(86_400)));
    let h = handler(&clock).with_seen_events(store.clone());
    let dup = |id: &str| {
        let body = good_body(id);
        h.receive::<CouponEvent>(&signed(&body, T0), body.as_bytes())
            .unwrap()
            .is_duplicate()
    };
    assert!(!dup("EV-A"));
    assert!(!dup("EV-B"));
    assert!(!dup("EV-C")); // evicts EV-A
    assert_eq!(store.len(), 2);
    assert!(dup("EV-B"));
    assert!(dup("EV-C"));
    assert!(!dup("EV-A"), "the oldest was evicted");
    assert_eq!(store.len(), 2);
}

#[test]
fn forget_event_lets_a_failed_event_be_processed_on_redelivery() {
    let clock = Arc::new(ManualClock::new(T0));
    let h = handler(&clock).with_dedup(10, Duration::from_secs(3600));
    let body = good_body(EVENT_ID);
    let event = h
        .handle::<CouponEvent>(&signed(&body, T0), body.as_bytes())
        .unwrap();
    // Processing failed: answer 500 and forget, so the redelivery is processed.
    h.forget_event(&event.notification.id);
    h.handle::<CouponEvent>(&signed(&body, T0 + 15), body.as_bytes())
        .unwrap();
    assert!(h
        .handle::<CouponEvent>(&signed(&body, T0 + 30), body.as_bytes())
        .unwrap_err()
        .is_duplicate());
}

/// A shared store (as Redis would be), recording what it was asked.
#[derive(Debug, Default)]
struct RecordingStore {
    calls: Mutex<Vec<(String, i64)>>,
    seen: Mutex<Vec<String>>,
}

impl SeenEvents for RecordingStore {
    fn first_seen(&self, id: &str, now: i64) -> bool {
        self.calls.lock().unwrap().push((id.to_owned(), now));
        let mut seen = self.seen.lock().unwrap();
        if seen.iter().any(|s| s == id) {
            false
        } else {
            seen.push(id.to_owned());
            true
        }
    }
}

#[test]
fn a_pluggable_store_is_asked_only_after_verification_with_the_handlers_clock() {
    let clock = Arc::new(ManualClock::new(T0 + 7));
    let store = Arc::new(RecordingStore::default());
    let h = handler(&clock).with_seen_events(store.clone());
    let body = good_body(EVENT_ID);
    let _ = h.receive::<CouponEvent>(&signed(&body, T0), b"{}");
    let _ = h.receive::<CouponEvent>(&HeaderMap::new(), body.as_bytes());
    assert!(store.calls.lock().unwrap().is_empty());

    assert!(!h
        .receive::<CouponEvent>(&signed(&body, T0), body.as_bytes())
        .unwrap()
        .is_duplicate());
    assert!(h
        .receive::<CouponEvent>(&signed(&body, T0 + 1), body.as_bytes())
        .unwrap()
        .is_duplicate());
    assert_eq!(
        *store.calls.lock().unwrap(),
        vec![(EVENT_ID.to_owned(), T0 + 7), (EVENT_ID.to_owned(), T0 + 7)]
    );
}

#[test]
fn concurrent_deliveries_of_one_event_yield_exactly_one_fresh() {
    let clock = Arc::new(ManualClock::new(T0));
    let h = handler(&clock).with_dedup(1000, Duration::from_secs(3600));
    let body = good_body(EVENT_ID);
    let headers = signed(&body, T0);
    let fresh = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    h.receive::<CouponEvent>(&headers, body.as_bytes())
                        .unwrap()
                        .fresh()
                        .is_some()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|t| t.join().unwrap())
            .filter(|&fresh| fresh)
            .count()
    });
    assert_eq!(fresh, 1);
}

#[test]
fn debug_shows_the_store_but_not_the_ids_or_the_key() {
    let clock = Arc::new(ManualClock::new(T0));
    let h = handler(&clock).with_dedup(10, Duration::from_secs(60));
    let body = good_body(EVENT_ID);
    h.handle::<CouponEvent>(&signed(&body, T0), body.as_bytes())
        .unwrap();
    let debug = format!("{h:?}");
    assert!(debug.contains("InMemorySeenEvents"), "{debug}");
    assert!(debug.contains("len: 1"), "{debug}");
    assert!(!debug.contains(EVENT_ID), "{debug}");
    assert!(!debug.contains(API_V3_KEY), "{debug}");
}
