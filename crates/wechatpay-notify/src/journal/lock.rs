//! One writer per journal: an exclusive `flock` on `JOURNAL.lock` (Unix), so two
//! receivers never confirm from one journal at once; elsewhere no cross-process
//! lock, so run one receiver per journal.
//!
//! A separate file rather than the journal itself: SQLite's own POSIX locks on
//! the database are dropped when any descriptor of that file is closed.

use std::path::{Path, PathBuf};

use super::JournalError;

/// The lock file of `journal`.
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

    use super::{lock_path, JournalError};

    /// An exclusive `flock` on `JOURNAL.lock`, released when dropped (or when the process dies).
    #[derive(Debug)]
    pub struct LockFile {
        _file: File,
    }

    impl LockFile {
        pub fn acquire(journal: &Path) -> Result<LockFile, JournalError> {
            let path = lock_path(journal);
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(|e| JournalError::Create {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
            // SAFETY: flock on a descriptor this function owns; no memory is involved.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if rc == 0 {
                return Ok(LockFile { _file: file });
            }
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
                Err(JournalError::Busy {
                    path: journal.to_owned(),
                })
            } else {
                Err(JournalError::Create {
                    path,
                    reason: format!("cannot lock: {e}"),
                })
            }
        }
    }
}

#[cfg(not(unix))]
mod imp {
    use std::path::Path;

    use super::JournalError;

    /// No cross-process lock on this platform.
    #[derive(Debug)]
    pub struct LockFile;

    impl LockFile {
        pub fn acquire(_journal: &Path) -> Result<LockFile, JournalError> {
            Ok(LockFile)
        }
    }
}

pub use imp::LockFile;
