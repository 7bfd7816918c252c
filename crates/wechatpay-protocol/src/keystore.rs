//! The WeChat Pay keys a client trusts, by the serial that names them.
//!
//! A reply's `Wechatpay-Serial` names either a WeChat Pay public key id
//! (`PUB_KEY_ID_…`) or, for merchants not yet migrated, a platform certificate
//! serial. Both kinds can be held at once (the migration case).
//!
//! Public key ids match exactly. Certificate serials are hex, so they also
//! match in either case. A serial is held once: adding a second key under a
//! name already taken (a public key id equal to a certificate serial, or the
//! same serial twice) is refused rather than silently replacing the first.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::crypto::{Backend, Verifier};
use crate::keys::{Certificate, KeyError, PublicKeyDer};

/// What a serial names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// A WeChat Pay public key, named by its id (`PUB_KEY_ID_…`).
    PublicKey,
    /// A platform certificate, named by its serial number.
    PlatformCertificate,
}

#[derive(Clone)]
struct Entry {
    kind: KeyKind,
    verifier: Arc<dyn Verifier>,
    public_key: Option<PublicKeyDer>,
}

/// WeChat Pay public keys and platform certificates, by serial.
#[derive(Clone, Default)]
pub struct PublicKeyStore {
    entries: BTreeMap<String, Entry>,
}

impl PublicKeyStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a WeChat Pay public key under its id, loaded with `backend`.
    pub fn add_public_key(
        &mut self,
        id: impl Into<String>,
        key: PublicKeyDer,
        backend: Backend,
    ) -> Result<(), KeyError> {
        let verifier = backend.verifier(&key)?;
        self.insert(id.into(), KeyKind::PublicKey, verifier, Some(key))
    }

    /// Adds a WeChat Pay public key from PEM (`PUBLIC KEY`) under its id.
    pub fn add_public_key_pem(
        &mut self,
        id: impl Into<String>,
        pem: impl AsRef<[u8]>,
    ) -> Result<(), KeyError> {
        self.add_public_key(id, PublicKeyDer::from_pem(pem)?, Backend::default())
    }

    /// Adds a platform certificate under its own serial number; returns the serial.
    pub fn add_certificate(
        &mut self,
        certificate: Certificate,
        backend: Backend,
    ) -> Result<String, KeyError> {
        let verifier = backend.verifier(&certificate.public_key)?;
        let serial = certificate.serial;
        self.insert(
            serial.clone(),
            KeyKind::PlatformCertificate,
            verifier,
            Some(certificate.public_key),
        )?;
        Ok(serial)
    }

    /// Adds a platform certificate from PEM; returns its serial.
    pub fn add_certificate_pem(&mut self, pem: impl AsRef<[u8]>) -> Result<String, KeyError> {
        self.add_certificate(Certificate::from_pem(pem)?, Backend::default())
    }

    /// Adds any verifier under `serial` (for keys held elsewhere, e.g. an HSM).
    pub fn insert_verifier(
        &mut self,
        serial: impl Into<String>,
        kind: KeyKind,
        verifier: Arc<dyn Verifier>,
    ) -> Result<(), KeyError> {
        self.insert(serial.into(), kind, verifier, None)
    }

    fn insert(
        &mut self,
        serial: String,
        kind: KeyKind,
        verifier: Arc<dyn Verifier>,
        public_key: Option<PublicKeyDer>,
    ) -> Result<(), KeyError> {
        if let Some((taken, existing)) = self.conflict(&serial, kind) {
            return Err(KeyError::DuplicateSerial {
                serial: crate::text::truncate(&serial, 80),
                existing: describe(existing, taken),
            });
        }
        self.entries.insert(
            serial,
            Entry {
                kind,
                verifier,
                public_key,
            },
        );
        Ok(())
    }

    /// The entry a new `serial` of `kind` would clash with: the same name, or
    /// the same name in another case when either is a certificate serial.
    fn conflict(&self, serial: &str, kind: KeyKind) -> Option<(&str, KeyKind)> {
        self.entries.iter().find_map(|(k, e)| {
            let clash = k == serial
                || ((kind == KeyKind::PlatformCertificate
                    || e.kind == KeyKind::PlatformCertificate)
                    && k.eq_ignore_ascii_case(serial));
            clash.then_some((k.as_str(), e.kind))
        })
    }

    fn entry(&self, serial: &str) -> Option<&Entry> {
        // Certificate serials are hex; tolerate a peer that writes them in
        // lower case. Public key ids are names and match exactly.
        self.entries.get(serial).or_else(|| {
            self.entries
                .iter()
                .find(|(k, e)| {
                    e.kind == KeyKind::PlatformCertificate && k.eq_ignore_ascii_case(serial)
                })
                .map(|(_, e)| e)
        })
    }

    /// The verifier for `serial`, if trusted.
    pub fn verifier(&self, serial: &str) -> Option<&Arc<dyn Verifier>> {
        self.entry(serial).map(|e| &e.verifier)
    }

    /// The public key for `serial`, when it was added as a key (not as a bare verifier).
    pub fn public_key(&self, serial: &str) -> Option<&PublicKeyDer> {
        self.entry(serial).and_then(|e| e.public_key.as_ref())
    }

    /// What `serial` names, if trusted.
    pub fn kind(&self, serial: &str) -> Option<KeyKind> {
        self.entry(serial).map(|e| e.kind)
    }

    /// Every trusted serial with its kind, in sorted order.
    pub fn serials(&self) -> impl Iterator<Item = (&str, KeyKind)> {
        self.entries.iter().map(|(k, e)| (k.as_str(), e.kind))
    }

    /// Whether no key is trusted.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn describe(kind: KeyKind, serial: &str) -> String {
    let what = match kind {
        KeyKind::PublicKey => "a WeChat Pay public key id",
        KeyKind::PlatformCertificate => "a platform certificate serial",
    };
    format!("{what} ({})", crate::text::truncate(serial, 80))
}

impl fmt::Debug for PublicKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.serials()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Yes;
    impl Verifier for Yes {
        fn verify(&self, _: &[u8], _: &[u8]) -> bool {
            true
        }
    }

    fn add(store: &mut PublicKeyStore, serial: &str, kind: KeyKind) -> Result<(), KeyError> {
        store.insert_verifier(serial, kind, Arc::new(Yes))
    }

    #[test]
    fn public_key_ids_match_exactly_and_certificate_serials_in_any_case() {
        let mut store = PublicKeyStore::new();
        add(&mut store, "PUB_KEY_ID_01AB", KeyKind::PublicKey).unwrap();
        add(&mut store, "5157F09E", KeyKind::PlatformCertificate).unwrap();
        assert_eq!(store.kind("PUB_KEY_ID_01AB"), Some(KeyKind::PublicKey));
        assert_eq!(store.kind("pub_key_id_01ab"), None);
        assert_eq!(store.kind("PUB_KEY_ID_01ab"), None);
        assert_eq!(store.kind("5157f09e"), Some(KeyKind::PlatformCertificate));
    }

    #[test]
    fn a_name_is_held_once() {
        let mut store = PublicKeyStore::new();
        add(&mut store, "5157F09E", KeyKind::PlatformCertificate).unwrap();
        // A public key id may not take over a certificate serial, in any case.
        for (serial, kind) in [
            ("5157F09E", KeyKind::PublicKey),
            ("5157f09e", KeyKind::PublicKey),
            ("5157F09E", KeyKind::PlatformCertificate),
            ("5157f09e", KeyKind::PlatformCertificate),
        ] {
            let err = add(&mut store, serial, kind).unwrap_err();
            assert!(
                err.to_string()
                    .contains("platform certificate serial (5157F09E)"),
                "{err}"
            );
        }
        assert_eq!(store.kind("5157F09E"), Some(KeyKind::PlatformCertificate));
        add(&mut store, "PUB_KEY_ID_1", KeyKind::PublicKey).unwrap();
        assert!(add(&mut store, "PUB_KEY_ID_1", KeyKind::PublicKey).is_err());
        // Ids that differ in case are different ids.
        add(&mut store, "pub_key_id_1", KeyKind::PublicKey).unwrap();
        assert_eq!(store.serials().count(), 3);
    }
}
