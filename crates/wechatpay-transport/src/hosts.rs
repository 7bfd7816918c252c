//! Cross-city failover: the main host carries the traffic; after a
//! network-level failure there, requests go to the backup host until a
//! cool-down has passed, then the main host is tried again.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::Url;

/// Which of the two hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HostRole {
    Main,
    Backup,
}

/// The main and backup base URLs and the failover state.
#[derive(Debug)]
pub(crate) struct Hosts {
    main: Url,
    backup: Option<Url>,
    cooldown: Duration,
    /// When the main host last failed at the network level, while failed over.
    main_failed_at: Mutex<Option<Instant>>,
}

impl Hosts {
    pub(crate) fn new(main: Url, backup: Option<Url>, cooldown: Duration) -> Self {
        Hosts {
            main,
            backup,
            cooldown,
            main_failed_at: Mutex::new(None),
        }
    }

    /// Whether these are the hosts `main`, `backup` with `cooldown` (so their
    /// failover state can be shared).
    pub(crate) fn same(&self, main: &Url, backup: Option<&Url>, cooldown: Duration) -> bool {
        self.main == *main && self.backup.as_ref() == backup && self.cooldown == cooldown
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        // The state is a plain Option, valid whatever a panicking holder left.
        self.main_failed_at
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The host to use now.
    pub(crate) fn pick(&self) -> (HostRole, &Url) {
        let mut state = self.state();
        match (&self.backup, *state) {
            (Some(backup), Some(at)) if at.elapsed() < self.cooldown => (HostRole::Backup, backup),
            _ => {
                *state = None;
                (HostRole::Main, &self.main)
            }
        }
    }

    /// Records a network-level failure on `role`.
    pub(crate) fn network_failure(&self, role: HostRole) {
        if self.backup.is_none() {
            return;
        }
        let mut state = self.state();
        match role {
            HostRole::Main => {
                tracing::warn!(backup = %self.backup.as_ref().map(Url::as_str).unwrap_or(""), "main host failed at the network level; switching to the backup host");
                *state = Some(Instant::now());
            }
            // Both down: there is nothing better than trying the main host again.
            HostRole::Backup => *state = None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(cooldown: Duration, backup: bool) -> Hosts {
        Hosts::new(
            Url::parse("https://main.example").unwrap(),
            backup.then(|| Url::parse("https://backup.example").unwrap()),
            cooldown,
        )
    }

    #[test]
    fn fails_over_and_returns_after_the_cooldown() {
        let h = hosts(Duration::from_millis(40), true);
        assert_eq!(h.pick().0, HostRole::Main);
        h.network_failure(HostRole::Main);
        assert_eq!(h.pick().0, HostRole::Backup);
        assert_eq!(h.pick().0, HostRole::Backup);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(h.pick().0, HostRole::Main);
    }

    #[test]
    fn backup_failure_goes_back_to_main() {
        let h = hosts(Duration::from_secs(60), true);
        h.network_failure(HostRole::Main);
        assert_eq!(h.pick().0, HostRole::Backup);
        h.network_failure(HostRole::Backup);
        assert_eq!(h.pick().0, HostRole::Main);
    }

    #[test]
    fn without_backup_stays_on_main() {
        let h = hosts(Duration::from_secs(60), false);
        h.network_failure(HostRole::Main);
        assert_eq!(h.pick().0, HostRole::Main);
    }
}
