//! The pure-Rust backend: the `rsa` crate (feature `rsa-backend`).
//!
//! Slower than aws-lc-rs and subject to RUSTSEC-2023-0071 (Marvin timing side
//! channel); offered for builds that must avoid C code. Signing goes through
//! `sign_with_rng` so RSA blinding is used.

use std::fmt;

use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::rand_core::OsRng;
use rsa::sha2::Sha256;
use rsa::signature::{RandomizedSigner, SignatureEncoding, Verifier as _};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};

use super::{SignError, Signer, Verifier};
use crate::keys::{KeyError, PrivateKeyDer, PublicKeyDer};

/// Signs with the `rsa` crate.
pub struct RsaCrateSigner {
    key: SigningKey<Sha256>,
    bits: usize,
}

impl RsaCrateSigner {
    /// Loads a PKCS#8 or PKCS#1 RSA private key.
    pub fn new(key: &PrivateKeyDer) -> Result<Self, KeyError> {
        let parsed = match key {
            PrivateKeyDer::Pkcs8(der) => {
                RsaPrivateKey::from_pkcs8_der(der).map_err(|e| e.to_string())
            }
            PrivateKeyDer::Pkcs1(der) => {
                RsaPrivateKey::from_pkcs1_der(der).map_err(|e| e.to_string())
            }
        };
        let key = parsed.map_err(|reason| KeyError::Rejected {
            what: "private key",
            reason,
        })?;
        let bits = key.size() * 8;
        Ok(RsaCrateSigner {
            key: SigningKey::new(key),
            bits,
        })
    }
}

impl Signer for RsaCrateSigner {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        self.key
            .try_sign_with_rng(&mut OsRng, message)
            .map(|s| s.to_vec())
            .map_err(|_| SignError { backend: "rsa" })
    }
}

impl fmt::Debug for RsaCrateSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaCrateSigner")
            .field("modulus_bits", &self.bits)
            .finish_non_exhaustive()
    }
}

/// Verifies with the `rsa` crate.
pub struct RsaCrateVerifier {
    key: VerifyingKey<Sha256>,
}

impl RsaCrateVerifier {
    /// Loads a DER `SubjectPublicKeyInfo` RSA public key.
    pub fn new(key: &PublicKeyDer) -> Result<Self, KeyError> {
        let key = RsaPublicKey::from_public_key_der(key.der()).map_err(|e| KeyError::Rejected {
            what: "public key",
            reason: e.to_string(),
        })?;
        Ok(RsaCrateVerifier {
            key: VerifyingKey::new(key),
        })
    }
}

impl Verifier for RsaCrateVerifier {
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match Signature::try_from(signature) {
            Ok(signature) => self.key.verify(message, &signature).is_ok(),
            Err(_) => false,
        }
    }
}

impl fmt::Debug for RsaCrateVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaCrateVerifier").finish_non_exhaustive()
    }
}
