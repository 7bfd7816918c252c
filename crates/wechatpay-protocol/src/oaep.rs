//! Encrypting sensitive request fields (names, phone numbers, …) with the
//! WeChat Pay public key: RSAES-OAEP with SHA-1 and MGF1-SHA1, Base64 output.
//!
//! A request carrying such fields must name the same key in its
//! `Wechatpay-Serial` header (wechatpay-transport's `Client::encrypt_sensitive`
//! uses the key the client names).

use std::fmt;

use aws_lc_rs::rsa::{OaepPublicEncryptingKey, PublicEncryptingKey, OAEP_SHA1_MGF1SHA1};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use crate::keys::{KeyError, PublicKeyDer};

/// Why a field could not be encrypted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OaepError {
    /// The plaintext is longer than OAEP allows for the key size.
    #[error("plaintext is {len} bytes; at most {max} fit this key")]
    TooLong {
        /// The plaintext's length.
        len: usize,
        /// The most this key takes.
        max: usize,
    },
    /// The backend failed.
    #[error("OAEP encryption failed")]
    Failed,
    /// The serial the client sends names no public key it holds (a bare custom verifier).
    #[error("no public key is configured for the client's Wechatpay-Serial")]
    NoPublicKey,
}

/// Encrypts sensitive fields with one WeChat Pay public key.
pub struct SensitiveEncryptor {
    key: OaepPublicEncryptingKey,
}

impl SensitiveEncryptor {
    /// Loads a DER `SubjectPublicKeyInfo` RSA public key.
    pub fn new(key: &PublicKeyDer) -> Result<Self, KeyError> {
        let rejected = |reason: String| KeyError::Rejected {
            what: "public key",
            reason,
        };
        let key = PublicEncryptingKey::from_der(key.der()).map_err(|e| rejected(e.to_string()))?;
        let key = OaepPublicEncryptingKey::new(key).map_err(|e| rejected(e.to_string()))?;
        Ok(SensitiveEncryptor { key })
    }

    /// Loads a PEM public key or platform certificate.
    pub fn from_pem(pem: impl AsRef<[u8]>) -> Result<Self, KeyError> {
        Self::new(&PublicKeyDer::from_pem(pem)?)
    }

    /// The longest plaintext this key can encrypt (214 bytes for RSA-2048).
    pub fn max_plaintext_len(&self) -> usize {
        self.key.max_plaintext_size(&OAEP_SHA1_MGF1SHA1)
    }

    /// Encrypts `plaintext`; returns Base64 of the ciphertext.
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<String, OaepError> {
        let max = self.max_plaintext_len();
        if plaintext.len() > max {
            return Err(OaepError::TooLong {
                len: plaintext.len(),
                max,
            });
        }
        let mut out = vec![0; self.key.ciphertext_size()];
        let ciphertext = self
            .key
            .encrypt(&OAEP_SHA1_MGF1SHA1, plaintext, &mut out, None)
            .map_err(|_| OaepError::Failed)?;
        Ok(BASE64.encode(ciphertext))
    }
}

impl fmt::Debug for SensitiveEncryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SensitiveEncryptor")
            .field("key_bits", &self.key.key_size_bits())
            .finish()
    }
}
