//! SHA256withRSA signing and verification behind two small traits.
//!
//! WeChat Pay APIv3 signs with RSASSA-PKCS1-v1_5 over SHA-256. The rest of the
//! crate only sees [`Signer`] and [`Verifier`]; [`Backend`] picks the
//! implementation: [`aws_lc`] (default, the same library rustls already links)
//! or `rsa_crate` (pure Rust, feature `rsa-backend`).

pub mod aws_lc;
#[cfg(feature = "rsa-backend")]
pub mod rsa_crate;

use std::fmt;
use std::sync::Arc;

use crate::keys::{KeyError, PrivateKeyDer, PublicKeyDer};

/// Produces SHA256withRSA (PKCS#1 v1.5) signatures with a private key.
///
/// Implementations must not print key material in `Debug`.
pub trait Signer: Send + Sync + fmt::Debug {
    /// Signs `message`, returning the raw signature bytes (not Base64).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError>;
}

/// Checks SHA256withRSA (PKCS#1 v1.5) signatures with a public key.
pub trait Verifier: Send + Sync + fmt::Debug {
    /// Whether `signature` (raw bytes) is valid for `message`.
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool;
}

/// The backend failed to produce a signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("signing failed in the {backend} backend")]
pub struct SignError {
    /// The backend's name.
    pub backend: &'static str,
}

/// Which implementation signs and verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Backend {
    /// aws-lc-rs (default): fast, constant-time, already linked by rustls.
    #[default]
    AwsLc,
    /// The pure-Rust `rsa` crate (feature `rsa-backend`).
    #[cfg(feature = "rsa-backend")]
    RsaCrate,
}

impl Backend {
    /// A short name for logs and benchmarks.
    pub fn name(self) -> &'static str {
        match self {
            Backend::AwsLc => "aws-lc-rs",
            #[cfg(feature = "rsa-backend")]
            Backend::RsaCrate => "rsa",
        }
    }

    /// Loads a private key into a signer. A refusal says what is wrong with
    /// the key (an EC key, fewer than 2048 bits, …), not the backend's error name.
    pub fn signer(self, key: &PrivateKeyDer) -> Result<Arc<dyn Signer>, KeyError> {
        let signer: Result<Arc<dyn Signer>, KeyError> = match self {
            Backend::AwsLc => aws_lc::AwsLcSigner::new(key).map(|s| Arc::new(s) as _),
            #[cfg(feature = "rsa-backend")]
            Backend::RsaCrate => rsa_crate::RsaCrateSigner::new(key).map(|s| Arc::new(s) as _),
        };
        signer.map_err(|e| readable(e, "private key", key.der()))
    }

    /// Loads an RSA public key (2048 to 8192 bits) into a verifier.
    pub fn verifier(self, key: &PublicKeyDer) -> Result<Arc<dyn Verifier>, KeyError> {
        // Checked here so that every backend refuses a short key up front,
        // rather than accept it and fail every signature later.
        if let Some(bits) = crate::der::spki_rsa_bits(key.der()) {
            if bits < 2048 {
                return Err(KeyError::Rejected {
                    what: "public key",
                    reason: format!("the RSA key has {bits} bits; WeChat Pay APIv3 uses RSA 2048"),
                });
            }
        }
        let verifier: Result<Arc<dyn Verifier>, KeyError> = match self {
            Backend::AwsLc => aws_lc::AwsLcVerifier::new(key).map(|v| Arc::new(v) as _),
            #[cfg(feature = "rsa-backend")]
            Backend::RsaCrate => rsa_crate::RsaCrateVerifier::new(key).map(|v| Arc::new(v) as _),
        };
        verifier.map_err(|e| readable(e, "public key", key.der()))
    }
}

fn readable(error: KeyError, what: &'static str, der: &[u8]) -> KeyError {
    match error {
        KeyError::Rejected { reason, .. } => crate::keys::readable_rejection(what, der, &reason),
        other => other,
    }
}

/// A default-backend signer from a PEM private key (PKCS#8 or PKCS#1).
pub fn signer_from_pem(pem: impl AsRef<[u8]>) -> Result<Arc<dyn Signer>, KeyError> {
    Backend::default().signer(&PrivateKeyDer::from_pem(pem)?)
}

/// A default-backend verifier from a PEM public key or X.509 certificate.
pub fn verifier_from_pem(pem: impl AsRef<[u8]>) -> Result<Arc<dyn Verifier>, KeyError> {
    Backend::default().verifier(&PublicKeyDer::from_pem(pem)?)
}
