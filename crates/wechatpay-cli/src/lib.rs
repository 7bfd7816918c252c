//! The `wechatpay` command-line tool: `call`, `describe`, `sign`, `verify`,
//! `campaign`, `notify` and `sandbox` over `wechatpay-transport` and the schema
//! in `wechatpay-endpoints`.
//!
//! The binary is a thin `main.rs`; the modules are a library so the commands
//! are testable on their own. The sandbox is the `wechatpay-sandbox` crate;
//! `wechatpay sandbox` is a thin subcommand over it.

pub mod args;
pub mod body;
pub mod commands;
pub mod config;
pub mod exit;
pub mod log;
pub mod operation;
pub mod signals;
