//! The CLI's integration tests: the `wechatpay` binary against in-process sandboxes.
//! One binary, each file a module: linking the crate's test graph once
//! instead of once per file keeps the clean-target test run short.

mod common;

mod bad_inputs;
mod campaign;
mod cli_sandbox;
mod idempotency;
mod notify;
mod openssl_interop;
mod real_world;
mod sandbox_rules;
