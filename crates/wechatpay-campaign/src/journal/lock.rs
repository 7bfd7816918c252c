//! One `send` per journal: an exclusive `flock` on `JOURNAL.lock` (Unix); elsewhere
//! no cross-process lock, so run one `send` per journal at a time.

#[cfg(unix)]
mod imp {
    use std::fs::{File, OpenOptions};
    use std::os::unix::io::AsRawFd;
    use std::path::{Path, PathBuf};

    use crate::error::CampaignError;

    /// An exclusive `flock` on `JOURNAL.lock`, released when dropped (or when the process dies).
    pub struct LockFile {
        _file: File,
    }

    fn lock_path(journal: &Path) -> PathBuf {
        let mut name = journal.as_os_str().to_owned();
        name.push(".lock");
        PathBuf::from(name)
    }

    fn try_lock(file: &File) -> std::io::Result<bool> {
        // SAFETY: flock on a file descriptor this function borrows; no memory is involved.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc == 0 {
            return Ok(true);
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
            Ok(false)
        } else {
            Err(e)
        }
    }

    impl LockFile {
        pub fn acquire(journal: &Path) -> Result<LockFile, CampaignError> {
            let path = lock_path(journal);
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(|e| {
                    CampaignError::Journal(format!("cannot open {}: {e}", path.display()))
                })?;
            match try_lock(&file) {
                Ok(true) => Ok(LockFile { _file: file }),
                Ok(false) => Err(CampaignError::Busy(format!(
                    "another `wechatpay campaign send` is running on {} (lock {} held); wait for it or stop it first",
                    journal.display(),
                    path.display()
                ))),
                Err(e) => Err(CampaignError::Journal(format!("cannot lock {}: {e}", path.display()))),
            }
        }

        pub fn held_by_other(journal: &Path) -> bool {
            let Ok(file) = File::open(lock_path(journal)) else {
                return false;
            };
            // Taking it succeeds only if nobody holds it; it is released at once on drop.
            matches!(try_lock(&file), Ok(false))
        }
    }
}

#[cfg(not(unix))]
mod imp {
    use std::path::Path;

    use crate::error::CampaignError;

    /// No cross-process lock on this platform: run one `send` per journal at a time.
    pub struct LockFile;

    impl LockFile {
        pub fn acquire(_journal: &Path) -> Result<LockFile, CampaignError> {
            Ok(LockFile)
        }

        pub fn held_by_other(_journal: &Path) -> bool {
            false
        }
    }
}

pub use imp::LockFile;
