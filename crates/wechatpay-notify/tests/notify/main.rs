//! The notify crate's integration tests: a real notify server on 127.0.0.1 against
//! the in-process sandbox. One binary, each file a module.

mod common;

mod confirm;
mod key_refresh;
mod partner;
mod refusals;
mod service;
