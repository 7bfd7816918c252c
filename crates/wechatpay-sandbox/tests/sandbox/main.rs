//! The sandbox's integration tests: in-process sandboxes driven through the real client and raw sockets.
//! One binary, each file a module: linking the crate's test graph once
//! instead of once per file keeps the clean-target test run short.

mod common;

mod clock;
mod confirm;
mod content_type;
mod every_operation;
mod hostile;
mod in_process;
mod lifecycle;
mod notifications;
mod partner;
mod pre_sends;
mod request_numbers;
mod schema_rules;
mod state;
mod state_files;
mod use_time;
