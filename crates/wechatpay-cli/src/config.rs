//! Settings from flags, environment variables (both through clap) and a TOML
//! profile, in that order of precedence; and loading the keys they name.
//!
//! Secrets (private key contents, the APIv3 key) are never part of a message:
//! errors name the file or setting, not the value.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use wechatpay_transport::AuthScheme;

use crate::args::ConnArgs;
use crate::exit::CliError;

/// The default API base URL (the main host).
pub const DEFAULT_BASE_URL: &str = wechatpay_runtime::hosts::MAIN_HOST;

/// A value that must never be printed.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A TOML profile: every key optional, unknown keys rejected.
///
/// ```toml
/// base_url = "http://127.0.0.1:8080"
/// mchid = "1900000001"
/// brand_id = "120000000001"
/// serial_no = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
/// private_key = "apiclient_key.pem"      # relative to this file's directory
/// public_key_id = "PUB_KEY_ID_0114232134912410000000000000"
/// public_key = "wxp_pub.pem"
/// apiv3_key = "..."                     # only for `verify` of notifications
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub base_url: Option<String>,
    pub mchid: Option<String>,
    pub brand_id: Option<String>,
    pub serial_no: Option<String>,
    pub private_key: Option<PathBuf>,
    pub public_key_id: Option<String>,
    pub public_key: Option<PathBuf>,
    pub apiv3_key: Option<Secret>,
}

impl Profile {
    /// Reads a profile file; relative key paths become relative to its directory.
    pub fn load(path: &Path) -> Result<Profile, CliError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            CliError::config(format!("cannot read profile {}: {e}", path.display()))
        })?;
        let mut profile: Profile = toml::from_str(&text).map_err(|e| {
            // toml's message quotes the offending line, which could hold a secret:
            // keep only its first line (the reason and position).
            let reason = e
                .message()
                .lines()
                .next()
                .unwrap_or("invalid TOML")
                .to_owned();
            let at = e
                .span()
                .map(|s| {
                    let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                    format!(" (line {line})")
                })
                .unwrap_or_default();
            CliError::config(format!("profile {}{at}: {reason}", path.display()))
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        for key in [&mut profile.private_key, &mut profile.public_key] {
            if let Some(p) = key.as_mut() {
                if p.is_relative() {
                    *p = base.join(&*p);
                }
            }
        }
        Ok(profile)
    }
}

/// Settings after merging flags, environment and profile.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub base_url: String,
    pub mchid: Option<String>,
    pub brand_id: Option<String>,
    pub serial_no: Option<String>,
    pub private_key: Option<PathBuf>,
    pub public_key_id: Option<String>,
    pub public_key: Option<PathBuf>,
    pub apiv3_key: Option<Secret>,
}

impl Settings {
    /// Merges `args` (flags and environment, already resolved by clap) over the profile they name.
    pub fn resolve(args: &ConnArgs, apiv3_key: Option<&str>) -> Result<Settings, CliError> {
        let profile = match &args.profile {
            Some(path) => Profile::load(path)?,
            None => Profile::default(),
        };
        let pick = |flag: &Option<String>, prof: Option<String>| {
            flag.clone().filter(|v| !v.is_empty()).or(prof)
        };
        let pick_path = |flag: &Option<PathBuf>, prof: Option<PathBuf>| {
            flag.clone().filter(|v| !v.as_os_str().is_empty()).or(prof)
        };
        Ok(Settings {
            base_url: pick(&args.base_url, profile.base_url)
                .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned())
                .trim_end_matches('/')
                .to_owned(),
            mchid: pick(&args.mchid, profile.mchid),
            brand_id: pick(&args.brand_id, profile.brand_id),
            serial_no: pick(&args.serial_no, profile.serial_no),
            private_key: pick_path(&args.private_key, profile.private_key),
            public_key_id: pick(&args.public_key_id, profile.public_key_id),
            public_key: pick_path(&args.public_key, profile.public_key),
            apiv3_key: apiv3_key
                .filter(|k| !k.is_empty())
                .map(Secret::new)
                .or(profile.apiv3_key),
        })
    }

    /// The identity for `scheme`: mchid for merchant operations, brand_id for brand ones.
    pub fn identity(&self, scheme: AuthScheme) -> Result<&str, CliError> {
        let (value, flag, env) = match scheme {
            AuthScheme::Merchant => (&self.mchid, "--mchid", "WECHATPAY_MCHID"),
            AuthScheme::Brand => (&self.brand_id, "--brand-id", "WECHATPAY_BRAND_ID"),
        };
        value.as_deref().ok_or_else(|| {
            let kind = match scheme {
                AuthScheme::Merchant => "a merchant operation needs mchid",
                AuthScheme::Brand => "a brand operation needs brand_id",
            };
            CliError::config(format!(
                "{kind}: set {flag}, {env} or `{}` in the profile",
                &flag[2..].replace('-', "_")
            ))
        })
    }

    /// A required plain setting, with where to set it in the error.
    pub fn require<'a>(
        &self,
        value: &'a Option<String>,
        flag: &str,
        env: &str,
    ) -> Result<&'a str, CliError> {
        value.as_deref().ok_or_else(|| {
            CliError::config(format!(
                "missing {}: set {flag}, {env} or `{}` in the profile",
                &flag[2..],
                flag[2..].replace('-', "_")
            ))
        })
    }

    /// The signer for the private key file.
    pub fn signer(&self) -> Result<Arc<dyn wechatpay_transport::crypto::Signer>, CliError> {
        let path = self.private_key.as_ref().ok_or_else(|| {
            CliError::config(
                "missing private key: set --private-key, WECHATPAY_PRIVATE_KEY or `private_key` in the profile",
            )
        })?;
        let der = wechatpay_transport::keys::PrivateKeyDer::from_pem_file(path)
            .map_err(|e| CliError::config(format!("{e} ({})", path.display())))?;
        wechatpay_transport::crypto::Backend::default()
            .signer(&der)
            .map_err(|e| CliError::config(format!("{e} ({})", path.display())))
    }

    /// The trusted WeChat Pay public key, under its id.
    pub fn key_store(&self) -> Result<wechatpay_transport::keystore::PublicKeyStore, CliError> {
        let id = self.require(
            &self.public_key_id,
            "--public-key-id",
            "WECHATPAY_PUBLIC_KEY_ID",
        )?;
        let path = self.public_key.as_ref().ok_or_else(|| {
            CliError::config(
                "missing public key: set --public-key, WECHATPAY_PUBLIC_KEY or `public_key` in the profile",
            )
        })?;
        let key = wechatpay_transport::keys::PublicKeyDer::from_pem_file(path)
            .map_err(|e| CliError::config(format!("{e} ({})", path.display())))?;
        let mut store = wechatpay_transport::keystore::PublicKeyStore::new();
        store
            .add_public_key(id, key, wechatpay_transport::crypto::Backend::default())
            .map_err(|e| CliError::config(format!("{e} ({})", path.display())))?;
        Ok(store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_profile_and_paths_are_relative_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        std::fs::write(
            &path,
            "mchid = \"from-profile\"\nbrand_id = \"b\"\nprivate_key = \"k.pem\"\napiv3_key = \"s3cr3t\"\n",
        )
        .unwrap();
        let args = ConnArgs {
            profile: Some(path),
            mchid: Some("from-flag".into()),
            ..ConnArgs::default()
        };
        let s = Settings::resolve(&args, None).unwrap();
        assert_eq!(s.mchid.as_deref(), Some("from-flag"));
        assert_eq!(s.brand_id.as_deref(), Some("b"));
        assert_eq!(s.private_key, Some(dir.path().join("k.pem")));
        assert_eq!(s.base_url, DEFAULT_BASE_URL);
        assert!(!format!("{s:?}").contains("s3cr3t"));
    }

    #[test]
    fn profile_errors_do_not_quote_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        std::fs::write(&path, "apiv3_key = \"s3cr3t\"\nsurprise = \"s3cr3t\"\n").unwrap();
        let args = ConnArgs {
            profile: Some(path),
            ..ConnArgs::default()
        };
        let err = Settings::resolve(&args, None).unwrap_err();
        assert!(err.message.contains("surprise"), "{}", err.message);
        assert!(!err.message.contains("s3cr3t"), "{}", err.message);
    }

    #[test]
    fn missing_identity_says_where_to_set_it() {
        let err = Settings::default()
            .identity(AuthScheme::Merchant)
            .unwrap_err();
        assert_eq!(
            err.message,
            "a merchant operation needs mchid: set --mchid, WECHATPAY_MCHID or `mchid` in the profile"
        );
    }
}
