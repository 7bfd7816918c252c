//! Maintainer tasks for the workspace. `cargo xtask codegen [--check]`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use xtask::codegen;

mod bench;
mod deps;
mod test_time;

const USAGE: &str =
    "usage: cargo xtask codegen [--check] [--root DIR] | cargo xtask deps | cargo xtask bench
       | cargo xtask test-time

  codegen          regenerate crates/wechatpay-models and crates/wechatpay-endpoints from schema/
  codegen --check  exit non-zero if the checked-in generated code differs from what schema/ produces
  --root DIR       use DIR/schema and write under DIR instead of this workspace
  deps             check the dependency budget of the serde-only crates (a CI gate)
  bench            run every benchmark (release builds) and print one table with the targets
  test-time        time the README's test command from a clean target and say where the build goes";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (args, root) = match args.as_slice() {
        [rest @ .., "--root", dir] => (rest, PathBuf::from(dir)),
        rest => (rest, workspace_root()),
    };
    let mode = match args {
        ["codegen"] => codegen::Mode::Write,
        ["codegen", "--check"] => codegen::Mode::Check,
        ["bench"] => return bench(),
        ["deps"] => return deps(),
        ["test-time"] => return test_time(),
        ["help" | "--help" | "-h"] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    match codegen::run(&root, mode) {
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
        Ok(outcome) if mode == codegen::Mode::Check => {
            if outcome.changed.is_empty() && outcome.removed.is_empty() {
                println!("codegen: {} generated files are up to date", outcome.total);
                ExitCode::SUCCESS
            } else {
                eprintln!("error: {}", codegen::stale_message(&outcome));
                ExitCode::FAILURE
            }
        }
        Ok(outcome) => {
            println!(
                "codegen: {} files, {} written, {} removed in {:.0?}",
                outcome.total,
                outcome.changed.len(),
                outcome.removed.len(),
                started.elapsed()
            );
            ExitCode::SUCCESS
        }
    }
}

fn bench() -> ExitCode {
    match bench::run_all(&workspace_root()) {
        Ok((table, all_met)) => {
            println!("{table}");
            if all_met {
                ExitCode::SUCCESS
            } else {
                eprintln!("error: a target was missed (rows marked NO)");
                ExitCode::FAILURE
            }
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn test_time() -> ExitCode {
    match test_time::measure(&workspace_root()) {
        Ok((table, met)) => {
            println!("{table}");
            if met {
                ExitCode::SUCCESS
            } else {
                eprintln!("error: the test run is over its target (row marked NO)");
                ExitCode::FAILURE
            }
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn deps() -> ExitCode {
    match deps::check(&workspace_root()) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    // xtask/ sits directly under the workspace root.
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}
