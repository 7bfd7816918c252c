//! One writer per journal file: an exclusive `flock` on `JOURNAL.lock` (Unix);
//! elsewhere no cross-process lock, so run one writer per journal at a time. The
//! campaign's journal and `wechatpay-notify`'s both use it.
//!
//! A separate file rather than the journal itself: SQLite's own POSIX locks on
//! the database are dropped when any descriptor of that file is closed.

use std::path::{Path, PathBuf};

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error("{} is in use (lock {} held)", .journal.display(), .lock.display())]
    Busy {
        /// The journal file.
        journal: PathBuf,
        /// The lock file next to it (`FILE.db.lock`).
        lock: PathBuf,
    },
    /// The lock file cannot be opened or locked.
    #[error("cannot lock {}", .lock.display())]
    Io {
        /// The lock file next to it (`FILE.db.lock`).
        lock: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

/// The lock file of `journal`: `JOURNAL.lock`.
pub fn lock_path(journal: &Path) -> PathBuf {
    let mut name = journal.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

#[cfg(unix)]
mod imp {
    use std::fs::{File, OpenOptions};
    use std::os::unix::io::AsRawFd;
    use std::path::Path;

    use super::{lock_path, LockError};

    /// An exclusive `flock` on `JOURNAL.lock`, released when dropped (or when the process dies).
    #[derive(Debug)]
    pub struct LockFile {
        _file: File,
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
        /// Takes the lock of `journal`, or says who has it.
        pub fn acquire(journal: &Path) -> Result<LockFile, LockError> {
            let lock = lock_path(journal);
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock)
                .map_err(|source| LockError::Io {
                    lock: lock.clone(),
                    source,
                })?;
            match try_lock(&file) {
                Ok(true) => Ok(LockFile { _file: file }),
                Ok(false) => Err(LockError::Busy {
                    journal: journal.to_owned(),
                    lock,
                }),
                Err(source) => Err(LockError::Io { lock, source }),
            }
        }

        /// Whether another process holds the lock of `journal` now.
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

    use super::LockError;

    /// No cross-process lock on this platform: run one writer per journal at a time.
    #[derive(Debug)]
    pub struct LockFile;

    impl LockFile {
        /// Always succeeds here.
        pub fn acquire(_journal: &Path) -> Result<LockFile, LockError> {
            Ok(LockFile)
        }

        /// Always false here.
        pub fn held_by_other(_journal: &Path) -> bool {
            false
        }
    }
}

pub use imp::LockFile;
