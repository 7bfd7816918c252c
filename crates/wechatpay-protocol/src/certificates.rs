//! Platform certificates, for merchants not (only) on WeChat Pay public keys:
//! reading a `GET /v3/certificates` reply.
//!
//! The download itself is an HTTP call (wechatpay-transport's client makes
//! it), whose signature must be checked with a key that is already trusted (a
//! configured public key or certificate, or one downloaded earlier) before
//! anything in it is believed. [`decrypt_certificates`] then decrypts each
//! `encrypt_certificate` with the APIv3 key (AEAD_AES_256_GCM, as
//! notifications are); each must be a parsable X.509 certificate whose serial
//! is the listed `serial_no`.

use std::fmt;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use serde::Deserialize;
use wechatpay_runtime::DateTime;

use crate::der::certificate_validity;
use crate::keys::Certificate;
use crate::notification::{decrypt_resource, ApiV3Key, EncryptedResource};
use crate::text::truncate;

/// The download endpoint.
pub const CERTIFICATES_PATH: &str = "/v3/certificates";
/// The operation id the client logs the download under.
pub const OPERATION_ID: &str = "download-certificates";
/// The error code of a 404 that means "this merchant uses public keys only".
pub const PUBLIC_KEY_ONLY_CODE: &str = "RESOURCE_NOT_EXISTS";

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
    /// Serial and public key, ready for a [`PublicKeyStore`](crate::keystore::PublicKeyStore).
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
    Envelope {
        /// What does not fit (the JSON error, cut short).
        reason: String,
    },
    /// One listed certificate is unusable.
    #[error("certificate download: certificate {serial_no}: {reason}")]
    Entry {
        /// The listed `serial_no` (cut short).
        serial_no: String,
        /// What is wrong with it.
        reason: String,
    },
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
    let (not_before, not_after) = certificate_validity(der.as_ref())
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

#[cfg(test)]
mod tests {
    use super::*;

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
