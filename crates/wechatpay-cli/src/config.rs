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

/// The warning for a secret file that the group or others may read, if it is one:
/// names the file, its mode and the fix. `None` for an owner-only file (and
/// off Unix, where modes do not say who may read).
pub fn readable_by_others(path: &Path, what: &str) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o044 != 0).then(|| {
            format!(
                "wechatpay: warning: {what} {} can be read by other users (mode {mode:04o}); \
                 restrict it with `chmod 600 {}`",
                path.display(),
                path.display()
            )
        })
    }
    #[cfg(not(unix))]
    {
        let _ = (path, what);
        None
    }
}

/// Prints [`readable_by_others`]'s warning on standard error (best-effort), once per file.
pub fn warn_if_readable_by_others(path: &Path, what: &str) {
    use std::io::Write as _;
    static WARNED: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());
    let Some(warning) = readable_by_others(path, what) else {
        return;
    };
    let mut warned = WARNED.lock().unwrap_or_else(|e| e.into_inner());
    if !warned.iter().any(|p| p == path) {
        warned.push(path.to_owned());
        let _ = writeln!(std::io::stderr().lock(), "{warning}");
    }
}

/// A value that must never be printed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

/// A secret in a profile must be a string; any other type is refused
/// without quoting the value (serde's own message would: `invalid type:
/// integer `1234…``).
impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SecretVisitor;

        impl<'v> serde::de::Visitor<'v> for SecretVisitor {
            type Value = Secret;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a quoted string")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Secret, E> {
                Ok(Secret(v.to_owned()))
            }

            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Secret, E> {
                Ok(Secret(v))
            }

            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Secret, E> {
                Err(E::custom(NOT_A_STRING))
            }

            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Secret, E> {
                Err(E::custom(NOT_A_STRING))
            }

            fn visit_i128<E: serde::de::Error>(self, _: i128) -> Result<Secret, E> {
                Err(E::custom(NOT_A_STRING))
            }

            fn visit_u128<E: serde::de::Error>(self, _: u128) -> Result<Secret, E> {
                Err(E::custom(NOT_A_STRING))
            }

            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Secret, E> {
                Err(E::custom(NOT_A_STRING))
            }

            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Secret, E> {
                Err(E::custom(NOT_A_STRING))
            }

            fn visit_seq<A: serde::de::SeqAccess<'v>>(self, _: A) -> Result<Secret, A::Error> {
                Err(serde::de::Error::custom(NOT_A_STRING))
            }

            fn visit_map<A: serde::de::MapAccess<'v>>(self, _: A) -> Result<Secret, A::Error> {
                Err(serde::de::Error::custom(NOT_A_STRING))
            }
        }

        deserializer.deserialize_any(SecretVisitor)
    }
}

const NOT_A_STRING: &str =
    "a secret must be a quoted string, e.g. apiv3_key = \"…\" (the value is not shown)";

/// The largest profile file read.
pub const MAX_PROFILE_BYTES: u64 = 64 * 1024;

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
/// platform_certificates = ["wechatpay_5157F09E.pem"]   # merchants not (only) on public keys
/// apiv3_key = "..."                     # notifications, platform certificates
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
    #[serde(default)]
    pub platform_certificates: Vec<PathBuf>,
    pub apiv3_key: Option<Secret>,
}

impl Profile {
    /// Reads a profile file; relative key paths become relative to its directory.
    pub fn load(path: &Path) -> Result<Profile, CliError> {
        let text = read_capped(path, MAX_PROFILE_BYTES).map_err(|e| {
            CliError::config(format!("cannot read profile {}: {e}", path.display()))
        })?;
        warn_if_readable_by_others(path, "profile");
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
        let paths = [&mut profile.private_key, &mut profile.public_key]
            .into_iter()
            .flatten()
            .chain(profile.platform_certificates.iter_mut());
        for p in paths {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        if profile.base_url.as_deref() == Some("") {
            return Err(CliError::config(format!(
                "profile {}: base_url is empty; set the API base URL or remove the key for the default ({DEFAULT_BASE_URL})",
                path.display()
            )));
        }
        Ok(profile)
    }
}

/// Reads a UTF-8 text file of at most `max` bytes (a larger file, or a
/// device such as `/dev/zero`, is refused without being read whole).
pub fn read_capped(path: &Path, max: u64) -> Result<String, String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > max {
        return Err(format!("larger than {max} bytes"));
    }
    String::from_utf8(bytes)
        .map_err(|e| format!("not UTF-8 (byte {})", e.utf8_error().valid_up_to()))
}

/// Settings after merging flags, environment and profile.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub base_url: String,
    /// The proxy every request goes through (`--proxy`, else `HTTPS_PROXY`
    /// for an https base URL), if any.
    pub proxy: Option<String>,
    pub mchid: Option<String>,
    pub brand_id: Option<String>,
    pub serial_no: Option<String>,
    pub private_key: Option<PathBuf>,
    pub public_key_id: Option<String>,
    pub public_key: Option<PathBuf>,
    pub platform_certs: Vec<PathBuf>,
    pub apiv3_key: Option<Secret>,
}

/// The proxy to use: `--proxy` wins; else, for an `https://` base URL,
/// `HTTPS_PROXY`, then `https_proxy`, unless `NO_PROXY` / `no_proxy` names the
/// base URL's host (curl's conventions: `*`, a host, or a domain suffix such as
/// `.weixin.qq.com`; a proxy without a scheme is `http://`). Empty values count
/// as unset. A plain-http base URL (a local sandbox) ignores the environment.
pub fn pick_proxy(
    flag: Option<&str>,
    base_url: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    let set = |v: &str| !v.trim().is_empty();
    if let Some(flag) = flag.filter(|v| set(v)) {
        return Some(flag.to_owned());
    }
    let host = base_url.strip_prefix("https://")?;
    let host = host.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or(host);
    let host = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
    let bypassed = ["NO_PROXY", "no_proxy"]
        .into_iter()
        .filter_map(&env)
        .find(|v| set(v))
        .is_some_and(|list| {
            list.split(',').map(str::trim).any(|entry| {
                let entry = entry.trim_start_matches('.').to_ascii_lowercase();
                entry == "*"
                    || (!entry.is_empty()
                        && (host == entry || host.ends_with(&format!(".{entry}"))))
            })
        });
    if bypassed {
        return None;
    }
    let proxy = ["HTTPS_PROXY", "https_proxy"]
        .into_iter()
        .filter_map(env)
        .find(|v| set(v))?;
    Some(if proxy.contains("://") {
        proxy
    } else {
        format!("http://{proxy}")
    })
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
        // An empty base URL is a mistake (an unset shell variable, a script
        // that read the sandbox's URL too early), never a request for the
        // production default.
        if args
            .base_url
            .as_deref()
            .is_some_and(|u| u.trim().is_empty())
        {
            return Err(CliError::config(format!(
                "the base URL is empty (--base-url or WECHATPAY_BASE_URL): set it, or unset it for the default {DEFAULT_BASE_URL}"
            )));
        }
        let platform_certs = if args.platform_certs.is_empty() {
            profile.platform_certificates
        } else {
            args.platform_certs.clone()
        };
        let base_url = pick(&args.base_url, profile.base_url)
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned())
            .trim_end_matches('/')
            .to_owned();
        Ok(Settings {
            proxy: pick_proxy(args.proxy.as_deref(), &base_url, |name| {
                std::env::var(name).ok()
            }),
            base_url,
            platform_certs,
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

    /// The identity for `scheme`: mchid for merchant operations and for partner ones
    /// (the service provider's), brand_id for brand ones.
    pub fn identity(&self, scheme: AuthScheme) -> Result<&str, CliError> {
        let (value, flag, env) = match scheme {
            AuthScheme::Merchant | AuthScheme::Partner => {
                (&self.mchid, "--mchid", "WECHATPAY_MCHID")
            }
            AuthScheme::Brand => (&self.brand_id, "--brand-id", "WECHATPAY_BRAND_ID"),
        };
        value.as_deref().ok_or_else(|| {
            let kind = match scheme {
                AuthScheme::Merchant => "a merchant operation needs mchid",
                AuthScheme::Brand => "a brand operation needs brand_id",
                AuthScheme::Partner => "a partner operation needs the service provider's mchid",
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
        // Errors name the file.
        let der = wechatpay_transport::keys::PrivateKeyDer::from_pem_file(path)
            .map_err(|e| CliError::config(crate::exit::error_chain(&e)))?;
        warn_if_readable_by_others(path, "private key");
        wechatpay_transport::crypto::Backend::default()
            .signer(&der)
            .map_err(|e| CliError::config(crate::exit::error_chain(&e.in_file(path))))
    }

    /// The trusted WeChat Pay keys: the public key under its id, and any
    /// platform certificates. At least one is needed.
    pub fn key_store(&self) -> Result<wechatpay_transport::keystore::PublicKeyStore, CliError> {
        use wechatpay_transport::crypto::Backend;
        use wechatpay_transport::keys::{Certificate, PublicKeyDer};
        let mut store = wechatpay_transport::keystore::PublicKeyStore::new();
        let public = match (&self.public_key_id, &self.public_key) {
            (None, None) => None,
            (Some(_), Some(path)) | (None, Some(path)) => {
                let id = self.require(
                    &self.public_key_id,
                    "--public-key-id",
                    "WECHATPAY_PUBLIC_KEY_ID",
                )?;
                Some((id, path))
            }
            (Some(_), None) => {
                return Err(CliError::config(
                    "missing public key: set --public-key, WECHATPAY_PUBLIC_KEY or `public_key` in the profile",
                ))
            }
        };
        if let Some((id, path)) = public {
            // Errors name the file.
            let key = PublicKeyDer::from_pem_file(path)
                .map_err(|e| CliError::config(crate::exit::error_chain(&e)))?;
            store
                .add_public_key(id, key, Backend::default())
                .map_err(|e| CliError::config(crate::exit::error_chain(&e.in_file(path))))?;
        }
        for path in &self.platform_certs {
            let cert = Certificate::from_pem_file(path)
                .map_err(|e| CliError::config(crate::exit::error_chain(&e)))?;
            store
                .add_certificate(cert, Backend::default())
                .map_err(|e| CliError::config(crate::exit::error_chain(&e.in_file(path))))?;
        }
        if store.is_empty() {
            return Err(CliError::config(
                "missing WeChat Pay public key: set --public-key-id and --public-key (WECHATPAY_PUBLIC_KEY_ID, WECHATPAY_PUBLIC_KEY or the profile), or --platform-cert",
            ));
        }
        Ok(store)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_proxy_flag_wins_then_https_proxy_for_https_only() {
        use super::pick_proxy;
        let env = |name: &str| match name {
            "HTTPS_PROXY" => Some("http://env:3128".to_owned()),
            _ => None,
        };
        let lower = |name: &str| (name == "https_proxy").then(|| "http://lower:3128".to_owned());
        let https = "https://api.mch.weixin.qq.com";
        assert_eq!(
            pick_proxy(Some("http://flag:1"), https, env).as_deref(),
            Some("http://flag:1")
        );
        assert_eq!(
            pick_proxy(None, https, env).as_deref(),
            Some("http://env:3128")
        );
        assert_eq!(
            pick_proxy(Some(""), https, lower).as_deref(),
            Some("http://lower:3128")
        );
        assert_eq!(pick_proxy(None, "http://127.0.0.1:8080", env), None);
        assert_eq!(
            pick_proxy(Some("http://flag:1"), "http://127.0.0.1:8080", env).as_deref(),
            Some("http://flag:1")
        );
        assert_eq!(pick_proxy(None, https, |_| None), None);
    }

    #[test]
    fn no_proxy_is_honoured_and_a_bare_proxy_is_http() {
        use super::pick_proxy;
        let with = |no_proxy: &'static str| {
            move |name: &str| match name {
                "HTTPS_PROXY" => Some("proxy.corp:3128".to_owned()),
                "NO_PROXY" => Some(no_proxy.to_owned()),
                _ => None,
            }
        };
        let https = "https://api.mch.weixin.qq.com/v3";
        assert_eq!(
            pick_proxy(None, https, with("")).as_deref(),
            Some("http://proxy.corp:3128")
        );
        for bypass in [
            "*",
            ".weixin.qq.com",
            "qq.com",
            "example.com, api.mch.weixin.qq.com",
        ] {
            assert_eq!(pick_proxy(None, https, with(bypass)), None, "{bypass}");
        }
        for kept in ["weixin.q", "mch.weixin.qq.com.cn", "example.com"] {
            assert!(pick_proxy(None, https, with(kept)).is_some(), "{kept}");
        }
        // The flag is the user's explicit choice: NO_PROXY does not override it.
        assert_eq!(
            pick_proxy(Some("http://flag:1"), https, with("*")).as_deref(),
            Some("http://flag:1")
        );
    }

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
    fn a_secret_of_the_wrong_type_is_refused_without_its_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        for value in [
            "12345678901234567890123456",
            "98765432109876543210987654321098",
            "3.25e17",
            "true",
            "[\"s3cr3t\"]",
            "{ k = \"s3cr3t\" }",
        ] {
            std::fs::write(&path, format!("apiv3_key = {value}\n")).unwrap();
            let args = ConnArgs {
                profile: Some(path.clone()),
                ..ConnArgs::default()
            };
            let err = Settings::resolve(&args, None).unwrap_err();
            assert!(!err.message.contains(value), "{value}: {}", err.message);
            assert!(!err.message.contains("s3cr3t"), "{}", err.message);
            for digits in ["1234567890", "9876543210", "325"] {
                assert!(!err.message.contains(digits), "{}", err.message);
            }
            assert!(err.message.contains("p.toml"), "{}", err.message);
        }
    }

    #[test]
    fn an_empty_base_url_is_an_error_not_the_production_host() {
        let args = ConnArgs {
            base_url: Some(String::new()),
            ..ConnArgs::default()
        };
        let err = Settings::resolve(&args, None).unwrap_err();
        assert!(err.message.contains("base URL is empty"), "{}", err.message);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        std::fs::write(&path, "base_url = \"\"\n").unwrap();
        let args = ConnArgs {
            profile: Some(path),
            ..ConnArgs::default()
        };
        let err = Settings::resolve(&args, None).unwrap_err();
        assert!(err.message.contains("base_url is empty"), "{}", err.message);
        // Unset is the documented default.
        assert_eq!(
            Settings::resolve(&ConnArgs::default(), None)
                .unwrap()
                .base_url,
            DEFAULT_BASE_URL
        );
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
