//! Command-line arguments (clap derive). Connection settings can also come
//! from environment variables or a TOML profile; see [`crate::config`].

// The doc comments below are the commands' --help text, written for a terminal.
#![allow(rustdoc::bare_urls, rustdoc::invalid_html_tags)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use wechatpay_campaign::QuotaScope;

/// Command-line interface of the `wechatpay` binary.
#[derive(Debug, Parser)]
#[command(
    name = "wechatpay",
    version,
    about = "Call, describe, sign and verify WeChat Pay product-coupon APIs; run a local sandbox",
    long_about = None,
)]
pub struct Cli {
    /// Log what the client does to standard error (-v: debug, -vv: trace;
    /// RUST_LOG=debug|trace or a target filter works too). The Authorization
    /// header and key material are never logged.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate, sign and send one request; print the verified reply, decoded.
    Call(CallArgs),
    /// Print everything the schema says about an operation (or list operations).
    Describe(DescribeArgs),
    /// Print the exact signed message, the signature and the Authorization header.
    Sign(SignArgs),
    /// Verify a captured reply or notification (and decrypt a notification's resource).
    Verify(VerifyArgs),
    /// Serve every operation on loopback with generated keys, like WeChat Pay would.
    Sandbox(SandboxArgs),
    /// Download the merchant's platform certificates (GET /v3/certificates).
    Certificates(CertificatesArgs),
    /// Send one operation to every row of a CSV at the documented rate, crash-safe, exactly once.
    Campaign(CampaignArgs),
    /// The brand's notify URL: journal verified notifications, confirm each sent coupon once.
    Notify(NotifyArgs),
}

/// Who is calling and which WeChat Pay key to trust. Precedence: flag > environment > profile.
#[derive(Debug, Clone, Default, Args)]
pub struct ConnArgs {
    /// TOML profile file with any of the settings below (relative key paths are
    /// relative to the profile's directory).
    #[arg(
        long,
        env = "WECHATPAY_PROFILE",
        hide_env_values = true,
        value_name = "FILE"
    )]
    pub profile: Option<PathBuf>,
    /// API base URL [default: https://api.mch.weixin.qq.com].
    #[arg(
        long,
        env = "WECHATPAY_BASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub base_url: Option<String>,
    /// HTTP proxy for every request, e.g. http://127.0.0.1:3128 (https targets
    /// go through it with CONNECT). Without it, HTTPS_PROXY (or https_proxy)
    /// is used for an https:// base URL unless NO_PROXY (or no_proxy) names its
    /// host; a proxy without a scheme is http://.
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,
    /// Merchant id (商户号), for merchant operations, and the service provider's (服务商)
    /// for partner operations; `notify serve` confirms PRODUCT_COUPON_SP events as it.
    #[arg(long, env = "WECHATPAY_MCHID", hide_env_values = true)]
    pub mchid: Option<String>,
    /// Brand id (品牌ID), for brand operations; `notify serve` confirms PRODUCT_COUPON
    /// events as it.
    #[arg(long, env = "WECHATPAY_BRAND_ID", hide_env_values = true)]
    pub brand_id: Option<String>,
    /// API certificate serial number.
    #[arg(long, env = "WECHATPAY_SERIAL_NO", hide_env_values = true)]
    pub serial_no: Option<String>,
    /// Path to the PEM private key (PKCS#8 or PKCS#1).
    #[arg(
        long,
        env = "WECHATPAY_PRIVATE_KEY",
        hide_env_values = true,
        value_name = "PATH"
    )]
    pub private_key: Option<PathBuf>,
    /// WeChat Pay public key id (PUB_KEY_ID_...).
    #[arg(
        long,
        env = "WECHATPAY_PUBLIC_KEY_ID",
        hide_env_values = true,
        value_name = "ID"
    )]
    pub public_key_id: Option<String>,
    /// Path to the WeChat Pay public key PEM.
    #[arg(
        long,
        env = "WECHATPAY_PUBLIC_KEY",
        hide_env_values = true,
        value_name = "PATH"
    )]
    pub public_key: Option<PathBuf>,
    /// A WeChat Pay platform certificate PEM (repeatable), for merchants not
    /// (only) on WeChat Pay public keys; `wechatpay certificates --out DIR` writes them.
    #[arg(long = "platform-cert", value_name = "PATH")]
    pub platform_certs: Vec<PathBuf>,
}

/// The sane range of `--timeout`, in seconds: below 0.1 s no reply can arrive (every
/// request would time out, `5e-324` included); above an hour a hung connection is forgotten.
pub const TIMEOUT_RANGE: (f64, f64) = (0.1, 3600.0);

/// `--timeout`: a number of seconds within [`TIMEOUT_RANGE`].
pub fn parse_timeout(text: &str) -> Result<f64, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| "must be a number of seconds, e.g. 30 or 2.5".to_owned())?;
    let (min, max) = TIMEOUT_RANGE;
    if !(secs.is_finite() && (min..=max).contains(&secs)) {
        return Err(format!("must be from {min} to {max} seconds"));
    }
    Ok(secs)
}

/// `--lease`: seconds, 5 (several heartbeats, more than a live worker's silence) to 3600.
pub fn parse_lease(text: &str) -> Result<f64, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| "must be a number of seconds, e.g. 30".to_owned())?;
    if !(secs.is_finite() && (5.0..=3600.0).contains(&secs)) {
        return Err("must be from 5 to 3600 seconds".to_owned());
    }
    Ok(secs)
}

/// `wechatpay call`.
#[derive(Debug, Args)]
pub struct CallArgs {
    /// Operation id (listed below).
    #[arg(value_name = "OPERATION-ID")]
    pub operation: String,
    /// Request body: JSON text, `@file.json`, or `@-` for standard input. Path
    /// and query parameters (e.g. `openid`, `page_size`) go in the body, as in
    /// the doc's examples.
    #[arg(long, value_name = "JSON|@FILE", required_unless_present = "file")]
    pub body: Option<String>,
    /// The file of a multipart operation (upload-image): its `filename` and
    /// `sha256` are computed from it (a `--body` that states different ones is refused).
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// Give up on a reply after this many seconds (per attempt; 0.1 to 3600).
    #[arg(long, default_value_t = 30.0, value_name = "SECS", value_parser = parse_timeout, allow_negative_numbers = true)]
    pub timeout: f64,
    /// Retries after a network error, 5xx or 429 (same body, so the same request number).
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub retries: u32,
    /// Print the verified reply body as WeChat Pay signed it, without decoding it
    /// into the operation's response type: what a reply that verified but does
    /// not decode (exit 8) said. Error replies and replies that do not verify are
    /// never printed, --raw or not.
    #[arg(long)]
    pub raw: bool,
    /// For a list operation: follow `next_page_token` to the last page and print
    /// one JSON object per item (JSON lines) instead of the page.
    #[arg(long, conflicts_with_all = ["raw", "file"])]
    pub all: bool,
    /// APIv3 key: for a merchant operation, download platform certificates
    /// when a reply names one not configured (prefer WECHATPAY_APIV3_KEY).
    #[arg(
        long,
        env = "WECHATPAY_APIV3_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub apiv3_key: Option<String>,
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// `wechatpay certificates`.
#[derive(Debug, Args)]
pub struct CertificatesArgs {
    /// Also write each certificate to DIR/wechatpay_<SERIAL>.pem (created if needed).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Give up on a reply after this many seconds (more than 0).
    #[arg(long, default_value_t = 30.0, value_name = "SECS", value_parser = parse_timeout, allow_negative_numbers = true)]
    pub timeout: f64,
    /// APIv3 key, to decrypt the certificates (prefer WECHATPAY_APIV3_KEY or the profile).
    #[arg(
        long,
        env = "WECHATPAY_APIV3_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub apiv3_key: Option<String>,
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// `wechatpay describe`.
#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// Operation id; without it, every operation is listed.
    #[arg(value_name = "OPERATION-ID")]
    pub operation: Option<String>,
}

/// Which signature scheme `sign` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthArg {
    /// WECHATPAY2-SHA256-RSA2048 with mchid.
    Merchant,
    /// WECHATPAY-BRAND-SHA256-RSA2048 with brand_id.
    Brand,
}

/// `wechatpay sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// HTTP method, e.g. POST.
    #[arg(long)]
    pub method: String,
    /// Path plus `?query`, exactly as sent, e.g. /v3/marketing/busifavor/product-coupons/send.
    #[arg(long, value_name = "PATH?QUERY")]
    pub url: String,
    /// Body exactly as sent: JSON text or `@file` (bytes are signed as they are). Empty if omitted.
    #[arg(long, value_name = "JSON|@FILE")]
    pub body: Option<String>,
    /// Unix seconds to sign with [default: now].
    #[arg(long)]
    pub timestamp: Option<i64>,
    /// Nonce to sign with [default: 32 random characters].
    #[arg(long)]
    pub nonce: Option<String>,
    /// Signature scheme [default: from the operation the URL matches, else brand for /brand/ paths, else merchant].
    #[arg(long, value_enum)]
    pub auth: Option<AuthArg>,
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// `wechatpay verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A captured header, `Name: value` (repeatable): the five Wechatpay-* headers.
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// The captured body exactly as received: text or `@file`.
    #[arg(long, value_name = "TEXT|@FILE")]
    pub body: String,
    /// Verify as of this Unix time (when the reply was captured) instead of now.
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub at: Option<i64>,
    /// APIv3 key: also decrypt a notification's resource and print the plaintext.
    #[arg(
        long,
        env = "WECHATPAY_APIV3_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub apiv3_key: Option<String>,
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// `wechatpay sandbox`.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Loopback address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR:PORT")]
    pub listen: String,
    /// Directory for the generated keys and sandbox.json (created; reused on later starts).
    #[arg(
        long,
        env = "WECHATPAY_SANDBOX_KEYS",
        hide_env_values = true,
        value_name = "DIR"
    )]
    pub keys: PathBuf,
    /// Fault applied to every request (same syntax as the X-Sandbox-Fault header).
    #[arg(long, value_name = "FAULT")]
    pub fault: Option<String>,
    /// Per-brand limit of the user-coupon operations in requests per second
    /// (documented: 500), or `off` for no limits at all; the management
    /// operations keep their documented 20/s unless `off`.
    #[arg(long, value_name = "N|off")]
    pub rate_limit: Option<wechatpay_sandbox::RateLimit>,
    /// Whose bucket a service provider's (partner) calls take from: `per-brand`
    /// (default: each brand the provider acts for has its own, as for brands'
    /// own calls) or `per-provider` (all brands of one sp_mchid share it). The
    /// partner pages print N/s without saying which.
    #[arg(long, value_name = "per-brand|per-provider")]
    pub partner_quota: Option<wechatpay_sandbox::PartnerQuota>,
    /// Keep the state (coupons, stocks, request numbers, clock) in this SQLite
    /// file across restarts [default: a temporary database, gone at exit].
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Refuse confirm-send-user-product-coupon and its partner twin (400
    /// INVALID_REQUEST, 268578367) until the coupon's PRODUCT_COUPON.SEND (a
    /// provider's: PRODUCT_COUPON_SP.SEND) was delivered, i.e. answered 2xx
    /// by the notify URL. A refused confirm does not use up its out_request_no:
    /// send the same confirm again after the delivery.
    #[arg(long)]
    pub confirm_after_notify: bool,
    /// Do not log requests to standard error.
    #[arg(long)]
    pub quiet: bool,
    /// Exit when standard input reaches end of file, so a sandbox started by a
    /// test or script never outlives its parent.
    #[arg(long)]
    pub stop_on_eof: bool,
}

/// The sane range of `--rate`, in requests per second: below 0.01 (one request every 100 s)
/// a campaign would never visibly move (`1e-9` is one request in 30 years); above 100,000 is
/// far beyond any documented limit.
pub const RATE_RANGE: (f64, f64) = (0.01, 100_000.0);

/// `--rate`: a number of requests per second within [`RATE_RANGE`].
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let rate: f64 = text
        .trim()
        .parse()
        .map_err(|_| "must be a number of requests per second, e.g. 500 or 0.5".to_owned())?;
    let (min, max) = RATE_RANGE;
    if !(rate.is_finite() && (min..=max).contains(&rate)) {
        return Err(format!("must be from {min} to {max} requests per second"));
    }
    Ok(rate)
}

/// `--partner-quota`.
pub fn parse_quota(text: &str) -> Result<QuotaScope, String> {
    text.trim().parse()
}

/// `wechatpay campaign`.
#[derive(Debug, Args)]
pub struct CampaignArgs {
    #[command(subcommand)]
    pub command: CampaignCommand,
}

/// The campaign subcommands.
#[derive(Debug, Subcommand)]
pub enum CampaignCommand {
    /// Send the operation to every row of the input (the same command resumes from the journal).
    Send(Box<CampaignSendArgs>),
    /// Counts by state (and per brand, for a service provider's campaign) and the rate of the last run.
    Status(CampaignStatusArgs),
    /// One line per input row: its columns, request number, status, result fields, error code.
    Report(CampaignReportArgs),
}

/// `wechatpay campaign send`.
#[derive(Debug, Args)]
pub struct CampaignSendArgs {
    /// Operation id: any operation with a request number (send-user-product-coupon, send-product-coupon,
    /// partner-send-user-product-coupon, …).
    #[arg(value_name = "OPERATION-ID")]
    pub operation: String,
    /// CSV with a header row; each column fills the body field of its name
    /// (path parameters included, e.g. openid). Without a column for the
    /// request number, each row gets one derived from the campaign and the row.
    /// A service provider's operation (partner-…) takes each row's brand from a
    /// brand_id column, else from the template; rows of many brands mix freely.
    #[arg(long, value_name = "FILE.csv")]
    pub input: PathBuf,
    /// Template: the fields every row shares, `@template.json` (or JSON text).
    #[arg(long, value_name = "@TEMPLATE.json")]
    pub body: String,
    /// The journal: an SQLite file (one sender at a time), or a PostgreSQL database
    /// (`postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=require…]`) shared by any
    /// number of `campaign send` workers on any machines, each taking rows under a
    /// lease. Created on the first run, bound to the input and template; the same
    /// command resumes from it (or joins the workers on it). The password is never
    /// printed.
    #[arg(
        long,
        env = "WECHATPAY_JOURNAL",
        hide_env_values = true,
        value_name = "FILE.db|postgres://…"
    )]
    pub journal: PathBuf,
    /// The confirm step's requests per second, per --partner-quota bucket like --rate
    /// [default: the confirm operation's documented limit, 500 for the user-coupon confirms].
    #[arg(long, value_name = "N", value_parser = parse_rate)]
    pub confirm_rate: Option<f64>,
    /// On a PostgreSQL journal: how long the rows a worker takes stay its own
    /// without its heartbeat (about one a second). A worker that dies on another
    /// machine delays its rows this long; one restarted on the same machine takes
    /// its rows back at once.
    #[arg(long, default_value_t = wechatpay_campaign::journal::LEASE.as_secs_f64(), value_name = "SECS", value_parser = parse_lease)]
    pub lease: f64,
    /// Requests per second, 0.01 to 100000 [default: the operation's documented limit, e.g.
    /// 500 for send-user-product-coupon; 100 when the page documents none]. For a
    /// service provider's operation (a brand_id per row) it is the rate of one
    /// --partner-quota bucket: each brand's (per-brand), or all brands' together (per-provider).
    /// The confirms keep their own documented rate, per bucket alike.
    #[arg(long, value_name = "N", value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// What one rate limit counts, for a service provider's operation (a brand_id
    /// per row; other operations have one bucket): per-brand, each brand paced at
    /// --rate and slowed by its own 429s (the brand pages' dimension); per-provider,
    /// all brands together at --rate, sharing their 429s. The partner pages print
    /// the rate without a dimension: if per-brand draws 429s across brands, use
    /// per-provider. The sandbox's --partner-quota is the server side of the same choice.
    #[arg(long, value_name = "per-brand|per-provider", default_value = "per-brand", value_parser = parse_quota)]
    pub partner_quota: QuotaScope,
    /// The most requests in flight, per --partner-quota bucket [default: just enough to hold the rate].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub concurrency: Option<u32>,
    /// Give up on a reply after this many seconds, 0.1 to 3600 (per attempt; the row is then sent again with the same number).
    #[arg(long, default_value_t = 30.0, value_name = "SECS", value_parser = parse_timeout, allow_negative_numbers = true)]
    pub timeout: f64,
    /// Stop after the send: do not confirm the coupons it issues (they stay
    /// CONFIRMING, unusable, and their rows pending; the same command without
    /// this flag confirms them later). By default a row succeeds only once the
    /// follow-up the schema declares (confirm-send-user-product-coupon) took effect.
    #[arg(long)]
    pub no_confirm: bool,
    /// APIv3 key: for a merchant operation, download platform certificates
    /// when a reply names one not configured (prefer WECHATPAY_APIV3_KEY).
    #[arg(
        long,
        env = "WECHATPAY_APIV3_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub apiv3_key: Option<String>,
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// `wechatpay campaign status`.
#[derive(Debug, Args)]
pub struct CampaignStatusArgs {
    /// The campaign's journal: an SQLite file or a `postgres://` URL. On PostgreSQL,
    /// the live workers, their leases and each brand's rate across them are shown.
    #[arg(
        long,
        env = "WECHATPAY_JOURNAL",
        hide_env_values = true,
        value_name = "FILE.db|postgres://…"
    )]
    pub journal: PathBuf,
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormatArg {
    Csv,
    Json,
}

/// `wechatpay campaign report`.
#[derive(Debug, Args)]
pub struct CampaignReportArgs {
    /// The campaign's journal: an SQLite file or a `postgres://` URL.
    #[arg(
        long,
        env = "WECHATPAY_JOURNAL",
        hide_env_values = true,
        value_name = "FILE.db|postgres://…"
    )]
    pub journal: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormatArg::Csv)]
    pub format: ReportFormatArg,
}

/// `wechatpay notify`.
#[derive(Debug, Args)]
pub struct NotifyArgs {
    #[command(subcommand)]
    pub command: NotifyCommand,
}

/// The notify subcommands.
#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// Serve the notify URL: verify, journal, acknowledge; confirm every sent coupon once.
    ///
    /// A brand's URL (--brand-id): each PRODUCT_COUPON.SEND is confirmed with
    /// confirm-send-user-product-coupon as the brand. A service provider's URL (--mchid,
    /// the provider's): each PRODUCT_COUPON_SP.SEND is confirmed with
    /// partner-confirm-send-user-product-coupon as the provider, for the brand the event
    /// names. With both settings, both (they sign with the same --serial-no and
    /// --private-key). An event whose confirmer is not configured is journaled and
    /// printed `pending` with error_code NOT_CONFIGURED; a run with that setting
    /// confirms it.
    ///
    /// The first stdout line is the URL (http://ADDR:PORT/PATH, the real port for port
    /// 0); then one JSON line per event once its confirm is settled (`confirm`:
    /// confirmed, failed, pending or not_needed; `brand_id` the brand it concerns). A
    /// notification is answered 2xx only after it is in the journal; one that does not
    /// verify is answered 4xx and never recorded. The same command on the same journal
    /// resumes: pending confirms are performed, and nothing already printed is printed
    /// again. Stops on SIGINT/SIGTERM.
    Serve(Box<NotifyServeArgs>),
    /// One line per journaled event: event_id, event_type, coupon_code, openid, brand_id, confirm, ….
    Report(NotifyReportArgs),
}

/// `wechatpay notify serve`.
#[derive(Debug, Args)]
pub struct NotifyServeArgs {
    /// Address to listen on (port 0 picks a free port). WeChat Pay posts to an HTTPS URL:
    /// put a TLS proxy in front of it.
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR:PORT")]
    pub listen: String,
    /// The path of the notify URL; other paths are answered 404.
    #[arg(long, default_value = "/notify", value_name = "PATH")]
    pub path: String,
    /// The journal (SQLite): created if absent (refused if it is another kind of file),
    /// resumed if present. Opened before listening.
    #[arg(long, value_name = "FILE.db")]
    pub journal: PathBuf,
    /// Journal and acknowledge only: PRODUCT_COUPON.SEND and PRODUCT_COUPON_SP.SEND events
    /// stay `pending` (and are printed as such); a later run without this flag confirms them.
    #[arg(long)]
    pub no_confirm: bool,
    /// The AppID a brand's coupons are confirmed for (its notification does not carry it;
    /// a payload `appid`, if WeChat Pay ever sends one, is preferred). Needed with
    /// --brand-id unless --no-confirm; a provider's events carry their own.
    #[arg(
        long,
        env = "WECHATPAY_APPID",
        hide_env_values = true,
        value_name = "APPID"
    )]
    pub appid: Option<String>,
    /// APIv3 key: decrypts the notifications (prefer WECHATPAY_APIV3_KEY or the profile).
    #[arg(
        long,
        env = "WECHATPAY_APIV3_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub apiv3_key: Option<String>,
    /// Confirms per second, 0.01 to 100000 [default: the documented limit of the confirm
    /// operations, 500].
    #[arg(long, value_name = "N", value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// Give up on a confirm's reply after this many seconds, 0.1 to 3600 (it is sent again with the same number).
    #[arg(long, default_value_t = 30.0, value_name = "SECS", value_parser = parse_timeout, allow_negative_numbers = true)]
    pub timeout: f64,
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// `wechatpay notify report`.
#[derive(Debug, Args)]
pub struct NotifyReportArgs {
    /// The notify journal.
    #[arg(long, value_name = "FILE.db")]
    pub journal: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormatArg::Csv)]
    pub format: ReportFormatArg,
}

/// The connection flags each subcommand reads; the others are accepted (so
/// shared environment variables and profiles keep working) but hidden from
/// its `--help`.
const IGNORED: [(&str, &[&str]); 2] = [
    (
        "sign",
        &["base_url", "public_key_id", "public_key", "platform_certs"],
    ),
    (
        "verify",
        &["base_url", "mchid", "brand_id", "serial_no", "private_key"],
    ),
];

/// The clap command with every subcommand's help trimmed to what it reads.
pub fn command() -> clap::Command {
    let mut command = <Cli as clap::CommandFactory>::command();
    for (sub, ignored) in IGNORED {
        command = command.mut_subcommand(sub, |mut c| {
            for id in ignored {
                c = c.mut_arg(*id, |a| a.hide(true));
            }
            c
        });
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    fn help(sub: &str) -> String {
        command()
            .find_subcommand_mut(sub)
            .unwrap()
            .render_long_help()
            .to_string()
    }

    #[test]
    fn sign_and_verify_help_list_only_the_flags_they_read() {
        let sign = help("sign");
        for hidden in [
            "--base-url",
            "--public-key-id",
            "--public-key ",
            "--platform-cert",
        ] {
            assert!(!sign.contains(hidden), "{hidden} in sign --help");
        }
        for shown in ["--mchid", "--serial-no", "--private-key", "--nonce"] {
            assert!(sign.contains(shown), "{shown} not in sign --help");
        }
        let verify = help("verify");
        for hidden in [
            "--base-url",
            "--mchid",
            "--brand-id",
            "--serial-no",
            "--private-key",
        ] {
            assert!(!verify.contains(hidden), "{hidden} in verify --help");
        }
        for shown in ["--public-key-id", "--public-key", "--platform-cert", "--at"] {
            assert!(verify.contains(shown), "{shown} not in verify --help");
        }
        // Hidden, not removed: a shared setting still parses.
        command()
            .try_get_matches_from([
                "wechatpay",
                "sign",
                "--method",
                "GET",
                "--url",
                "/v3/x",
                "--base-url",
                "http://127.0.0.1:1",
            ])
            .unwrap();
    }

    #[test]
    fn timeouts_must_be_positive() {
        assert_eq!(parse_timeout("2.5"), Ok(2.5));
        for bad in ["0", "-1", "nan", "inf", "1e9", "soon", "", "5e-324", "0.09"] {
            assert!(parse_timeout(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_timeout("0.1"), Ok(0.1));
        assert_eq!(parse_timeout("3600"), Ok(3600.0));
        let message = parse_timeout("5e-324").unwrap_err();
        assert_eq!(message, "must be from 0.1 to 3600 seconds");
        let err = command()
            .try_get_matches_from(["wechatpay", "call", "x", "--body", "{}", "--timeout", "-1"])
            .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation, "{err}");
        assert!(err.to_string().contains("--timeout"), "{err}");
    }

    #[test]
    fn rates_must_be_within_the_stated_range() {
        assert_eq!(parse_rate("0.5"), Ok(0.5));
        assert_eq!(parse_rate("0.01"), Ok(0.01));
        for bad in ["0", "-1", "1e-9", "0.009", "100001", "nan", "inf", "fast"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_rate("1e-9").unwrap_err(),
            "must be from 0.01 to 100000 requests per second"
        );
    }
}
