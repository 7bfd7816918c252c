//! Fetching WeChat Pay's keys again when a notification names a serial the receiver does
//! not know: a merchant or service provider on platform certificates receives the first
//! notification signed with a rotated certificate before any call of its own has
//! downloaded it, and would otherwise refuse every delivery until one does.
//!
//! Anyone can send a notification naming any serial, so a download happens at most once a
//! minute; between two, an unknown serial is refused at once.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

/// The download: e.g. `wechatpay_transport::Client::update_certificates`.
pub type Refresh = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// A rate-limited key download.
pub(crate) struct KeyRefresh {
    refresh: Refresh,
    last: Mutex<Option<Instant>>,
}

impl KeyRefresh {
    /// The shortest time between two downloads.
    pub const MIN_INTERVAL: Duration = Duration::from_secs(60);

    pub(crate) fn new(refresh: Refresh) -> Self {
        KeyRefresh {
            refresh,
            last: Mutex::new(None),
        }
    }

    /// Downloads the keys unless that happened less than [`Self::MIN_INTERVAL`] ago;
    /// returns whether it did (and so whether verifying again can help). Concurrent
    /// callers wait for one download.
    pub(crate) async fn refresh(&self, now: Instant) -> bool {
        let mut last = self.last.lock().await;
        if last.is_some_and(|at| now.saturating_duration_since(at) < Self::MIN_INTERVAL) {
            return false;
        }
        *last = Some(now);
        (self.refresh)().await;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn downloads_at_most_once_a_minute() {
        let count = Arc::new(AtomicUsize::new(0));
        let counter = count.clone();
        let refresh = KeyRefresh::new(Arc::new(move || {
            let counter = counter.clone();
            Box::pin(async move {
                counter.fetch_add(1, Ordering::SeqCst);
            })
        }));
        let t0 = Instant::now();
        assert!(refresh.refresh(t0).await);
        assert!(!refresh.refresh(t0 + Duration::from_secs(59)).await);
        assert!(refresh.refresh(t0 + Duration::from_secs(60)).await);
        assert_eq!(count.load(Ordering::SeqCst), 2);
    }
}
