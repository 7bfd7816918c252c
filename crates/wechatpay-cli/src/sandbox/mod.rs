//! `wechatpay sandbox`: every operation of the schema served on loopback,
//! checking requests and answering the way WeChat Pay does, with generated
//! keys, idempotent request numbers and injectable faults.

pub mod certificates;
pub mod faults;
pub mod idempotency;
pub mod keys;
pub mod replies;
pub mod server;
pub mod stats;
pub mod validate;

use std::io::Write as _;
use std::net::SocketAddr;

use crate::args::SandboxArgs;
use crate::exit::CliError;

pub use server::SandboxState;

/// Runs the sandbox until the process is stopped.
pub async fn run(args: &SandboxArgs) -> Result<(), CliError> {
    let addr = loopback_addr(&args.listen).await?;
    if args.stop_on_eof {
        std::thread::spawn(|| {
            let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
            std::process::exit(0);
        });
    }
    let default_faults = match &args.fault {
        Some(text) => {
            faults::Faults::parse(text).map_err(|e| CliError::config(format!("--fault: {e}")))?
        }
        None => faults::Faults::default(),
    };
    let (keys, created) = keys::SandboxKeys::load_or_create(&args.keys)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| CliError::config(format!("cannot listen on {addr}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| CliError::internal(e.to_string()))?;
    // The base URL is the first line on stdout: scripts and tests read it.
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "http://{local}");
    let _ = stdout.flush();
    if !args.quiet {
        let id = &keys.identity;
        eprintln!(
            "sandbox: {} keys in {}\n  mchid={} brand_id={} serial_no={} public_key_id={}\n  sign with {}, verify replies with {}; stats at GET /sandbox/stats",
            if created { "generated" } else { "reusing" },
            args.keys.display(),
            id.mchid,
            id.brand_id,
            id.serial_no,
            id.public_key_id,
            args.keys.join(keys::CLIENT_KEY_FILE).display(),
            args.keys.join(keys::WXP_PUB_FILE).display(),
        );
    }
    let state = SandboxState::new(keys, default_faults, args.quiet);
    server::serve(listener, state).await;
    Ok(())
}

/// Resolves `--listen`, refusing anything but loopback addresses.
pub async fn loopback_addr(listen: &str) -> Result<SocketAddr, CliError> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host(listen)
        .await
        .map_err(|e| CliError::config(format!("--listen {listen}: {e}")))?
        .collect();
    let refuse = || {
        CliError::config(format!(
            "--listen {listen}: the sandbox only listens on loopback (127.0.0.0/8 or [::1])"
        ))
    };
    if addrs.is_empty() || !addrs.iter().all(|a| a.ip().is_loopback()) {
        return Err(refuse());
    }
    Ok(addrs[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_loopback_is_accepted() {
        assert!(loopback_addr("127.0.0.1:0").await.is_ok());
        assert!(loopback_addr("[::1]:0").await.is_ok());
        for bad in ["0.0.0.0:8080", "192.168.1.2:80", "[::]:0", "nonsense"] {
            assert!(loopback_addr(bad).await.is_err(), "{bad}");
        }
    }
}
