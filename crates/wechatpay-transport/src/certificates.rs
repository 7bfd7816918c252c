//! Platform certificates, for merchants not (only) on WeChat Pay public keys:
//! reading a `GET /v3/certificates` reply, and the set of keys a client
//! trusts as downloads come in.
//!
//! The download itself goes through the client like any call, so its
//! signature is checked with a key that is already trusted (a configured
//! public key or certificate, or one downloaded earlier) before anything in
//! it is believed. Each `encrypt_certificate` is then decrypted with the
//! APIv3 key (AEAD_AES_256_GCM, as notifications are) and must be a
//! parsable X.509 certificate whose serial is the listed `serial_no`.
//!
//! `Trust` keeps the configured keys plus every downloaded certificate
//! until it expires, so during a rotation both serials verify.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, RwLock};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use serde::Deserialize;
use wechatpay_runtime::DateTime;

use crate::crypto::Backend;
use crate::keys::Certificate;
use crate::keystore::PublicKeyStore;
use crate::notification::{decrypt_resource, ApiV3Key, EncryptedResource};
use crate::sign::truncate;

/// The download endpoint.
pub const CERTIFICATES_PATH: &str = "/v3/certificates";
/// The operation id the client logs the download under.
pub const OPERATION_ID: &str = "download-certificates";
/// The error code of a 404 that means "this merchant uses public keys only".
pub const PUBLIC_KEY_ONLY_CODE: &str = "RESOURCE_NOT_EXISTS";

/// How long before the same unknown `Wechatpay-Serial` triggers another download.
pub(crate) const UNKNOWN_SERIAL_COOLDOWN_SECS: i64 = 60;

/// One decrypted platform certificate.
#[derive(Clone, PartialEq, Eq)]
pub struct PlatformCertificate {
    /// The serial, as listed (upper-case hex, as `Wechatpay-Serial` writes it).
    pub serial_no: String,
    /// `effective_time` as listed (RFC 3339).
    pub effective_time: String,
    /// `expire_time` as listed (RFC 3339).
    pub expire_time: String,
    /// The certificate's own `notBefore`, Unix seconds.
    pub not_before: i64,
    /// The certificate's own `notAfter`, Unix seconds.
    pub not_after: i64,
    /// The certificate as PEM, exactly as decrypted.
    pub pem: String,
    /// Serial and public key, ready for a [`PublicKeyStore`].
    pub certificate: Certificate,
}

impl fmt::Debug for PlatformCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlatformCertificate")
            .field("serial_no", &self.serial_no)
            .field("effective_time", &self.effective_time)
            .field("expire_time", &self.expire_time)
            .finish_non_exhaustive()
    }
}

/// What a download found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateDownload {
    /// The merchant's platform certificates (several during a rotation).
    Certificates(Vec<PlatformCertificate>),
    /// `404 RESOURCE_NOT_EXISTS`: the merchant is in public-key mode only;
    /// there are no platform certificates to download. Not an error.
    PublicKeyOnly,
}

/// A verified download whose content cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// The body is not `{"data": [...]}` with the documented fields.
    #[error("certificate download: the reply is not a certificate list: {reason}")]
    Envelope { reason: String },
    /// One listed certificate is unusable.
    #[error("certificate download: certificate {serial_no}: {reason}")]
    Entry { serial_no: String, reason: String },
}

#[derive(Deserialize)]
struct Envelope {
    data: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    serial_no: String,
    effective_time: String,
    expire_time: String,
    encrypt_certificate: EncryptedResource,
}

/// Reads a verified `GET /v3/certificates` body: decrypts and parses every
/// certificate; any bad entry fails the whole download.
pub fn decrypt_certificates(
    body: &[u8],
    api_v3_key: &ApiV3Key,
) -> Result<Vec<PlatformCertificate>, CertificateError> {
    let envelope: Envelope =
        serde_json::from_slice(body).map_err(|e| CertificateError::Envelope {
            reason: truncate(&e.to_string(), 200),
        })?;
    envelope
        .data
        .into_iter()
        .map(|entry| {
            let serial_no = truncate(&entry.serial_no, 80);
            read_entry(entry, api_v3_key)
                .map_err(|reason| CertificateError::Entry { serial_no, reason })
        })
        .collect()
}

fn read_entry(entry: Entry, api_v3_key: &ApiV3Key) -> Result<PlatformCertificate, String> {
    for (field, value) in [
        ("effective_time", &entry.effective_time),
        ("expire_time", &entry.expire_time),
    ] {
        value
            .parse::<DateTime>()
            .map_err(|e| format!("{field} {:?}: {e}", truncate(value, 40)))?;
    }
    let plaintext =
        decrypt_resource(api_v3_key, &entry.encrypt_certificate).map_err(|e| e.to_string())?;
    let pem = String::from_utf8(plaintext.to_vec())
        .map_err(|_| "the decrypted certificate is not PEM text".to_owned())?;
    let der = CertificateDer::from_pem_slice(pem.as_bytes())
        .map_err(|_| "the decrypted text holds no PEM CERTIFICATE".to_owned())?;
    let certificate = Certificate::from_der(der.as_ref()).map_err(|e| e.to_string())?;
    if !certificate.serial.eq_ignore_ascii_case(&entry.serial_no) {
        return Err(format!(
            "the certificate's own serial is {}, not the one listed",
            certificate.serial
        ));
    }
    let (not_before, not_after) = crate::der::certificate_validity(der.as_ref())
        .ok_or_else(|| "the certificate's validity period does not parse".to_owned())?;
    Ok(PlatformCertificate {
        serial_no: certificate.serial.clone(),
        effective_time: entry.effective_time,
        expire_time: entry.expire_time,
        not_before,
        not_after,
        pem,
        certificate,
    })
}

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
        let pem = include_str!("../tests/fixtures/platform_cert.pem");
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

    #[test]
    fn envelope_errors_are_named() {
        let key = ApiV3Key::new("0123456789abcdefghijABCDEFGHIJ01").unwrap();
        let err = decrypt_certificates(b"[1]", &key).unwrap_err();
        assert!(matches!(err, CertificateError::Envelope { .. }), "{err}");
        let body = br#"{"data":[{"serial_no":"AB","effective_time":"2025-01-01T00:00:00+08:00","expire_time":"2030-01-01T00:00:00+08:00","encrypt_certificate":{"algorithm":"AEAD_AES_256_GCM","nonce":"123456789012","associated_data":"certificate","ciphertext":"AAAA"}}]}"#;
        let err = decrypt_certificates(body, &key).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("certificate download: certificate AB: resource decryption failed"),
            "{err}"
        );
    }
}
