//! `cargo xtask codegen [--check]`: schema → generated crates, or a freshness check.

use std::fs;
use std::path::{Path, PathBuf};

use crate::emit::{self, GeneratedFile};
use crate::schema;

/// The command that regenerates everything; failure messages name it.
pub const COMMAND: &str = "cargo xtask codegen";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Write,
    Check,
}

/// What a run changed (write) or found different (check).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    pub total: usize,
}

/// Loads `root/schema`, generates, then writes or checks the files under `root`.
/// Nothing is written unless the whole schema is valid and every file rendered.
pub fn run(root: &Path, mode: Mode) -> Result<Outcome, String> {
    let schema =
        schema::load(&root.join("schema")).map_err(|e| format!("{e}\n\nnothing was written"))?;
    let files = emit::generate(&schema)?;
    sync(root, &files, mode)
}

pub fn sync(root: &Path, files: &[GeneratedFile], mode: Mode) -> Result<Outcome, String> {
    let mut outcome = Outcome {
        total: files.len(),
        ..Outcome::default()
    };
    for file in files {
        let path = root.join(&file.path);
        let current = fs::read_to_string(&path).ok();
        if !current.is_some_and(|text| same_text(&text, &file.contents)) {
            outcome.changed.push(file.path.clone());
            if mode == Mode::Write {
                if let Some(parent) = path.parent() {
                    fs::create_dir_all(parent).map_err(|e| {
                        format!("{}: cannot create directory: {e}", parent.display())
                    })?;
                }
                fs::write(&path, &file.contents)
                    .map_err(|e| format!("{}: cannot write: {e}", file.path))?;
            }
        }
    }
    for stale in stale_files(root, files)? {
        outcome.removed.push(stale.clone());
        if mode == Mode::Write {
            fs::remove_file(root.join(&stale))
                .map_err(|e| format!("{stale}: cannot remove: {e}"))?;
        }
    }
    Ok(outcome)
}

/// Equal but for line endings: a Windows checkout (`core.autocrlf`) is not stale.
fn same_text(on_disk: &str, generated: &str) -> bool {
    on_disk == generated || on_disk.replace("\r\n", "\n") == generated
}

/// Generated files on disk that the schema no longer produces.
fn stale_files(root: &Path, files: &[GeneratedFile]) -> Result<Vec<String>, String> {
    let mut stale = Vec::new();
    for dir in emit::GENERATED_DIRS {
        let mut pending: Vec<PathBuf> = vec![root.join(dir)];
        while let Some(current) = pending.pop() {
            let Ok(entries) = fs::read_dir(&current) else {
                continue;
            };
            for entry in entries {
                let path = entry
                    .map_err(|e| format!("{}: {e}", current.display()))?
                    .path();
                if path.is_dir() {
                    pending.push(path);
                    continue;
                }
                let rel = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .replace('\\', "/");
                let ours = files.iter().any(|f| f.path == rel);
                let generated = fs::read_to_string(&path)
                    .map(|t| emit::is_generated(&t))
                    .unwrap_or(false);
                if !ours && generated {
                    stale.push(rel);
                }
            }
        }
    }
    stale.sort();
    Ok(stale)
}

/// The message `--check` prints when the checked-in output is stale.
pub fn stale_message(outcome: &Outcome) -> String {
    let mut text = String::from("generated code is out of date with the schema:\n");
    for path in &outcome.changed {
        text.push_str(&format!("  differs: {path}\n"));
    }
    for path in &outcome.removed {
        text.push_str(&format!("  stale:   {path}\n"));
    }
    text.push_str(&format!("run `{COMMAND}` and commit the result"));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings_do_not_make_a_file_stale() {
        assert!(same_text("a\r\nb\r\n", "a\nb\n"));
        assert!(same_text("a\nb\n", "a\nb\n"));
        assert!(!same_text("a\r\nc\r\n", "a\nb\n"));
    }

    /// The same check CI runs, as a test: the checked-in output matches the schema.
    #[test]
    fn generated_code_is_fresh() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let outcome = run(root, Mode::Check).unwrap();
        assert!(
            outcome.changed.is_empty() && outcome.removed.is_empty(),
            "{}",
            stale_message(&outcome)
        );
    }
}
