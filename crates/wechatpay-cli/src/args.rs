//! Command-line arguments (clap derive). Connection settings can also come
//! from environment variables or a TOML profile; see [`crate::config`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Command-line interface of the `wechatpay` binary.
#[derive(Debug, Parser)]
#[command(
    name = "wechatpay",
    version,
    about = "Call, describe, sign and verify WeChat Pay product-coupon APIs; run a local sandbox",
    long_about = None,
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate, sign and send one request; print the verified reply body.
    Call(CallArgs),
    /// Print everything the schema says about an operation (or list operations).
    Describe(DescribeArgs),
    /// Print the exact signed message, the signature and the Authorization header.
    Sign(SignArgs),
    /// Verify a captured reply or notification (and decrypt a notification's resource).
    Verify(VerifyArgs),
    /// Serve every operation on loopback with generated keys, like WeChat Pay would.
    Sandbox(SandboxArgs),
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
    /// Merchant id (商户号), for merchant operations.
    #[arg(long, env = "WECHATPAY_MCHID", hide_env_values = true)]
    pub mchid: Option<String>,
    /// Brand id (品牌ID), for brand operations.
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
}

/// `wechatpay call`.
#[derive(Debug, Args)]
pub struct CallArgs {
    /// Operation id (listed below).
    #[arg(value_name = "OPERATION-ID")]
    pub operation: String,
    /// Request body: JSON text, `@file.json`, or `@-` for standard input. Path
    /// parameters (e.g. `openid`) go in the body, as in the doc's examples.
    #[arg(long, value_name = "JSON|@FILE")]
    pub body: String,
    /// Give up on a reply after this many seconds (per attempt).
    #[arg(long, default_value_t = 30.0, value_name = "SECS")]
    pub timeout: f64,
    /// Retries after a network error, 5xx or 429 (same body, so the same request number).
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub retries: u32,
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
    #[arg(long, env = "WECHATPAY_SANDBOX_KEYS", value_name = "DIR")]
    pub keys: PathBuf,
    /// Fault applied to every request (same syntax as the X-Sandbox-Fault header).
    #[arg(long, value_name = "FAULT")]
    pub fault: Option<String>,
    /// Do not log requests to standard error.
    #[arg(long)]
    pub quiet: bool,
    /// Exit when standard input reaches end of file, so a sandbox started by a
    /// test or script never outlives its parent.
    #[arg(long)]
    pub stop_on_eof: bool,
}
