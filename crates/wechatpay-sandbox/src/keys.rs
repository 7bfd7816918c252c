//! The sandbox's identities and keys: generated into the keys directory on
//! first start, reused on later starts.
//!
//! Files: `apiclient_key.pem` (the merchant/brand private key clients sign
//! with) and `apiclient_pub.pem`; `wxp_key.pem` (the sandbox's WeChat Pay
//! private key) and `wxp_pub.pem` (what clients verify replies with);
//! `sandbox.json` (mchid, brand_id, serial_no, public_key_id, apiv3_key) and
//! `profile.toml` (the same, usable with `--profile`). `sandbox.json` is
//! written last, so an interrupted first start is simply redone.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use wechatpay_transport::crypto::{signer_from_pem, verifier_from_pem, Signer, Verifier};
use wechatpay_transport::sign::generate_nonce;

use crate::error::SandboxError;

/// The merchant/brand private key a client signs with.
pub const CLIENT_KEY_FILE: &str = "apiclient_key.pem";
/// The public half of [`CLIENT_KEY_FILE`] (the sandbox verifies requests with it).
pub const CLIENT_PUB_FILE: &str = "apiclient_pub.pem";
/// The sandbox's WeChat Pay private key (signs replies).
pub const WXP_KEY_FILE: &str = "wxp_key.pem";
/// The sandbox's WeChat Pay public key (clients verify replies with it).
pub const WXP_PUB_FILE: &str = "wxp_pub.pem";
/// Identities, as JSON.
pub const IDENTITY_FILE: &str = "sandbox.json";
/// Identities and key paths, as a `--profile` TOML file.
pub const PROFILE_FILE: &str = "profile.toml";

/// The identities in `sandbox.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The merchant id merchant-signed requests must carry.
    pub mchid: String,
    /// The brand id brand-signed requests must carry.
    pub brand_id: String,
    /// Serial number of the (notional) API certificate of the client key.
    pub serial_no: String,
    /// The id of the sandbox's WeChat Pay public key (`PUB_KEY_ID_…`).
    pub public_key_id: String,
    /// The APIv3 key (32 characters) that encrypts `GET /v3/certificates`;
    /// generated into older files that lack it.
    #[serde(default)]
    pub apiv3_key: String,
    /// The service provider's merchant id partner-signed requests must carry (it signs
    /// with the same `apiclient_key.pem` and `serial_no`); generated into older files.
    #[serde(default)]
    pub sp_mchid: String,
    /// Brands that authorised the service provider (`brand_id` first).
    #[serde(default)]
    pub authorized_brand_ids: Vec<String>,
    /// Brands that did not: a partner call for one is refused with 403 NO_AUTH.
    #[serde(default)]
    pub unauthorized_brand_ids: Vec<String>,
}

impl Identity {
    /// Whether the service provider may act for `brand_id`.
    pub fn authorises(&self, brand_id: &str) -> bool {
        self.authorized_brand_ids.iter().any(|b| b == brand_id)
    }

    /// Whether `brand_id` is one of the brands of `sandbox.json` (each signs brand
    /// calls for itself with the directory's key).
    pub fn knows_brand(&self, brand_id: &str) -> bool {
        self.brand_id == brand_id
            || self.authorises(brand_id)
            || self.unauthorized_brand_ids.iter().any(|b| b == brand_id)
    }
}

/// Everything the sandbox needs to check requests and sign replies.
#[derive(Debug, Clone)]
pub struct SandboxKeys {
    /// The directory the keys and `sandbox.json` live in.
    pub dir: PathBuf,
    /// The identities the sandbox accepts.
    pub identity: Identity,
    /// Verifies client requests (public half of `apiclient_key.pem`).
    pub client_verifier: Arc<dyn Verifier>,
    /// Signs replies (`wxp_key.pem`).
    pub reply_signer: Arc<dyn Signer>,
}

impl SandboxKeys {
    /// Loads the keys from `dir`, generating them first if `sandbox.json` is absent.
    /// Returns the keys and whether they were generated now.
    pub fn load_or_create(dir: &Path) -> Result<(SandboxKeys, bool), SandboxError> {
        let created = !dir.join(IDENTITY_FILE).exists();
        if created {
            generate(dir)?;
        }
        Ok((load(dir)?, created))
    }
}

fn io_error(action: &'static str, path: &Path, e: std::io::Error) -> SandboxError {
    SandboxError::File {
        action,
        path: path.to_owned(),
        hint: String::new(),
        source: e,
    }
}

fn generate(dir: &Path) -> Result<(), SandboxError> {
    std::fs::create_dir_all(dir).map_err(|e| io_error("create", dir, e))?;
    let (client_key, client_pub) = new_key_pair()?;
    let (wxp_key, wxp_pub) = new_key_pair()?;
    write(dir, CLIENT_KEY_FILE, &client_key, true)?;
    write(dir, CLIENT_PUB_FILE, &client_pub, false)?;
    write(dir, WXP_KEY_FILE, &wxp_key, true)?;
    write(dir, WXP_PUB_FILE, &wxp_pub, false)?;
    let identity = Identity {
        mchid: format!("19{}", random_digits(8)),
        brand_id: format!("12{}", random_digits(8)),
        serial_no: random_hex(20),
        public_key_id: format!("PUB_KEY_ID_01{}", random_digits(26)),
        apiv3_key: new_apiv3_key(),
        sp_mchid: String::new(),
        authorized_brand_ids: Vec::new(),
        unauthorized_brand_ids: Vec::new(),
    };
    let mut identity = identity;
    fill_tenants(&mut identity);
    let profile = format!(
        "# Written by `wechatpay sandbox`: use with --profile (paths are relative to this file).\n\
         mchid = \"{}\"\nbrand_id = \"{}\"\nserial_no = \"{}\"\npublic_key_id = \"{}\"\n\
         private_key = \"{CLIENT_KEY_FILE}\"\npublic_key = \"{WXP_PUB_FILE}\"\n",
        identity.mchid, identity.brand_id, identity.serial_no, identity.public_key_id
    );
    // Both hold what a client signs with or decrypts with (the profile names
    // the private key; sandbox.json holds the APIv3 key): owner only.
    write(dir, PROFILE_FILE, profile.as_bytes(), true)?;
    let json = serde_json::to_vec_pretty(&identity)
        .map_err(|e| SandboxError::internal_source("cannot serialize sandbox.json", e))?;
    write(dir, IDENTITY_FILE, &json, true)
}

fn load(dir: &Path) -> Result<SandboxKeys, SandboxError> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read(&path).map_err(|e| SandboxError::File {
            action: "read",
            hint: format!(
                " (remove {} to generate fresh sandbox keys)",
                dir.join(IDENTITY_FILE).display()
            ),
            path,
            source: e,
        })
    };
    let mut identity: Identity =
        serde_json::from_slice(&read(IDENTITY_FILE)?).map_err(|e| SandboxError::Identity {
            path: dir.join(IDENTITY_FILE),
            source: e,
        })?;
    let key_error = |name: &str| {
        let path = dir.join(name);
        move |e| SandboxError::Key { path, source: e }
    };
    ensure_apiv3_key(dir, &mut identity)?;
    let client_verifier =
        verifier_from_pem(read(CLIENT_PUB_FILE)?).map_err(key_error(CLIENT_PUB_FILE))?;
    let reply_signer = signer_from_pem(read(WXP_KEY_FILE)?).map_err(key_error(WXP_KEY_FILE))?;
    let client_signer =
        signer_from_pem(read(CLIENT_KEY_FILE)?).map_err(key_error(CLIENT_KEY_FILE))?;
    let wxp_verifier = verifier_from_pem(read(WXP_PUB_FILE)?).map_err(key_error(WXP_PUB_FILE))?;
    check_pair(
        dir,
        (CLIENT_KEY_FILE, client_signer.as_ref()),
        (CLIENT_PUB_FILE, client_verifier.as_ref()),
    )?;
    check_pair(
        dir,
        (WXP_KEY_FILE, reply_signer.as_ref()),
        (WXP_PUB_FILE, wxp_verifier.as_ref()),
    )?;
    Ok(SandboxKeys {
        dir: dir.to_owned(),
        identity,
        client_verifier,
        reply_signer,
    })
}

/// Refuses a private key and a public key file that are not one pair: requests
/// signed with the one would never verify with the other.
fn check_pair(
    dir: &Path,
    (private_name, signer): (&str, &dyn Signer),
    (public_name, verifier): (&str, &dyn Verifier),
) -> Result<(), SandboxError> {
    let probe = b"wechatpay-sandbox key pair check";
    let matches = signer
        .sign(probe)
        .map(|signature| verifier.verify(probe, &signature))
        .unwrap_or(false);
    if matches {
        Ok(())
    } else {
        Err(SandboxError::config(format!(
            "{} and {} are not one key pair (remove {} to generate fresh sandbox keys)",
            dir.join(private_name).display(),
            dir.join(public_name).display(),
            dir.join(IDENTITY_FILE).display()
        )))
    }
}

/// A fresh RSA-2048 key pair as PEM: PKCS#8 private key and SPKI public key.
fn new_key_pair() -> Result<(Vec<u8>, Vec<u8>), SandboxError> {
    let fail = |e| SandboxError::internal_source("RSA key generation failed", e);
    let pair = KeyPair::generate(KeySize::Rsa2048).map_err(fail)?;
    let private = pair.as_der().map_err(fail)?;
    let public = pair.public_key().as_der().map_err(fail)?;
    Ok((
        pem("PRIVATE KEY", private.as_ref()),
        pem("PUBLIC KEY", public.as_ref()),
    ))
}

/// PEM armour: Base64 in 64-character lines.
fn pem(label: &str, der: &[u8]) -> Vec<u8> {
    let b64 = BASE64.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out.into_bytes()
}

/// A fresh APIv3 key: 32 characters of `[0-9A-Za-z]`.
pub fn new_apiv3_key() -> String {
    generate_nonce()
}

/// Gives a `sandbox.json` written before the APIv3 key existed one, and
/// writes it back so later starts reuse it.
pub fn ensure_apiv3_key(dir: &Path, identity: &mut Identity) -> Result<(), SandboxError> {
    let tenants_missing = fill_tenants(identity);
    if !identity.apiv3_key.is_empty() && !tenants_missing {
        return Ok(());
    }
    if identity.apiv3_key.is_empty() {
        identity.apiv3_key = new_apiv3_key();
    }
    let json = serde_json::to_vec_pretty(identity)
        .map_err(|e| SandboxError::internal_source("cannot serialize sandbox.json", e))?;
    write(dir, IDENTITY_FILE, &json, true)
}

/// The service provider and its tenants, for a file written before they existed: two
/// more authorised brands beside `brand_id` and one that did not authorise the provider.
/// Returns whether anything was added.
fn fill_tenants(identity: &mut Identity) -> bool {
    let mut added = false;
    if identity.sp_mchid.is_empty() {
        identity.sp_mchid = format!("16{}", random_digits(8));
        added = true;
    }
    if !identity.authorises(&identity.brand_id) {
        identity
            .authorized_brand_ids
            .insert(0, identity.brand_id.clone());
        added = true;
    }
    while identity.authorized_brand_ids.len() < 3 {
        identity
            .authorized_brand_ids
            .push(format!("12{}", random_digits(8)));
        added = true;
    }
    if identity.unauthorized_brand_ids.is_empty() {
        identity
            .unauthorized_brand_ids
            .push(format!("13{}", random_digits(8)));
        added = true;
    }
    added
}

/// Writes `name` in `dir`; a `private` file is the owner's only (0600), also
/// when it existed with wider permissions.
pub(crate) fn write(
    dir: &Path,
    name: &str,
    contents: &[u8],
    private: bool,
) -> Result<(), SandboxError> {
    let path = dir.join(name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options
        .open(&path)
        .map_err(|e| io_error("write", &path, e))?;
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| io_error("write", &path, e))?;
    }
    std::io::Write::write_all(&mut file, contents).map_err(|e| io_error("write", &path, e))
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    // AWS-LC's RAND_bytes aborts rather than fail.
    aws_lc_rs::rand::fill(&mut buf).expect("the system CSPRNG failed");
    buf
}

fn random_digits(n: usize) -> String {
    random_bytes(n)
        .iter()
        .map(|b| char::from(b'0' + b % 10))
        .collect()
}

/// `n` random bytes as upper-case hex (a certificate serial is 20 bytes).
pub fn random_hex(n: usize) -> String {
    random_bytes(n).iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_then_reuses() {
        let dir = tempfile::tempdir().unwrap();
        let (first, created) = SandboxKeys::load_or_create(dir.path()).unwrap();
        assert!(created);
        let (second, created) = SandboxKeys::load_or_create(dir.path()).unwrap();
        assert!(!created);
        assert_eq!(first.identity, second.identity);
        assert!(first.identity.public_key_id.starts_with("PUB_KEY_ID_"));
        // The generated client key signs what the sandbox verifies.
        let signer =
            signer_from_pem(std::fs::read(dir.path().join(CLIENT_KEY_FILE)).unwrap()).unwrap();
        let sig = signer.sign(b"m").unwrap();
        assert!(second.client_verifier.verify(b"m", &sig));
        let sig = second.reply_signer.sign(b"r").unwrap();
        let wxp = verifier_from_pem(std::fs::read(dir.path().join(WXP_PUB_FILE)).unwrap()).unwrap();
        assert!(wxp.verify(b"r", &sig));
        // Secrets (private keys, the APIv3 key in sandbox.json, the profile naming
        // the key) are the owner's only; the public keys may be read by anyone.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |name: &str| {
                std::fs::metadata(dir.path().join(name))
                    .unwrap()
                    .permissions()
                    .mode()
                    & 0o777
            };
            for name in [CLIENT_KEY_FILE, WXP_KEY_FILE, IDENTITY_FILE, PROFILE_FILE] {
                assert_eq!(mode(name), 0o600, "{name}");
            }
            // An older sandbox.json without the APIv3 key, world-readable, is
            // given one and tightened when written back.
            let path = dir.path().join(IDENTITY_FILE);
            let mut old: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            old["apiv3_key"] = serde_json::json!("");
            std::fs::write(&path, old.to_string()).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            SandboxKeys::load_or_create(dir.path()).unwrap();
            assert_eq!(mode(IDENTITY_FILE), 0o600);
        }
    }

    #[test]
    fn key_pairs_that_do_not_match_refuse_to_start() {
        let dir = tempfile::tempdir().unwrap();
        SandboxKeys::load_or_create(dir.path()).unwrap();
        let other = tempfile::tempdir().unwrap();
        SandboxKeys::load_or_create(other.path()).unwrap();
        for (private, public) in [
            (CLIENT_KEY_FILE, CLIENT_PUB_FILE),
            (WXP_KEY_FILE, WXP_PUB_FILE),
        ] {
            let saved = std::fs::read(dir.path().join(public)).unwrap();
            std::fs::copy(other.path().join(public), dir.path().join(public)).unwrap();
            let e = SandboxKeys::load_or_create(dir.path())
                .unwrap_err()
                .to_string();
            assert!(e.contains(private) && e.contains("not one key pair"), "{e}");
            std::fs::write(dir.path().join(public), saved).unwrap();
        }
        assert!(SandboxKeys::load_or_create(dir.path()).is_ok());
    }

    #[test]
    fn an_older_sandbox_json_gets_an_apiv3_key_once() {
        let dir = tempfile::tempdir().unwrap();
        let (keys, _) = SandboxKeys::load_or_create(dir.path()).unwrap();
        // As written before the key existed.
        let path = dir.path().join(IDENTITY_FILE);
        let mut old: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        old.as_object_mut().unwrap().remove("apiv3_key");
        std::fs::write(&path, serde_json::to_vec(&old).unwrap()).unwrap();
        let (first, created) = SandboxKeys::load_or_create(dir.path()).unwrap();
        assert!(!created);
        assert_eq!(first.identity.apiv3_key.len(), 32);
        assert_ne!(first.identity.apiv3_key, keys.identity.apiv3_key);
        assert_eq!(first.identity.mchid, keys.identity.mchid);
        let (second, _) = SandboxKeys::load_or_create(dir.path()).unwrap();
        assert_eq!(
            second.identity.apiv3_key, first.identity.apiv3_key,
            "persisted"
        );
    }
}
