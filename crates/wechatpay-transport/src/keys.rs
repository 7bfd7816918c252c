//! Key material from PEM: the merchant's private key, WeChat Pay public keys
//! and platform certificates.
//!
//! PEM framing comes from `rustls-pki-types` and certificate parsing from
//! `rustls-webpki`, both already in the tree through reqwest's rustls. Private
//! key bytes live in [`zeroize::Zeroizing`] buffers and never appear in
//! `Debug` output or error messages.

use std::fmt;
use std::path::{Path, PathBuf};

use rustls_pki_types::pem::{self, PemObject, SectionKind};
use rustls_pki_types::CertificateDer;
use zeroize::Zeroizing;

/// Why key material could not be loaded. Never carries key bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The text is not well-formed PEM.
    #[error("{what}: not valid PEM ({reason})")]
    Pem {
        what: &'static str,
        reason: &'static str,
    },
    /// The PEM holds no section of the expected kind.
    #[error("{what}: no {expected} section found{}", found_suffix(.found))]
    NotFound {
        what: &'static str,
        expected: &'static str,
        /// The section labels that were present instead.
        found: Vec<String>,
    },
    /// The section decoded but the crypto backend refused the key.
    #[error("{what}: the key was rejected ({reason})")]
    Rejected { what: &'static str, reason: String },
    /// The certificate could not be parsed.
    #[error("certificate: {reason}")]
    Certificate { reason: String },
    /// A key file could not be read.
    #[error("cannot read {what} file {path}: {message}")]
    Io {
        what: &'static str,
        path: PathBuf,
        message: String,
    },
}

fn found_suffix(found: &[String]) -> String {
    if found.is_empty() {
        String::new()
    } else {
        format!(" (found: {})", found.join(", "))
    }
}

/// A DER private key as read from PEM: PKCS#8 (`PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`).
#[derive(Clone)]
pub enum PrivateKeyDer {
    /// PKCS#8 `PrivateKeyInfo`.
    Pkcs8(Zeroizing<Vec<u8>>),
    /// PKCS#1 `RSAPrivateKey`.
    Pkcs1(Zeroizing<Vec<u8>>),
}

impl PrivateKeyDer {
    /// Reads the first private key section of a PEM document.
    pub fn from_pem(pem: impl AsRef<[u8]>) -> Result<Self, KeyError> {
        const WHAT: &str = "private key";
        let mut found = Vec::new();
        for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(pem.as_ref()) {
            let (kind, der) = section.map_err(|e| pem_error(WHAT, &e))?;
            let der = Zeroizing::new(der);
            match kind {
                SectionKind::PrivateKey => return Ok(PrivateKeyDer::Pkcs8(der)),
                SectionKind::RsaPrivateKey => return Ok(PrivateKeyDer::Pkcs1(der)),
                other => found.push(label(other)),
            }
        }
        Err(KeyError::NotFound {
            what: WHAT,
            expected: "PRIVATE KEY or RSA PRIVATE KEY",
            found,
        })
    }

    /// Reads a PEM private key file.
    pub fn from_pem_file(path: impl AsRef<Path>) -> Result<Self, KeyError> {
        let pem = read_file("private key", path.as_ref())?;
        Self::from_pem(&pem[..])
    }

    /// `PKCS#8` or `PKCS#1`.
    pub fn format(&self) -> &'static str {
        match self {
            PrivateKeyDer::Pkcs8(_) => "PKCS#8",
            PrivateKeyDer::Pkcs1(_) => "PKCS#1",
        }
    }

    /// The DER bytes.
    pub fn der(&self) -> &[u8] {
        match self {
            PrivateKeyDer::Pkcs8(der) | PrivateKeyDer::Pkcs1(der) => der,
        }
    }
}

impl fmt::Debug for PrivateKeyDer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKeyDer({}, <redacted>)", self.format())
    }
}

/// An RSA public key as DER `SubjectPublicKeyInfo`.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKeyDer(Vec<u8>);

impl PublicKeyDer {
    /// Wraps DER `SubjectPublicKeyInfo` bytes (checked when a backend loads them).
    pub fn from_spki_der(der: Vec<u8>) -> Self {
        PublicKeyDer(der)
    }

    /// Reads a `PUBLIC KEY` section, or the public key of a `CERTIFICATE` section.
    pub fn from_pem(pem: impl AsRef<[u8]>) -> Result<Self, KeyError> {
        const WHAT: &str = "public key";
        let mut found = Vec::new();
        for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(pem.as_ref()) {
            let (kind, der) = section.map_err(|e| pem_error(WHAT, &e))?;
            match kind {
                SectionKind::PublicKey => return Ok(PublicKeyDer(der)),
                SectionKind::Certificate => return Ok(Certificate::from_der(&der)?.public_key),
                other => found.push(label(other)),
            }
        }
        Err(KeyError::NotFound {
            what: WHAT,
            expected: "PUBLIC KEY or CERTIFICATE",
            found,
        })
    }

    /// Reads a PEM public key or certificate file.
    pub fn from_pem_file(path: impl AsRef<Path>) -> Result<Self, KeyError> {
        let pem = read_file("public key", path.as_ref())?;
        Self::from_pem(&pem[..])
    }

    /// The DER `SubjectPublicKeyInfo` bytes.
    pub fn der(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for PublicKeyDer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKeyDer({} bytes)", self.0.len())
    }
}

/// A WeChat Pay platform certificate: its serial number and public key.
///
/// Only what verification needs is kept; the certificate chain is not checked
/// (the certificate is configured by the merchant, as the official SDKs do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// Serial number in upper-case hex without leading zero bytes, as
    /// `openssl x509 -serial` and the `Wechatpay-Serial` header write it.
    pub serial: String,
    /// The certificate's public key.
    pub public_key: PublicKeyDer,
}

impl Certificate {
    /// Reads the first `CERTIFICATE` section of a PEM document.
    pub fn from_pem(pem: impl AsRef<[u8]>) -> Result<Self, KeyError> {
        let der = CertificateDer::from_pem_slice(pem.as_ref()).map_err(|e| match e {
            pem::Error::NoItemsFound => KeyError::NotFound {
                what: "certificate",
                expected: "CERTIFICATE",
                found: Vec::new(),
            },
            other => pem_error("certificate", &other),
        })?;
        Self::from_der(der.as_ref())
    }

    /// Reads a PEM certificate file.
    pub fn from_pem_file(path: impl AsRef<Path>) -> Result<Self, KeyError> {
        let pem = read_file("certificate", path.as_ref())?;
        Self::from_pem(&pem[..])
    }

    /// Parses a DER X.509 (v3) certificate.
    pub fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        let der = CertificateDer::from(der);
        let cert = webpki::EndEntityCert::try_from(&der).map_err(|e| KeyError::Certificate {
            reason: format!("not a parsable X.509 v3 certificate ({e})"),
        })?;
        let serial = serial_hex(cert.serial());
        let spki = cert.subject_public_key_info();
        Ok(Certificate {
            serial,
            public_key: PublicKeyDer(spki.as_ref().to_vec()),
        })
    }
}

/// Upper-case hex of a DER INTEGER's content, sign-padding zero bytes dropped.
fn serial_hex(bytes: &[u8]) -> String {
    let start = bytes
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(bytes.len().saturating_sub(1));
    bytes[start..].iter().map(|b| format!("{b:02X}")).collect()
}

fn label(kind: SectionKind) -> String {
    match kind {
        SectionKind::Certificate => "CERTIFICATE",
        SectionKind::PublicKey => "PUBLIC KEY",
        SectionKind::RsaPrivateKey => "RSA PRIVATE KEY",
        SectionKind::PrivateKey => "PRIVATE KEY",
        SectionKind::EcPrivateKey => "EC PRIVATE KEY",
        SectionKind::Crl => "X509 CRL",
        SectionKind::Csr => "CERTIFICATE REQUEST",
        _ => "other",
    }
    .to_owned()
}

// The parser's own messages can quote input lines; only a fixed reason is kept.
fn pem_error(what: &'static str, error: &pem::Error) -> KeyError {
    let reason = match error {
        pem::Error::MissingSectionEnd { .. } => "a section has no END line",
        pem::Error::IllegalSectionStart { .. } => "malformed BEGIN line",
        pem::Error::Base64Decode(_) => "invalid Base64 inside a section",
        pem::Error::NoItemsFound => "no PEM section",
        _ => "unreadable",
    };
    KeyError::Pem { what, reason }
}

fn read_file(what: &'static str, path: &Path) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    std::fs::read(path)
        .map(Zeroizing::new)
        .map_err(|e| KeyError::Io {
            what,
            path: path.to_owned(),
            message: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_hex_drops_sign_padding() {
        assert_eq!(serial_hex(&[0x00, 0x8A, 0x01]), "8A01");
        assert_eq!(serial_hex(&[0x51, 0x00]), "5100");
        assert_eq!(serial_hex(&[0x00]), "00");
        assert_eq!(serial_hex(&[]), "");
    }

    #[test]
    fn reports_what_was_found_instead() {
        let pem = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
        let err = PrivateKeyDer::from_pem(pem).unwrap_err();
        assert_eq!(
            err.to_string(),
            "private key: no PRIVATE KEY or RSA PRIVATE KEY section found (found: PUBLIC KEY)"
        );
    }

    #[test]
    fn garbage_is_a_pem_error_without_its_content() {
        let pem = "-----BEGIN PRIVATE KEY-----\nsecret!!material\n-----END PRIVATE KEY-----\n";
        let err = PrivateKeyDer::from_pem(pem).unwrap_err();
        assert!(matches!(err, KeyError::Pem { .. }), "{err:?}");
        assert!(!format!("{err} {err:?}").contains("secret"));
    }
}
