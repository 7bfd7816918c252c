//! Who the client signs as, which keys it trusts, and how it connects.
//!
//! [`ClientBuilder`] collects settings; loading errors (a bad PEM, a missing
//! file) are kept and reported by [`ClientBuilder::build`] as a
//! [`ConfigError`] naming what was wrong. `Debug` on every type here leaves
//! key material out.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;

use crate::certificates::Trust;
use crate::clock::{Clock, SystemClock};
use crate::crypto::{Backend, Signer};
use crate::error::ConfigError;
use crate::hosts::Hosts;
use crate::keys::{Certificate, KeyError, PrivateKeyDer, PublicKeyDer};
use crate::keystore::{KeyKind, PublicKeyStore};
use crate::notification::ApiV3Key;
use crate::oaep::SensitiveEncryptor;
use crate::retry::RetryPolicy;
use wechatpay_runtime::AuthScheme;

/// The main host: the nearest access point.
pub const DEFAULT_BASE_URL: &str = wechatpay_runtime::hosts::MAIN_HOST;
/// The backup host, in another city.
pub const DEFAULT_BACKUP_URL: &str = wechatpay_runtime::hosts::BACKUP_HOST;
/// How long an idle pooled connection is kept: under the ~8 s after which
/// WeChat Pay closes idle keep-alive connections (wechatpay-java uses 7 s for
/// the same reason), so a request never goes out on a connection the server
/// is closing.
pub const DEFAULT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(7);
/// How often downloaded platform certificates are refreshed by default.
pub const DEFAULT_CERTIFICATE_REFRESH: Duration = Duration::from_secs(3600);
/// The longest refresh interval accepted: WeChat Pay publishes a new platform
/// certificate ahead of switching to it; refreshing at least twice a day
/// picks it up before replies are signed with it.
pub const MAX_CERTIFICATE_REFRESH: Duration = Duration::from_secs(12 * 3600);
/// What the client sends as `User-Agent`.
pub const USER_AGENT: &str = concat!(
    "wechatpay-transport/",
    env!("CARGO_PKG_VERSION"),
    " (Rust; +reqwest)"
);

/// Who signs: a merchant (`mchid`), a brand (`brand_id`) or a service provider (its `mchid`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// Merchant APIs, `WECHATPAY2-SHA256-RSA2048`.
    Merchant {
        /// The merchant number (`mchid`) sent in the `Authorization` header.
        mchid: String,
    },
    /// Brand APIs, `WECHATPAY-BRAND-SHA256-RSA2048`.
    Brand {
        /// The brand id (`brand_id`) sent in the `Authorization` header.
        brand_id: String,
    },
    /// Service-provider (服务商) APIs, `WECHATPAY2-SHA256-RSA2048` with the provider's
    /// merchant number; each request names the brand it acts for (`brand_id`).
    Partner {
        /// The service provider's merchant number (`sp_mchid`), sent as `mchid`.
        sp_mchid: String,
    },
}

impl Identity {
    /// A merchant identity.
    pub fn merchant(mchid: impl Into<String>) -> Self {
        Identity::Merchant {
            mchid: mchid.into(),
        }
    }

    /// A brand identity.
    pub fn brand(brand_id: impl Into<String>) -> Self {
        Identity::Brand {
            brand_id: brand_id.into(),
        }
    }

    /// A service-provider identity: signs the partner operations for the brands that
    /// authorised `sp_mchid`.
    pub fn partner(sp_mchid: impl Into<String>) -> Self {
        Identity::Partner {
            sp_mchid: sp_mchid.into(),
        }
    }

    /// The auth scheme this identity signs with.
    pub fn scheme(&self) -> AuthScheme {
        match self {
            Identity::Merchant { .. } => AuthScheme::Merchant,
            Identity::Brand { .. } => AuthScheme::Brand,
            Identity::Partner { .. } => AuthScheme::Partner,
        }
    }

    /// The `mchid`, `brand_id` or `sp_mchid` value.
    pub fn id(&self) -> &str {
        match self {
            Identity::Merchant { mchid } => mchid,
            Identity::Brand { brand_id } => brand_id,
            Identity::Partner { sp_mchid } => sp_mchid,
        }
    }
}

/// A finished, checked client configuration.
#[derive(Clone)]
pub struct ClientConfig {
    pub(crate) identity: Identity,
    pub(crate) serial_no: String,
    pub(crate) signer: Arc<dyn Signer>,
    pub(crate) keys: PublicKeyStore,
    pub(crate) wechatpay_serial: String,
    pub(crate) encryptor: Option<Arc<SensitiveEncryptor>>,
    pub(crate) base_url: Url,
    pub(crate) backup_url: Option<Url>,
    pub(crate) failover_cooldown: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) max_reply_bytes: usize,
    pub(crate) retry: RetryPolicy,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) pool_idle_timeout: Duration,
    pub(crate) resend_unverified: bool,
    pub(crate) certificates: Option<CertificateSettings>,
    pub(crate) backend: Backend,
    pub(crate) http: HttpSource,
}

/// Where the client's HTTP client comes from.
#[derive(Clone)]
pub(crate) enum HttpSource {
    /// Built by [`crate::Client::new`] from the settings, through `proxy` if set
    /// (and never through a proxy named by the environment).
    Own { proxy: Option<Url> },
    /// The caller's ([`ClientBuilder::http_client`]).
    Caller(reqwest::Client),
    /// Another client's ([`ClientBuilder::share`]).
    Shared(SharedParts),
}

/// What a client built with [`ClientBuilder::share`] takes from the other client.
#[derive(Clone)]
pub(crate) struct SharedParts {
    /// The other client's HTTP client: its connection pool.
    pub(crate) http: reqwest::Client,
    /// Whether that HTTP client is a caller's (its own timeouts then apply).
    pub(crate) callers: bool,
    /// The failover state, when both clients use the same hosts.
    pub(crate) hosts: Option<Arc<Hosts>>,
    /// The trusted keys, when both verify with the same WeChat Pay keys.
    pub(crate) trust: Option<Arc<Trust>>,
}

/// Downloading platform certificates (`GET /v3/certificates`) for a merchant or
/// service provider.
#[derive(Clone)]
pub(crate) struct CertificateSettings {
    pub(crate) api_v3_key: ApiV3Key,
    pub(crate) refresh: Duration,
    /// Whether to download before the first call (else only on an unknown
    /// serial, and on schedule once `refresh` has passed).
    pub(crate) at_start: bool,
}

impl ClientConfig {
    /// Who the client signs as.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The API certificate serial number (`serial_no` in `Authorization`).
    pub fn serial_no(&self) -> &str {
        &self.serial_no
    }

    /// The serial sent as `Wechatpay-Serial` on every request.
    pub fn wechatpay_serial(&self) -> &str {
        &self.wechatpay_serial
    }

    /// The keys replies are verified with.
    pub fn keys(&self) -> &PublicKeyStore {
        &self.keys
    }

    /// The main base URL.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The backup base URL, if failover is on.
    pub fn backup_url(&self) -> Option<&Url> {
        self.backup_url.as_ref()
    }

    /// The retry policy.
    pub fn retry(&self) -> &RetryPolicy {
        &self.retry
    }

    /// The clock used for timestamps and freshness checks.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// How long idle pooled connections are kept.
    pub fn pool_idle_timeout(&self) -> Duration {
        self.pool_idle_timeout
    }

    /// Whether a 2xx reply that fails verification is resent once (see
    /// [`ClientBuilder::resend_unverified_success`]).
    pub fn resend_unverified_success(&self) -> bool {
        self.resend_unverified
    }

    /// The platform certificate refresh interval, when downloading is on.
    pub fn certificate_refresh(&self) -> Option<Duration> {
        self.certificates.as_ref().map(|c| c.refresh)
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("identity", &self.identity)
            .field("serial_no", &self.serial_no)
            .field("signer", &self.signer)
            .field("keys", &self.keys)
            .field("wechatpay_serial", &self.wechatpay_serial)
            .field("base_url", &self.base_url.as_str())
            .field("backup_url", &self.backup_url.as_ref().map(Url::as_str))
            .field("failover_cooldown", &self.failover_cooldown)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("max_reply_bytes", &self.max_reply_bytes)
            .field("retry", &self.retry)
            .field("clock", &self.clock)
            .field("pool_idle_timeout", &self.pool_idle_timeout)
            .field("resend_unverified", &self.resend_unverified)
            .field("certificate_refresh", &self.certificate_refresh())
            .field(
                "http",
                &match &self.http {
                    HttpSource::Own { proxy } => format!(
                        "own (proxy: {})",
                        proxy
                            .as_ref()
                            .map_or("none".to_owned(), |p| redact_credentials(p.as_str()))
                    ),
                    HttpSource::Caller(_) => "the caller's".to_owned(),
                    HttpSource::Shared(parts) => format!(
                        "shared with another client (failover state: {}, trusted keys: {})",
                        if parts.hosts.is_some() {
                            "shared"
                        } else {
                            "own"
                        },
                        if parts.trust.is_some() {
                            "shared"
                        } else {
                            "own"
                        },
                    ),
                },
            )
            .finish()
    }
}

enum SignerSource {
    None,
    /// The key, and the file it came from (for error messages).
    Key(PrivateKeyDer, Option<PathBuf>),
    Custom(Arc<dyn Signer>),
}

enum Backup {
    Default,
    Off,
    Url(String),
}

/// The keys a configuration verifies with, and what follows from them.
struct Keys {
    store: PublicKeyStore,
    wechatpay_serial: String,
    encryptor: Option<Arc<SensitiveEncryptor>>,
    certificates: Option<CertificateSettings>,
}

/// Whether two identities are the same caller on the wire, and so verify with the
/// same WeChat Pay keys: the same scheme word and id (a provider's partner and
/// merchant identities are one merchant).
fn same_wire_identity(a: &Identity, b: &Identity) -> bool {
    a.scheme().signs_for(b.scheme()) && a.id() == b.id()
}

enum PendingKey {
    PublicKey(String, PublicKeyDer, Option<PathBuf>),
    Certificate(Certificate, Option<PathBuf>),
}

/// Names the file a key came from in its error.
fn keyed(error: KeyError, path: &Option<PathBuf>) -> KeyError {
    match path {
        Some(path) => error.in_file(path),
        None => error,
    }
}

/// Builds a [`ClientConfig`] or a [`crate::Client`].
pub struct ClientBuilder {
    identity: Identity,
    serial_no: Option<String>,
    signer: SignerSource,
    backend: Backend,
    store: PublicKeyStore,
    pending: Vec<PendingKey>,
    wechatpay_serial: Option<String>,
    base_url: Option<String>,
    backup: Backup,
    failover_cooldown: Duration,
    connect_timeout: Duration,
    request_timeout: Duration,
    max_reply_bytes: usize,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
    pool_idle_timeout: Duration,
    resend_unverified: bool,
    certificates: Option<ApiV3Key>,
    certificate_refresh: Duration,
    certificates_at_start: bool,
    http_client: Option<reqwest::Client>,
    proxy: Option<String>,
    share: Option<crate::Client>,
    /// The first setting of the connection pool made on this builder, which a
    /// builder sharing another client's pool cannot honour.
    pool_setting: Option<&'static str>,
    error: Option<ConfigError>,
}

impl ClientBuilder {
    /// Starts a configuration for `identity` with the defaults: main and backup
    /// hosts, 60 s failover cool-down, 5 s connect and 30 s request timeouts,
    /// 7 s pool idle timeout, 4 MiB reply limit, [`RetryPolicy::default`],
    /// aws-lc-rs, system clock; no resend of unverified replies; no
    /// platform certificate download.
    pub fn new(identity: Identity) -> Self {
        ClientBuilder {
            identity,
            serial_no: None,
            signer: SignerSource::None,
            backend: Backend::default(),
            store: PublicKeyStore::new(),
            pending: Vec::new(),
            wechatpay_serial: None,
            base_url: None,
            backup: Backup::Default,
            failover_cooldown: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            max_reply_bytes: 4 << 20,
            retry: RetryPolicy::default(),
            clock: Arc::new(SystemClock),
            pool_idle_timeout: DEFAULT_POOL_IDLE_TIMEOUT,
            resend_unverified: false,
            certificates: None,
            certificate_refresh: DEFAULT_CERTIFICATE_REFRESH,
            certificates_at_start: true,
            http_client: None,
            proxy: None,
            share: None,
            pool_setting: None,
            error: None,
        }
    }

    fn fail(&mut self, error: impl Into<ConfigError>) {
        self.error.get_or_insert(error.into());
    }

    /// The merchant API certificate's serial number.
    pub fn serial_no(mut self, serial_no: impl Into<String>) -> Self {
        self.serial_no = Some(serial_no.into());
        self
    }

    /// The private key as PEM text (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`).
    pub fn private_key_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        match PrivateKeyDer::from_pem(pem) {
            Ok(key) => self.signer = SignerSource::Key(key, None),
            Err(e) => self.fail(e),
        }
        self
    }

    /// The private key from a PEM file (errors name the file).
    pub fn private_key_file(mut self, path: impl AsRef<Path>) -> Self {
        let path = path.as_ref();
        match PrivateKeyDer::from_pem_file(path) {
            Ok(key) => self.signer = SignerSource::Key(key, Some(path.to_owned())),
            Err(e) => self.fail(e),
        }
        self
    }

    /// A custom signer instead of a private key (an HSM, a KMS, …).
    pub fn signer(mut self, signer: Arc<dyn Signer>) -> Self {
        self.signer = SignerSource::Custom(signer);
        self
    }

    /// The crypto backend for keys loaded by this builder.
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    /// The WeChat Pay public key (`PUBLIC KEY` PEM) and its id (`PUB_KEY_ID_…`).
    pub fn wechatpay_public_key_pem(
        mut self,
        id: impl Into<String>,
        pem: impl AsRef<[u8]>,
    ) -> Self {
        match PublicKeyDer::from_pem(pem) {
            Ok(key) => self
                .pending
                .push(PendingKey::PublicKey(id.into(), key, None)),
            Err(e) => self.fail(e),
        }
        self
    }

    /// The WeChat Pay public key from a PEM file, with its id (errors name the file).
    pub fn wechatpay_public_key_file(
        mut self,
        id: impl Into<String>,
        path: impl AsRef<Path>,
    ) -> Self {
        let path = path.as_ref();
        match PublicKeyDer::from_pem_file(path) {
            Ok(key) => {
                self.pending
                    .push(PendingKey::PublicKey(id.into(), key, Some(path.to_owned())))
            }
            Err(e) => self.fail(e),
        }
        self
    }

    /// A platform certificate (PEM); it is known by its own serial number.
    pub fn platform_certificate_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        match Certificate::from_pem(pem) {
            Ok(cert) => self.pending.push(PendingKey::Certificate(cert, None)),
            Err(e) => self.fail(e),
        }
        self
    }

    /// A platform certificate from a PEM file (errors name the file).
    pub fn platform_certificate_file(mut self, path: impl AsRef<Path>) -> Self {
        let path = path.as_ref();
        match Certificate::from_pem_file(path) {
            Ok(cert) => self
                .pending
                .push(PendingKey::Certificate(cert, Some(path.to_owned()))),
            Err(e) => self.fail(e),
        }
        self
    }

    /// A platform certificate's public key under an explicit serial (when only
    /// the key, not the certificate, is at hand).
    pub fn platform_public_key(mut self, serial: impl Into<String>, key: PublicKeyDer) -> Self {
        self.pending.push(PendingKey::Certificate(
            Certificate {
                serial: serial.into(),
                public_key: key,
            },
            None,
        ));
        self
    }

    /// Starts from an existing key store (keys added with the other methods are added to it).
    pub fn public_key_store(mut self, store: PublicKeyStore) -> Self {
        self.store = store;
        self
    }

    /// The serial to send as `Wechatpay-Serial`. By default: the first public key
    /// id configured, else the first platform certificate.
    pub fn wechatpay_serial(mut self, serial: impl Into<String>) -> Self {
        self.wechatpay_serial = Some(serial.into());
        self
    }

    /// The main base URL (scheme, host, optional port and path prefix), e.g. a
    /// sandbox. Overriding it turns off the default backup host.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The backup base URL, or `None` to turn failover off.
    pub fn backup_url(mut self, url: Option<impl Into<String>>) -> Self {
        self.backup = match url {
            Some(url) => Backup::Url(url.into()),
            None => Backup::Off,
        };
        self
    }

    /// How long to stay on the backup host after the main host failed.
    pub fn failover_cooldown(mut self, cooldown: Duration) -> Self {
        self.failover_cooldown = cooldown;
        self
    }

    /// The TCP + TLS connect timeout (a setting of the connection pool: not
    /// combinable with [`share`](Self::share)).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self.pool_setting.get_or_insert("connect_timeout");
        self
    }

    /// The whole-request timeout (connect, send, reply and body).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The largest reply body the client will read.
    pub fn max_reply_bytes(mut self, limit: usize) -> Self {
        self.max_reply_bytes = limit;
        self
    }

    /// The retry policy ([`RetryPolicy::none`] turns retries off).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The clock for request timestamps and reply freshness.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How long an idle pooled connection is kept (default
    /// [`DEFAULT_POOL_IDLE_TIMEOUT`], 7 s). Keep it under 8 s: WeChat Pay
    /// closes idle connections after about 8 s. A setting of the connection
    /// pool: not combinable with [`share`](Self::share).
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.pool_idle_timeout = timeout;
        self.pool_setting.get_or_insert("pool_idle_timeout");
        self
    }

    /// Resend once when a 2xx reply fails verification (default off).
    ///
    /// WeChat Pay deliberately signs a few replies wrongly
    /// (`WECHATPAY/SIGNTEST/…` probes) to check that clients verify. Such a
    /// reply is not a failure of the call: the server acted, but its answer
    /// cannot be trusted. For an operation with a request number (see
    /// [`crate::CallOptions::request_number_field`]) the client sends the same body
    /// bytes again with a fresh signature — the same number makes that
    /// idempotent — and uses the second reply if it verifies. Otherwise the
    /// call fails with [`crate::ErrorKind::OutcomeUnknown`].
    pub fn resend_unverified_success(mut self, on: bool) -> Self {
        self.resend_unverified = on;
        self
    }

    /// Download platform certificates (`GET /v3/certificates`) with the
    /// APIv3 key, for merchants not (only) on WeChat Pay public keys.
    ///
    /// The first call downloads them; they are refreshed every
    /// [`certificate_refresh`](Self::certificate_refresh) and whenever a
    /// reply names a serial the client does not know. A download is trusted
    /// only if its own signature verifies with a key already trusted (a
    /// configured public key or platform certificate, or one downloaded
    /// before). Certificates stay trusted until they expire, so both serials
    /// work during a rotation. A `404 RESOURCE_NOT_EXISTS` answer means the
    /// merchant uses public keys only, which is not an error. Merchant and
    /// service-provider identities (the provider downloads as the merchant it
    /// is, with its `mchid`); brand APIs use public keys only.
    pub fn platform_certificates_from_api(mut self, api_v3_key: ApiV3Key) -> Self {
        self.certificates = Some(api_v3_key);
        self
    }

    /// How often downloaded platform certificates are refreshed (default
    /// 1 hour; at most [`MAX_CERTIFICATE_REFRESH`], 12 hours).
    pub fn certificate_refresh(mut self, interval: Duration) -> Self {
        self.certificate_refresh = interval;
        self
    }

    /// Whether downloaded certificates are fetched before the first call
    /// (default on). Off suits a short-lived process making one call (a
    /// CLI): it downloads only when a reply names an unknown serial, and no
    /// merchant on public keys pays for a download it does not need.
    pub fn certificates_at_start(mut self, on: bool) -> Self {
        self.certificates_at_start = on;
        self
    }

    /// Sends through the caller's HTTP client (its connection pool, proxy,
    /// root certificates, TLS settings) instead of building one.
    ///
    /// The client must not follow redirects: build it with
    /// `.redirect(reqwest::redirect::Policy::none())`. A redirect sends a
    /// signature made for one URL to another. This crate cannot look inside a
    /// `reqwest::Client`, but it checks where each reply came from: a reply
    /// from another URL than the one signed fails the call with
    /// [`ErrorKind::Redirected`](crate::ErrorKind::Redirected) (not retried;
    /// the request may have taken effect). Each request still carries this
    /// crate's `User-Agent` (WeChat Pay refuses requests without one). Its own
    /// timeouts and
    /// pool settings apply: [`connect_timeout`](Self::connect_timeout),
    /// [`request_timeout`](Self::request_timeout) and
    /// [`pool_idle_timeout`](Self::pool_idle_timeout) are not used with it,
    /// and each call's timeout is the client's unless
    /// [`CallOptions::timeout`](crate::CallOptions::timeout) sets one. Keep its
    /// idle timeout under 8 s (WeChat Pay closes idle connections then), and
    /// leave `connection_verbose` off (it logs the `Authorization` header).
    /// Not combinable with [`proxy`](Self::proxy): configure the proxy on it.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Sends every request through the HTTP proxy at `url`
    /// (`http://host:port`, optionally with `user:password@`, which errors and
    /// `Debug` never show; for an https
    /// target the proxy is asked to `CONNECT`), with
    /// [`reqwest::Proxy::all`]. The platform certificate download goes the
    /// same way: it uses the same HTTP client.
    ///
    /// Without this setting the client uses no proxy at all, whatever
    /// `HTTPS_PROXY`, `HTTP_PROXY` or `ALL_PROXY` say: a library should not
    /// route signed requests by environment variables its caller may not
    /// know about. (The CLI reads `HTTPS_PROXY` itself and passes it here.)
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = Some(url.into());
        self
    }

    /// Shares `client`'s connection pool: the new client sends through the same
    /// HTTP client (its connections, TLS roots, proxy, connect and idle timeouts),
    /// so building it makes no pool and reads no root certificates, and a process
    /// serving many tenants keeps one pool however many clients it builds.
    ///
    /// - **Failover**: when both use the same main and backup hosts and cool-down,
    ///   they share the failover state (a main host found down is down for both).
    /// - **Trusted keys**: when `client` signs as the same merchant or brand on the
    ///   wire (the same `mchid` or `brand_id`: a provider's `Identity::partner(x)`
    ///   and `Identity::merchant(x)` are one merchant) and this builder names no
    ///   WeChat Pay key of its own, the new client verifies with `client`'s trusted
    ///   keys: the same set, so a platform certificate either one downloads is
    ///   trusted by both, on one refresh schedule, with `client`'s download
    ///   setting. Otherwise it verifies with the keys named here, as any client
    ///   does (another brand's WeChat Pay public key is its own).
    ///
    /// Everything else is this builder's: identity, key, serial, base URL,
    /// retries, clock, and the request timeout (applied to each request, unless
    /// `client` sends through a caller's [`http_client`](Self::http_client), whose
    /// own timeouts apply). The pool's settings are `client`'s: combined with
    /// [`proxy`](Self::proxy), [`http_client`](Self::http_client),
    /// [`connect_timeout`](Self::connect_timeout) or
    /// [`pool_idle_timeout`](Self::pool_idle_timeout), [`build`](Self::build) is
    /// refused. What is shared lives as long as any client using it.
    ///
    /// A service provider acting for many brands through the partner operations
    /// needs one client, not one per brand: the brand is a field of each request.
    ///
    /// ```no_run
    /// # fn demo(tenants: &[(String, String, String, String, String)]) -> Result<(), wechatpay_transport::ConfigError> {
    /// use wechatpay_transport::{Client, Identity};
    /// let mut clients = Vec::new();
    /// for (brand_id, serial_no, key_pem, public_key_id, public_key_pem) in tenants {
    ///     let builder = Client::builder(Identity::brand(brand_id.as_str()))
    ///         .serial_no(serial_no.as_str())
    ///         .private_key_pem(key_pem)
    ///         .wechatpay_public_key_pem(public_key_id.as_str(), public_key_pem);
    ///     // The first tenant's client makes the pool; every other one shares it.
    ///     let builder = match clients.first() {
    ///         Some(first) => builder.share(first),
    ///         None => builder,
    ///     };
    ///     clients.push(builder.build()?);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn share(mut self, client: &crate::Client) -> Self {
        self.share = Some(client.clone());
        self
    }

    /// Checks everything and builds the configuration.
    pub fn build_config(mut self) -> Result<ClientConfig, ConfigError> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let identity_what = match self.identity {
            Identity::Merchant { .. } => "mchid",
            Identity::Brand { .. } => "brand_id",
            Identity::Partner { .. } => "sp_mchid",
        };
        check_token(identity_what, self.identity.id())?;
        let serial_no = self
            .serial_no
            .take()
            .ok_or(ConfigError::Missing("serial_no"))?;
        check_token("serial_no", &serial_no)?;
        let signer = match std::mem::replace(&mut self.signer, SignerSource::None) {
            SignerSource::None => return Err(ConfigError::Missing("private key")),
            SignerSource::Key(key, path) => {
                self.backend.signer(&key).map_err(|e| keyed(e, &path))?
            }
            SignerSource::Custom(signer) => signer,
        };
        if self.share.is_some() {
            let pool_setting = (self.http_client.as_ref().map(|_| "http_client"))
                .or(self.proxy.as_ref().map(|_| "proxy"))
                .or(self.pool_setting);
            if let Some(what) = pool_setting {
                return Err(ConfigError::InvalidValue {
                    what,
                    reason: "is a setting of the connection pool, which `share` takes from the other client: set it on that client",
                });
            }
        }
        let sharing = self.share.clone();
        let shared_keys = sharing.as_ref().map(crate::Client::config).filter(|other| {
            same_wire_identity(&other.identity, &self.identity)
                && self.pending.is_empty()
                && self.store.is_empty()
                && self.wechatpay_serial.is_none()
        });
        let keys = match shared_keys {
            Some(_) if self.certificates.is_some() => {
                return Err(ConfigError::InvalidValue {
                    what: "platform certificate download",
                    reason: "comes with the keys shared from the other client (`share`): set it on that client",
                })
            }
            Some(other) => Keys {
                store: other.keys.clone(),
                wechatpay_serial: other.wechatpay_serial.clone(),
                encryptor: other.encryptor.clone(),
                certificates: other.certificates.clone(),
            },
            None => self.own_keys()?,
        };
        let shares_trust = shared_keys.is_some();

        let base_overridden = self.base_url.is_some();
        let base_url = parse_base_url(
            "base URL",
            self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL),
        )?;
        let backup_url = match &self.backup {
            Backup::Off => None,
            Backup::Default if base_overridden => None,
            Backup::Default => Some(parse_base_url("backup URL", DEFAULT_BACKUP_URL)?),
            Backup::Url(url) => Some(parse_base_url("backup URL", url)?),
        };

        let http =
            match (self.share, self.http_client, self.proxy) {
                (Some(other), _, _) => HttpSource::Shared(other.parts_to_share(
                    (&base_url, backup_url.as_ref(), self.failover_cooldown),
                    shares_trust,
                )),
                (None, Some(_), Some(_)) => return Err(ConfigError::InvalidValue {
                    what: "proxy",
                    reason:
                        "cannot be combined with http_client: configure the proxy on that client",
                }),
                (None, Some(client), None) => HttpSource::Caller(client),
                (None, None, proxy) => HttpSource::Own {
                    proxy: proxy.map(|url| parse_proxy_url(&url)).transpose()?,
                },
            };

        Ok(ClientConfig {
            http,
            identity: self.identity,
            serial_no,
            signer,
            keys: keys.store,
            wechatpay_serial: keys.wechatpay_serial,
            encryptor: keys.encryptor,
            base_url,
            backup_url,
            failover_cooldown: self.failover_cooldown,
            connect_timeout: self.connect_timeout,
            request_timeout: self.request_timeout,
            max_reply_bytes: self.max_reply_bytes,
            retry: self.retry,
            clock: self.clock,
            pool_idle_timeout: self.pool_idle_timeout,
            resend_unverified: self.resend_unverified,
            certificates: keys.certificates,
            backend: self.backend,
        })
    }

    /// The keys named on this builder, checked, with what follows from them.
    fn own_keys(&mut self) -> Result<Keys, ConfigError> {
        let mut store = std::mem::take(&mut self.store);
        let mut first_public_key = None;
        let mut first_certificate = None;
        for key in std::mem::take(&mut self.pending) {
            match key {
                PendingKey::PublicKey(id, der, path) => {
                    check_token("WeChat Pay public key id", &id)?;
                    store
                        .add_public_key(id.clone(), der, self.backend)
                        .map_err(|e| keyed(e, &path))?;
                    first_public_key.get_or_insert(id);
                }
                PendingKey::Certificate(cert, path) => {
                    check_token("platform certificate serial", &cert.serial)?;
                    let serial = store
                        .add_certificate(cert, self.backend)
                        .map_err(|e| keyed(e, &path))?;
                    first_certificate.get_or_insert(serial);
                }
            }
        }
        let first_in_store = |kind| {
            store
                .serials()
                .find(|(_, k)| *k == kind)
                .map(|(s, _)| s.to_owned())
        };
        let wechatpay_serial = match self.wechatpay_serial.take() {
            Some(serial) => {
                if store.kind(&serial).is_none() {
                    return Err(ConfigError::UnknownRequestSerial(serial));
                }
                serial
            }
            None => first_public_key
                .or_else(|| first_in_store(KeyKind::PublicKey))
                .or(first_certificate)
                .or_else(|| first_in_store(KeyKind::PlatformCertificate))
                .ok_or(ConfigError::Missing(
                    "a WeChat Pay public key (id + PEM) or a platform certificate",
                ))?,
        };
        check_token("Wechatpay-Serial", &wechatpay_serial)?;
        if self.identity.scheme() == AuthScheme::Brand
            && store.kind(&wechatpay_serial) != Some(KeyKind::PublicKey)
        {
            return Err(ConfigError::BrandNeedsPublicKey);
        }
        let certificates = match self.certificates.take() {
            None => None,
            Some(_) if self.identity.scheme() == AuthScheme::Brand => {
                return Err(ConfigError::InvalidValue {
                    what: "platform certificate download",
                    reason: "brand APIs use the WeChat Pay public key only",
                })
            }
            Some(api_v3_key) => {
                let refresh = self.certificate_refresh;
                if refresh < Duration::from_secs(1) || refresh > MAX_CERTIFICATE_REFRESH {
                    return Err(ConfigError::InvalidValue {
                        what: "certificate refresh interval",
                        reason: "must be at least 1 second and at most 12 hours",
                    });
                }
                Some(CertificateSettings {
                    api_v3_key,
                    refresh,
                    at_start: self.certificates_at_start,
                })
            }
        };
        let encryptor = store
            .public_key(&wechatpay_serial)
            .and_then(|key| SensitiveEncryptor::new(key).ok())
            .map(Arc::new);
        Ok(Keys {
            store,
            wechatpay_serial,
            encryptor,
            certificates,
        })
    }

    /// Checks everything and builds the client.
    pub fn build(self) -> Result<crate::Client, ConfigError> {
        crate::Client::new(self.build_config()?)
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("identity", &self.identity)
            .field("serial_no", &self.serial_no)
            .field("base_url", &self.base_url)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

/// Values that go inside `key="…"` in `Authorization` or into a header.
fn check_token(what: &'static str, value: &str) -> Result<(), ConfigError> {
    if value.is_empty() {
        return Err(ConfigError::InvalidValue {
            what,
            reason: "must not be empty",
        });
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'"' && b != b',')
    {
        return Err(ConfigError::InvalidValue {
            what,
            reason: "must be visible ASCII without quotes, commas or spaces",
        });
    }
    Ok(())
}

fn parse_base_url(what: &'static str, url: &str) -> Result<Url, ConfigError> {
    let invalid = |reason: String| ConfigError::InvalidUrl {
        what,
        url: redact_credentials(url),
        reason,
    };
    if !url.contains("://") {
        // `127.0.0.1:8080` would otherwise read as "relative URL without a
        // base", and `localhost:8080` as a URL with the scheme `localhost`.
        return Err(invalid(
            "must start with http:// or https:// (e.g. http://127.0.0.1:8080)".into(),
        ));
    }
    let parsed = Url::parse(url).map_err(|e| invalid(e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https".into()));
    }
    if parsed.host_str().is_none() {
        return Err(invalid("no host".into()));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(invalid("must not have a query or fragment".into()));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid("must not carry credentials".into()));
    }
    Ok(parsed)
}

fn parse_proxy_url(url: &str) -> Result<Url, ConfigError> {
    let invalid = |reason: String| ConfigError::InvalidUrl {
        what: "proxy",
        url: redact_credentials(url),
        reason,
    };
    if !url.contains("://") {
        return Err(invalid(
            "must start with http:// or https:// (e.g. http://127.0.0.1:3128)".into(),
        ));
    }
    let parsed = Url::parse(url).map_err(|e| invalid(e.to_string()))?;
    if parsed.host_str().is_none() {
        return Err(invalid("no host".into()));
    }
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https".into()));
    }
    Ok(parsed)
}

/// A URL as errors show it: whatever stands before an `@` in its authority
/// (a user name, a password) becomes `***`, whether or not the URL parses
/// (`http://user:pw@proxy:99999`, a scheme-less `user:pw@proxy:3128`).
pub(crate) fn redact_credentials(url: &str) -> String {
    let authority_start = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[authority_start..];
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_len].rfind('@') {
        Some(at) => format!("{}***{}", &url[..authority_start], &rest[at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_reject_what_would_break_the_header() {
        assert!(check_token("mchid", "1900000001").is_ok());
        for bad in ["", "19 00", "19\"00", "19,00", "券"] {
            assert!(check_token("mchid", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn base_urls_must_be_plain_http() {
        assert!(parse_base_url("base URL", "http://127.0.0.1:8080/prefix").is_ok());
        for bad in ["ftp://x", "http://x/?q=1", "not a url", "http://u:p@x"] {
            assert!(parse_base_url("base URL", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn credentials_never_reach_an_error_message() {
        for (url, shown) in [
            ("http://user:hunter2@proxy:3128", "http://***@proxy:3128"),
            ("http://user:hunter2@proxy:99999", "http://***@proxy:99999"),
            ("user:hunter2@proxy:3128", "***@proxy:3128"),
            ("http://user@proxy/x@y", "http://***@proxy/x@y"),
            ("http://proxy:3128", "http://proxy:3128"),
        ] {
            assert_eq!(redact_credentials(url), shown, "{url}");
        }
        for url in ["http://user:hunter2@proxy:99999", "user:hunter2@proxy:3128"] {
            let error = parse_proxy_url(url).unwrap_err().to_string();
            assert!(!error.contains("hunter2"), "{error}");
        }
        let error = parse_base_url("base URL", "https://u:hunter2@h/")
            .unwrap_err()
            .to_string();
        assert!(!error.contains("hunter2"), "{error}");
    }

    #[test]
    fn a_base_url_without_scheme_says_so() {
        for bad in [
            "127.0.0.1:8080",
            "localhost:8080",
            "api.mch.weixin.qq.com",
            "",
        ] {
            let err = parse_base_url("base URL", bad).unwrap_err().to_string();
            assert!(
                err.contains("must start with http:// or https://"),
                "{bad}: {err}"
            );
            assert!(!err.contains("relative URL"), "{err}");
        }
    }
}
