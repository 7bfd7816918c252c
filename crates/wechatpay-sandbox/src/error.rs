//! Why a sandbox could not start. Every message names the file, flag or address at fault.

/// A sandbox that cannot start as configured.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// A setting (address, fault, keys directory, key file) is not usable.
    #[error("{0}")]
    Config(String),
    /// Something that should not fail did (the runtime, the key generator).
    #[error("{0}")]
    Internal(String),
}

impl SandboxError {
    pub(crate) fn config(message: impl Into<String>) -> Self {
        SandboxError::Config(message.into())
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        SandboxError::Internal(message.into())
    }
}
