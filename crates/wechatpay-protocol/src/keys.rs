//! Key material from PEM: the merchant's private key, WeChat Pay public keys
//! and platform certificates.
//!
//! PEM framing comes from `rustls-pki-types` and certificate parsing from
//! `rustls-webpki`, small pure crates (and already in the tree of any rustls client). Private
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
        /// What was being loaded (`private key`, `public key`, `certificate`).
        what: &'static str,
        /// What is wrong with the PEM.
        reason: &'static str,
    },
    /// The PEM holds no section of the expected kind.
    #[error("{what}: no {expected} section found{}", found_suffix(.found))]
    NotFound {
        /// What was being loaded (`private key`, `public key`, `certificate`).
        what: &'static str,
        /// The section label looked for.
        expected: &'static str,
        /// The section labels that were present instead.
        found: Vec<String>,
    },
    /// The section decoded but the crypto backend refused the key.
    #[error("{what}: the key was rejected ({reason})")]
    Rejected {
        /// What was being loaded (`private key`, `public key`, `certificate`).
        what: &'static str,
        /// The backend's reason.
        reason: String,
    },
    /// The key is protected by a passphrase; the client needs it in the clear.
    #[error("{what}: the key is encrypted (passphrase-protected); write it out unencrypted first, e.g. `openssl pkey -in KEY.pem -out KEY-plain.pem`")]
    Encrypted {
        /// What was being loaded (`private key`, `public key`, `certificate`).
        what: &'static str,
    },
    /// The file holds binary DER, not PEM text.
    #[error("{what}: the file is binary DER, not PEM; convert it, e.g. `openssl pkey -inform DER -in KEY.der -out KEY.pem`{}", if *.what == "certificate" { " (for a certificate: `openssl x509 -inform DER …`)" } else { "" })]
    Der {
        /// What was being loaded (`private key`, `public key`, `certificate`).
        what: &'static str,
    },
    /// The certificate could not be parsed.
    #[error("certificate: {reason}")]
    Certificate {
        /// Why it does not parse.
        reason: String,
    },
    /// A serial or public key id is already taken in a key store.
    #[error("{serial:?} is already configured as {existing}; each serial names one key")]
    DuplicateSerial {
        /// The serial or id.
        serial: String,
        /// What it already names.
        existing: String,
    },
    /// A key file could not be read.
    #[error("cannot read {what} file {path}: {message}")]
    Io {
        /// What was being loaded (`private key`, `public key`, `certificate`).
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's message.
        message: String,
    },
    /// A key file was read but its content was refused.
    #[error("{} is not a usable key file", .path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// Why its content was refused.
        #[source]
        source: Box<KeyError>,
    },
}

impl KeyError {
    /// This error, naming `path` as the file it came from (unless it already does).
    pub fn in_file(self, path: &Path) -> KeyError {
        match self {
            KeyError::Io { .. } | KeyError::File { .. } => self,
            other => KeyError::File {
                path: path.to_owned(),
                source: Box::new(other),
            },
        }
    }
}

/// The largest key or certificate file read (real ones are a few KiB).
pub const MAX_KEY_FILE_BYTES: u64 = 256 * 1024;

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
        let pem = pem.as_ref();
        precheck(WHAT, pem)?;
        // A legacy encrypted PKCS#1 key has headers inside its section.
        if contains(pem, b"Proc-Type: 4,ENCRYPTED") {
            return Err(KeyError::Encrypted { what: WHAT });
        }
        for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(pem) {
            let (kind, der) = section.map_err(|e| pem_error(WHAT, &e))?;
            let der = Zeroizing::new(der);
            match kind {
                SectionKind::PrivateKey => return Ok(PrivateKeyDer::Pkcs8(der)),
                SectionKind::RsaPrivateKey => return Ok(PrivateKeyDer::Pkcs1(der)),
                _ => {}
            }
        }
        let found = labels(pem);
        if found.iter().any(|l| l == "ENCRYPTED PRIVATE KEY") {
            return Err(KeyError::Encrypted { what: WHAT });
        }
        if found.iter().any(|l| l == "EC PRIVATE KEY") {
            return Err(KeyError::Rejected {
                what: WHAT,
                reason: NOT_RSA_EC.to_owned(),
            });
        }
        Err(KeyError::NotFound {
            what: WHAT,
            expected: "PRIVATE KEY or RSA PRIVATE KEY",
            found,
        })
    }

    /// Reads a PEM private key file; errors name the file.
    pub fn from_pem_file(path: impl AsRef<Path>) -> Result<Self, KeyError> {
        let path = path.as_ref();
        let pem = read_file("private key", path)?;
        Self::from_pem(&pem[..]).map_err(|e| e.in_file(path))
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

    /// Reads a `PUBLIC KEY` section, a PKCS#1 `RSA PUBLIC KEY` section, or
    /// the public key of a `CERTIFICATE` section.
    pub fn from_pem(pem: impl AsRef<[u8]>) -> Result<Self, KeyError> {
        const WHAT: &str = "public key";
        let pem = pem.as_ref();
        precheck(WHAT, pem)?;
        for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(pem) {
            let (kind, der) = section.map_err(|e| pem_error(WHAT, &e))?;
            match kind {
                SectionKind::PublicKey => return Ok(PublicKeyDer(der)),
                SectionKind::Certificate => return Ok(Certificate::from_der(&der)?.public_key),
                _ => {}
            }
        }
        let found = labels(pem);
        if found.iter().any(|l| l == "RSA PUBLIC KEY") {
            // PKCS#1 (`openssl rsa -RSAPublicKey_out`): the same key, without
            // the algorithm wrapper. The PEM parser only knows the SPKI label.
            let text = String::from_utf8_lossy(pem)
                .replace("BEGIN RSA PUBLIC KEY", "BEGIN PUBLIC KEY")
                .replace("END RSA PUBLIC KEY", "END PUBLIC KEY");
            for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(text.as_bytes()) {
                if let (SectionKind::PublicKey, pkcs1) = section.map_err(|e| pem_error(WHAT, &e))? {
                    return Ok(PublicKeyDer(crate::der::pkcs1_to_spki(&pkcs1)));
                }
            }
        }
        Err(KeyError::NotFound {
            what: WHAT,
            expected: "PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE",
            found,
        })
    }

    /// Reads a PEM public key or certificate file; errors name the file.
    pub fn from_pem_file(path: impl AsRef<Path>) -> Result<Self, KeyError> {
        let path = path.as_ref();
        let pem = read_file("public key", path)?;
        Self::from_pem(&pem[..]).map_err(|e| e.in_file(path))
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
        precheck("certificate", pem.as_ref())?;
        let der = CertificateDer::from_pem_slice(pem.as_ref()).map_err(|e| match e {
            pem::Error::NoItemsFound => KeyError::NotFound {
                what: "certificate",
                expected: "CERTIFICATE",
                found: labels(pem.as_ref()),
            },
            other => pem_error("certificate", &other),
        })?;
        Self::from_der(der.as_ref())
    }

    /// Reads a PEM certificate file; errors name the file.
    pub fn from_pem_file(path: impl AsRef<Path>) -> Result<Self, KeyError> {
        let path = path.as_ref();
        let pem = read_file("certificate", path)?;
        Self::from_pem(&pem[..]).map_err(|e| e.in_file(path))
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

/// Why a key is not usable, in words (never a backend's internal error name).
pub(crate) const NOT_RSA_EC: &str =
    "an EC key; WeChat Pay APIv3 signs and verifies with RSA keys (2048 bits)";

/// A backend's refusal of `der` restated for a person: the algorithm or
/// size that is wrong, rather than the backend's own error name.
pub(crate) fn readable_rejection(what: &'static str, der: &[u8], backend_reason: &str) -> KeyError {
    use crate::der::{mentions_oid, OID_EC, OID_ED25519, OID_RSA};
    let lower = backend_reason.to_ascii_lowercase();
    let reason = if mentions_oid(der, OID_EC) {
        NOT_RSA_EC.to_owned()
    } else if mentions_oid(der, OID_ED25519) {
        "an Ed25519 key; WeChat Pay APIv3 signs and verifies with RSA keys (2048 bits)".to_owned()
    } else if lower.contains("toosmall") || lower.contains("too small") {
        "the RSA key is shorter than 2048 bits; WeChat Pay APIv3 uses RSA 2048".to_owned()
    } else if lower.contains("toolarge") || lower.contains("too large") {
        "the RSA key is longer than 8192 bits".to_owned()
    } else if !mentions_oid(der, OID_RSA) && what == "public key" {
        "not an RSA public key".to_owned()
    } else {
        "not a valid RSA key (the data inside the PEM section does not decode as one)".to_owned()
    };
    KeyError::Rejected { what, reason }
}

/// Refuses what is certainly not PEM text (binary DER) before parsing.
fn precheck(what: &'static str, data: &[u8]) -> Result<(), KeyError> {
    if !contains(data, b"-----BEGIN ") && data.first() == Some(&crate::der::SEQUENCE) {
        return Err(KeyError::Der { what });
    }
    Ok(())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The labels of every `-----BEGIN LABEL-----` line, in order (bounded).
fn labels(pem: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(pem);
    text.lines()
        .filter_map(|line| {
            line.trim()
                .strip_prefix("-----BEGIN ")?
                .strip_suffix("-----")
                .map(|l| crate::text::truncate(l, 40))
        })
        .take(8)
        .collect()
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

/// Reads at most [`MAX_KEY_FILE_BYTES`] of a key file (a larger one, or a
/// device such as `/dev/zero`, is refused rather than read whole).
fn read_file(what: &'static str, path: &Path) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    use std::io::Read as _;
    let io = |message: String| KeyError::Io {
        what,
        path: path.to_owned(),
        message,
    };
    let file = std::fs::File::open(path).map_err(|e| io(e.to_string()))?;
    let mut out = Zeroizing::new(Vec::new());
    file.take(MAX_KEY_FILE_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| io(e.to_string()))?;
    if out.len() as u64 > MAX_KEY_FILE_BYTES {
        return Err(io(format!(
            "larger than {MAX_KEY_FILE_BYTES} bytes, which no key or certificate file is"
        )));
    }
    Ok(out)
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
