//! Platform certificates: the set of keys a client trusts as downloads come in.
//!
//! Reading a `GET /v3/certificates` reply is pure and lives in
//! [`wechatpay_protocol::certificates`], re-exported here. The download goes
//! through the client like any call, so its signature is checked with a key
//! that is already trusted before anything in it is believed.
//!
//! `Trust` keeps the configured keys plus every downloaded certificate
//! until it expires, so during a rotation both serials verify.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

pub use wechatpay_protocol::certificates::*;
use wechatpay_protocol::crypto::Backend;
use wechatpay_protocol::keystore::PublicKeyStore;
use wechatpay_protocol::text::truncate;

/// How long before the same unknown `Wechatpay-Serial` triggers another download.
pub(crate) const UNKNOWN_SERIAL_COOLDOWN_SECS: i64 = 60;

/// The keys a client verifies replies with: the configured ones plus the
/// downloaded platform certificates that have not expired.
pub(crate) struct Trust {
    configured: PublicKeyStore,
    backend: Backend,
    current: RwLock<Arc<PublicKeyStore>>,
    state: Mutex<State>,
    /// Held while downloading, so concurrent calls share one download.
    pub(crate) refreshing: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    downloaded: BTreeMap<String, PlatformCertificate>,
    /// When a download was last tried (clock seconds).
    last_attempt: Option<i64>,
    /// Unknown serials recently looked for, with when.
    looked_for: BTreeMap<String, i64>,
}

impl Trust {
    /// Keys trusting `configured`; with `not_before` a scheduled download
    /// is not due until a refresh interval after that time.
    pub(crate) fn new(
        configured: PublicKeyStore,
        backend: Backend,
        not_before: Option<i64>,
    ) -> Self {
        Trust {
            current: RwLock::new(Arc::new(configured.clone())),
            configured,
            backend,
            state: Mutex::new(State {
                last_attempt: not_before,
                ..State::default()
            }),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // Plain data, valid whatever a panicking holder left.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The keys to verify with now.
    pub(crate) fn current(&self) -> Arc<PublicKeyStore> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether a scheduled download is due (never tried, or `every` seconds ago).
    pub(crate) fn due(&self, now: i64, every: i64) -> bool {
        match self.state().last_attempt {
            None => true,
            Some(at) => now.saturating_sub(at) >= every,
        }
    }

    /// Whether to download because a reply named `serial`, which no trusted
    /// key has; each unknown serial triggers at most one download a minute.
    pub(crate) fn look_for(&self, serial: &str, now: i64) -> bool {
        let mut state = self.state();
        state
            .looked_for
            .retain(|_, at| now.saturating_sub(*at) < UNKNOWN_SERIAL_COOLDOWN_SECS);
        if state.looked_for.contains_key(serial) || state.looked_for.len() >= 64 {
            return false;
        }
        state.looked_for.insert(truncate(serial, 80), now);
        true
    }

    /// Records that a download was tried at `now`.
    pub(crate) fn attempted(&self, now: i64) {
        self.state().last_attempt = Some(now);
    }

    /// Adds downloaded certificates; drops every downloaded one that has
    /// expired by `now`; rebuilds the trusted set. Returns the serials now
    /// trusted from downloads.
    pub(crate) fn install(&self, now: i64, certificates: Vec<PlatformCertificate>) -> Vec<String> {
        let mut state = self.state();
        for cert in certificates {
            state.downloaded.insert(cert.serial_no.clone(), cert);
        }
        state.downloaded.retain(|_, c| c.not_after > now);
        let mut store = self.configured.clone();
        let mut serials = Vec::new();
        for cert in state.downloaded.values() {
            // A configured key of that name wins; it is the same certificate or
            // the configuration's to decide.
            if store.kind(&cert.serial_no).is_some() {
                continue;
            }
            match store.add_certificate(cert.certificate.clone(), self.backend) {
                Ok(serial) => serials.push(serial),
                Err(error) => {
                    tracing::warn!(serial = cert.serial_no.as_str(), %error, "downloaded platform certificate not usable")
                }
            }
        }
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(store);
        serials
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wechatpay_protocol::keys::Certificate;

    #[test]
    fn schedule_and_unknown_serial_cooldown() {
        let trust = Trust::new(PublicKeyStore::new(), Backend::default(), None);
        assert!(trust.due(1000, 3600));
        trust.attempted(1000);
        assert!(!trust.due(4599, 3600));
        assert!(trust.due(4600, 3600));
        assert!(trust.look_for("AA", 1000));
        assert!(!trust.look_for("AA", 1059));
        assert!(trust.look_for("BB", 1059));
        assert!(trust.look_for("AA", 1060));
    }

    #[test]
    fn expired_certificates_are_dropped_and_configured_names_win() {
        // Read at run time: the fixtures live in the unpublished test kit.
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../wechatpay-test-kit/fixtures/platform_cert.pem"
        );
        let pem = &std::fs::read_to_string(path).expect("the test kit's platform_cert.pem");
        let certificate = Certificate::from_pem(pem).unwrap();
        let cert = |not_after| PlatformCertificate {
            serial_no: certificate.serial.clone(),
            effective_time: String::new(),
            expire_time: String::new(),
            not_before: 0,
            not_after,
            pem: pem.to_owned(),
            certificate: certificate.clone(),
        };
        let trust = Trust::new(PublicKeyStore::new(), Backend::default(), None);
        assert_eq!(trust.install(100, vec![cert(101)]).len(), 1);
        assert!(trust.current().kind(&certificate.serial).is_some());
        // Expired by the next refresh: no longer trusted.
        assert!(trust.install(101, Vec::new()).is_empty());
        assert!(trust.current().kind(&certificate.serial).is_none());
        // A configured key of the same name is kept as configured.
        let mut configured = PublicKeyStore::new();
        configured.add_certificate_pem(pem).unwrap();
        let trust = Trust::new(configured, Backend::default(), None);
        assert!(trust.install(100, vec![cert(200)]).is_empty());
        assert!(trust.current().kind(&certificate.serial).is_some());
    }
}
