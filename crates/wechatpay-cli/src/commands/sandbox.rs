//! `wechatpay sandbox`: the thin subcommand over the `wechatpay-sandbox` crate.
//! The first stdout line is the base URL (scripts and tests read it).

use std::io::Write as _;

use wechatpay_sandbox::{keys, Options, SandboxError};

use crate::args::SandboxArgs;
use crate::exit::{error_chain, CliError};

impl From<SandboxError> for CliError {
    fn from(e: SandboxError) -> Self {
        if e.is_config() {
            CliError::config(error_chain(&e))
        } else {
            CliError::internal(error_chain(&e))
        }
    }
}

/// Runs the sandbox until the process is stopped (or stdin closes, with `--stop-on-eof`).
pub async fn run(args: &SandboxArgs) -> Result<(), CliError> {
    if args.stop_on_eof {
        std::thread::spawn(|| {
            let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
            std::process::exit(0);
        });
    }
    let options = Options {
        listen: args.listen.clone(),
        fault: args.fault.clone(),
        log: !args.quiet,
        state: args.state.clone(),
        rate_limit: args.rate_limit.unwrap_or_default(),
        partner_quota: args.partner_quota.unwrap_or_default(),
        ..Options::new(&args.keys)
    }
    .confirm_after_notify(args.confirm_after_notify);
    let bound = wechatpay_sandbox::bind(&options).await?;
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "{}", bound.base_url);
    let _ = stdout.flush();
    if !args.quiet {
        let id = &bound.keys.identity;
        eprintln!(
            "sandbox: {} keys in {}\n  mchid={} brand_id={} serial_no={} public_key_id={}\n  sign with {}, verify replies with {}; stats at GET /sandbox/stats\n  state: {}\n  confirm: {}",
            if bound.created { "generated" } else { "reusing" },
            args.keys.display(),
            id.mchid,
            id.brand_id,
            id.serial_no,
            id.public_key_id,
            args.keys.join(keys::CLIENT_KEY_FILE).display(),
            args.keys.join(keys::WXP_PUB_FILE).display(),
            args.state.as_ref().map_or_else(
                || "temporary (use --state FILE to keep it)".to_owned(),
                |p| p.display().to_string()
            ),
            if args.confirm_after_notify {
                "after the coupon's PRODUCT_COUPON.SEND was delivered (--confirm-after-notify)"
            } else {
                "as soon as the coupon is CONFIRMING"
            },
        );
    }
    bound.serve().await;
    Ok(())
}
