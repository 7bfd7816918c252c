//! The campaign runner's integration tests: journals, pacing and crash-resume against in-process sandboxes.
//! One binary, each file a module: linking the crate's test graph once
//! instead of once per file keeps the clean-target test run short.

mod common;

mod confirm;
mod errors;
mod input;
mod journal;
mod partner;
mod sandbox;
mod status;
mod throttling;
mod workers;
