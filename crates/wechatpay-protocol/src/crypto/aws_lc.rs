//! The default backend: aws-lc-rs.

use std::fmt;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ParsedPublicKey, RsaKeyPair, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256,
};

use super::{SignError, Signer, Verifier};
use crate::keys::{KeyError, PrivateKeyDer, PublicKeyDer};

/// Signs with aws-lc-rs.
pub struct AwsLcSigner {
    key: RsaKeyPair,
    rng: SystemRandom,
}

impl AwsLcSigner {
    /// Loads a PKCS#8 or PKCS#1 RSA private key (2048 to 8192 bits).
    pub fn new(key: &PrivateKeyDer) -> Result<Self, KeyError> {
        let parsed = match key {
            PrivateKeyDer::Pkcs8(der) => RsaKeyPair::from_pkcs8(der),
            PrivateKeyDer::Pkcs1(der) => RsaKeyPair::from_der(der),
        };
        let key = parsed.map_err(|e| KeyError::Rejected {
            what: "private key",
            reason: e.to_string(),
        })?;
        Ok(AwsLcSigner {
            key,
            rng: SystemRandom::new(),
        })
    }
}

impl Signer for AwsLcSigner {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, &self.rng, message, &mut signature)
            .map_err(|_| SignError {
                backend: "aws-lc-rs",
            })?;
        Ok(signature)
    }
}

impl fmt::Debug for AwsLcSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsLcSigner")
            .field("modulus_bits", &(self.key.public_modulus_len() * 8))
            .finish_non_exhaustive()
    }
}

/// Verifies with aws-lc-rs.
pub struct AwsLcVerifier {
    key: ParsedPublicKey,
}

impl AwsLcVerifier {
    /// Loads a DER `SubjectPublicKeyInfo` RSA public key.
    pub fn new(key: &PublicKeyDer) -> Result<Self, KeyError> {
        let key = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key.der()).map_err(|e| {
            KeyError::Rejected {
                what: "public key",
                reason: e.to_string(),
            }
        })?;
        Ok(AwsLcVerifier { key })
    }
}

impl Verifier for AwsLcVerifier {
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.key.verify_sig(message, signature).is_ok()
    }
}

impl fmt::Debug for AwsLcVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsLcVerifier").finish_non_exhaustive()
    }
}
