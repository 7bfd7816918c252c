//! Why a sandbox could not start. Every message names the file, flag or address at fault.
//!
//! A failure of another library (a file that cannot be read, a key that does
//! not parse, SQLite) is the `source()` of the variant that names what it was
//! about; `Display` never repeats it, so an error report prints each cause once.

use std::path::PathBuf;

/// A sandbox that cannot start as configured.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// A setting (address, fault, keys directory, key file) is not usable.
    #[error("{0}")]
    Config(String),
    /// A file of the keys directory cannot be read, created or written.
    #[error("cannot {action} {}{hint}", .path.display())]
    File {
        /// `read`, `write`, `create`.
        action: &'static str,
        /// The file (or directory).
        path: PathBuf,
        /// What to do about it, with a leading space, or empty.
        hint: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A key file of the keys directory holds no usable key.
    #[error("{}: not a usable key", .path.display())]
    Key {
        /// The key file.
        path: PathBuf,
        /// Why the key was refused.
        #[source]
        source: wechatpay_transport::KeyError,
    },
    /// `sandbox.json` does not read as the sandbox's identity.
    #[error("{}: not a sandbox identity file", .path.display())]
    Identity {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The `--state` database cannot be opened or used.
    #[error("--state {name}: the state database cannot be used")]
    State {
        /// The state file as given (or `(temporary)`).
        name: String,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// `--listen`: the address does not resolve, or cannot be listened on.
    #[error("{what} {address}")]
    Listen {
        /// `--listen` or `cannot listen on`.
        what: &'static str,
        /// The address as given or resolved.
        address: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Something that should not fail did (the runtime, the key generator).
    #[error("{0}")]
    Internal(String),
    /// Something that should not fail did, with the operating system's or a
    /// library's error as the source.
    #[error("{what}")]
    InternalSource {
        /// What could not be done (`cannot start the sandbox thread`).
        what: &'static str,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl SandboxError {
    pub(crate) fn config(message: impl Into<String>) -> Self {
        SandboxError::Config(message.into())
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        SandboxError::Internal(message.into())
    }

    pub(crate) fn internal_source(
        what: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        SandboxError::InternalSource {
            what,
            source: source.into(),
        }
    }

    /// Whether the configuration is at fault (a flag, the keys directory, the
    /// state file, the address) rather than the sandbox or the machine.
    pub fn is_config(&self) -> bool {
        !matches!(
            self,
            SandboxError::Internal(_) | SandboxError::InternalSource { .. }
        )
    }
}
