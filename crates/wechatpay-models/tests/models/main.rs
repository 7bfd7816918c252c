//! The models' integration tests: decoding, validation, and the public API under trybuild.
//! One binary, each file a module: linking the crate's test graph once
//! instead of once per file keeps the clean-target test run short.

mod api_surface;
mod decode;
mod downstream;
mod validate;
