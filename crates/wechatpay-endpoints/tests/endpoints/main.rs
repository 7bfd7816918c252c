//! The endpoints' integration tests: doc examples, error codes, and the public API under trybuild.
//! One binary, each file a module: linking the crate's test graph once
//! instead of once per file keeps the clean-target test run short.

mod api_surface;
mod doc_examples;
mod downstream;
mod error_codes;
mod routing;
