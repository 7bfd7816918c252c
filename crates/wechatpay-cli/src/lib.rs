//! The `wechatpay` command-line tool: `call`, `describe`, `sign`, `verify` and
//! `sandbox` over `wechatpay-transport` and the schema in `wechatpay-endpoints`.
//!
//! The binary is a thin `main.rs`; the modules are a library so the sandbox's
//! pieces (keys, replies, validation) and the request checks are testable on
//! their own and reusable from examples.

pub mod args;
pub mod body;
pub mod charset;
pub mod commands;
pub mod config;
pub mod decode;
pub mod exit;
pub mod log;
pub mod routes;
pub mod sandbox;
pub mod schema_check;
pub mod typed;
