//! libFuzzer entry point; the harness lives in `tests/fuzz_harness/` so that
//! `cargo test` replays saved crash inputs (`tests/fuzz_regressions/`) too.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/fuzz_harness/mod.rs"]
mod harness;

fuzz_target!(|data: &[u8]| harness::run(data));
