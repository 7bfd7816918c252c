//! Ctrl-C or SIGTERM, for the long-running commands (`campaign send`, `notify serve`).

/// Resolves at the next SIGINT (Ctrl-C) or, on Unix, SIGTERM.
#[cfg(unix)]
pub async fn interrupted() {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// Resolves at the next Ctrl-C.
#[cfg(not(unix))]
pub async fn interrupted() {
    let _ = tokio::signal::ctrl_c().await;
}
