//! `cargo xtask deps`: the dependency budget of the serde-only crates, checked
//! from `cargo tree` (a CI gate): the generated crates and their runtime must
//! never pull in an HTTP stack, an async runtime or C code.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// Crates that must never appear under the serde-only crates.
const FORBIDDEN: &[&str] = &[
    "reqwest",
    "tokio",
    "hyper",
    "rustls",
    "aws-lc-rs",
    "aws-lc-sys",
    "cc",
    "openssl",
    "ring",
];

/// (crate, most crates its normal dependency tree may hold, itself included).
const BUDGETS: &[(&str, usize)] = &[
    ("wechatpay-runtime", 8),
    ("wechatpay-models", 9),
    ("wechatpay-endpoints", 15),
];

/// The distinct crates of `package`'s normal dependency tree.
pub fn tree(root: &Path, package: &str) -> Result<BTreeSet<String>, String> {
    let output = Command::new("cargo")
        .args([
            "tree", "-p", package, "-e", "normal", "--prefix", "none", "--format", "{p}",
        ])
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot run cargo tree: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo tree -p {package} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(parse_tree(&String::from_utf8_lossy(&output.stdout)))
}

/// Crate names from `cargo tree --prefix none --format {p}` lines (`serde v1.0.0 (*)`).
pub fn parse_tree(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Checks every budget; the report lists each crate's count.
pub fn check(root: &Path) -> Result<String, String> {
    let mut report = Vec::new();
    let mut problems = Vec::new();
    for (package, budget) in BUDGETS {
        let crates = tree(root, package)?;
        let forbidden: Vec<&String> = crates
            .iter()
            .filter(|c| FORBIDDEN.contains(&c.as_str()))
            .collect();
        if !forbidden.is_empty() {
            problems.push(format!("{package} depends on {forbidden:?}"));
        }
        if crates.len() > *budget {
            problems.push(format!(
                "{package} has {} crates in its normal dependency tree, over its budget of {budget}: {crates:?}",
                crates.len()
            ));
        }
        report.push(format!(
            "{package}: {} crates (budget {budget}): {}",
            crates.len(),
            crates.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    if problems.is_empty() {
        Ok(report.join("\n"))
    } else {
        Err(problems.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_crate_names_once_each() {
        let text = "wechatpay-models v0.1.0 (/x)\nserde v1.0.229\nserde_core v1.0.229\nserde v1.0.229 (*)\n\n";
        let crates = parse_tree(text);
        assert_eq!(crates.len(), 3);
        assert!(crates.contains("serde_core"));
    }
}
