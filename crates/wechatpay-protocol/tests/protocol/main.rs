//! The protocol crate's integration tests in one binary (each module one
//! concern), so the crypto stack is linked once. No HTTP: headers are `http`
//! header maps and signed replies are data; OpenSSL (the `openssl` CLI) is the
//! independent oracle.

#[path = "../support/mod.rs"]
mod support;

mod nonce_reuse;
mod notification;
mod notification_dedup;
mod oaep_openssl;
mod properties;
mod signing_openssl;
