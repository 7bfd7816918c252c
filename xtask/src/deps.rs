//! `cargo xtask deps`: the dependency budgets, checked from `cargo tree` (a CI
//! gate): the generated crates and their runtime must never pull in an HTTP
//! stack, an async runtime or C code; the protocol crate (signing,
//! verification, notifications) may use aws-lc-rs but no HTTP client, server
//! or runtime.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// Crates that must never appear under the serde-only crates.
const SERDE_ONLY_FORBIDDEN: &[&str] = &[
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

/// Crates that must never appear under wechatpay-protocol: it does no I/O, so
/// a server in any framework or a client on any HTTP library can use it
/// without compiling an HTTP stack, a TLS stack or an async runtime. (`http`,
/// for its `HeaderMap`, is allowed: a small pure crate.)
const NO_IO_FORBIDDEN: &[&str] = &[
    "reqwest",
    "tokio",
    "hyper",
    "hyper-util",
    "http-body",
    "h2",
    "rustls",
    "openssl",
];

/// One crate's budget.
struct Budget {
    package: &'static str,
    /// The most crates its normal dependency tree may hold, itself included.
    max: usize,
    /// Crates that must not appear in that tree at all.
    forbidden: &'static [&'static str],
}

const BUDGETS: &[Budget] = &[
    Budget {
        package: "wechatpay-runtime",
        max: 8,
        forbidden: SERDE_ONLY_FORBIDDEN,
    },
    Budget {
        package: "wechatpay-models",
        max: 9,
        forbidden: SERDE_ONLY_FORBIDDEN,
    },
    Budget {
        package: "wechatpay-endpoints",
        max: 15,
        forbidden: SERDE_ONLY_FORBIDDEN,
    },
    // 29 today: serde/serde_json, aws-lc-rs (+ aws-lc-sys), rustls-pki-types
    // and rustls-webpki (+ untrusted), base64, http (+ bytes, itoa), thiserror,
    // tracing, zeroize, the runtime, and their proc-macro helpers.
    Budget {
        package: "wechatpay-protocol",
        max: 30,
        forbidden: NO_IO_FORBIDDEN,
    },
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
    for Budget {
        package,
        max: budget,
        forbidden,
    } in BUDGETS
    {
        let crates = tree(root, package)?;
        let found: Vec<&String> = crates
            .iter()
            .filter(|c| forbidden.contains(&c.as_str()))
            .collect();
        if !found.is_empty() {
            problems.push(format!("{package} depends on {found:?}"));
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

    #[test]
    fn the_protocol_crate_may_use_crypto_but_no_http_stack() {
        let protocol = BUDGETS
            .iter()
            .find(|b| b.package == "wechatpay-protocol")
            .expect("a budget for wechatpay-protocol");
        for name in ["reqwest", "tokio", "hyper", "http-body"] {
            assert!(protocol.forbidden.contains(&name), "{name}");
        }
        assert!(!protocol.forbidden.contains(&"aws-lc-rs"));
        assert!(!protocol.forbidden.contains(&"http"));
    }
}
