//! The code generator behind `cargo xtask codegen`: schema YAML → validated
//! model → Rust tokens → formatted files.

pub mod codegen;
pub mod emit;
pub mod schema;
