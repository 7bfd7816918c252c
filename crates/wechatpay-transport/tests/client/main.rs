//! The transport's integration tests in one binary (each module one concern), so the
//! HTTP and crypto stack is linked once rather than once per file. Tests of what
//! needs no HTTP client (signing, verification, notifications, OAEP) are
//! wechatpay-protocol's `tests/protocol/`. `secrets.rs` stays
//! its own binary: it installs a process-wide log capture.

#[path = "../fuzz_harness/mod.rs"]
mod fuzz_harness;
#[path = "../support/mod.rs"]
mod support;

mod call_api;
mod client_verification;
mod fuzz_regressions;
mod hostile_replies;
mod key_files;
mod nonce_reuse;
mod oaep_openssl;
mod pages_and_upload;
mod platform_certificates;
mod properties;
mod real_replies;
mod retry_failover;
mod sharing;
mod signing_openssl;
