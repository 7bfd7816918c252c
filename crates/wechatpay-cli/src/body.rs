//! Reading a `--body JSON|@file` argument: the exact bytes, byte-level checks
//! (UTF-8, control characters) and a strict JSON parse that rejects duplicate keys.
//!
//! Every error names where the body came from (`--body` or the file) and the
//! position or key at fault; nothing here panics on hostile input.

use std::fmt;
use std::path::PathBuf;

use serde_json::Value;
pub use wechatpay_runtime::json::parse_strict;

use crate::exit::CliError;

/// Where a body came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodySource {
    /// Given inline after `--body`.
    Inline,
    /// Read from a file named as `@path`.
    File(PathBuf),
    /// Read from standard input (`@-`).
    Stdin,
}

impl fmt::Display for BodySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodySource::Inline => f.write_str("--body"),
            BodySource::File(path) => write!(f, "body file {}", path.display()),
            BodySource::Stdin => f.write_str("body from standard input"),
        }
    }
}

/// The largest body read from a file or standard input. WeChat Pay's
/// requests are a few KiB and the sandbox refuses more than 1 MiB, so a
/// larger input (or `/dev/zero`) is a mistake, refused without reading it whole.
pub const MAX_BODY_BYTES: u64 = 1 << 20;

/// Reads at most [`MAX_BODY_BYTES`] (plus one, to tell that there was more).
fn read_capped(reader: impl std::io::Read) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut reader.take(MAX_BODY_BYTES + 1), &mut bytes)?;
    Ok(bytes)
}

fn too_large(source: &BodySource) -> CliError {
    CliError::validation(format!(
        "{source}: larger than {MAX_BODY_BYTES} bytes, which no request body is"
    ))
}

/// A body exactly as given: the bytes are what gets signed or verified.
#[derive(Debug, Clone)]
pub struct RawBody {
    pub source: BodySource,
    pub bytes: Vec<u8>,
}

impl RawBody {
    /// Reads `--body` text: `@path` reads a file, `@-` standard input, anything else is the body itself.
    pub fn read(arg: &str) -> Result<RawBody, CliError> {
        if arg.trim() == "-" {
            // Not JSON; the common spelling of "standard input" in other tools.
            return Err(CliError::validation(
                "--body -: to read the body from standard input write --body @- (a bare - is taken as the JSON text \"-\", which is not JSON)",
            ));
        }
        if let Some(path) = arg.strip_prefix('@') {
            if path == "-" {
                let bytes = read_capped(std::io::stdin()).map_err(|e| {
                    CliError::validation(format!("cannot read the body from standard input: {e}"))
                })?;
                if bytes.len() as u64 > MAX_BODY_BYTES {
                    return Err(too_large(&BodySource::Stdin));
                }
                return Ok(RawBody {
                    source: BodySource::Stdin,
                    bytes,
                });
            }
            let path = PathBuf::from(path);
            let bytes = std::fs::File::open(&path)
                .and_then(read_capped)
                .map_err(|e| {
                    CliError::validation(format!("cannot read body file {}: {e}", path.display()))
                })?;
            let source = BodySource::File(path);
            if bytes.len() as u64 > MAX_BODY_BYTES {
                return Err(too_large(&source));
            }
            return Ok(RawBody { source, bytes });
        }
        Ok(RawBody {
            source: BodySource::Inline,
            bytes: arg.as_bytes().to_vec(),
        })
    }

    /// The body as text, after checking it is UTF-8 without control characters
    /// (tab, line feed and carriage return are allowed between JSON tokens).
    pub fn text(&self) -> Result<&str, CliError> {
        if self.bytes.starts_with(b"\xEF\xBB\xBF") {
            // serde_json would say only "expected value at line 1 column 1".
            return Err(CliError::validation(format!(
                "{}: starts with a UTF-8 byte order mark (BOM, bytes EF BB BF); save it as UTF-8 without BOM",
                self.source
            )));
        }
        let text = std::str::from_utf8(&self.bytes).map_err(|e| {
            let at = e.valid_up_to();
            let (line, column) = line_column(&self.bytes[..at]);
            CliError::validation(format!(
                "{}: invalid UTF-8 at byte {at} (line {line}, column {column})",
                self.source
            ))
        })?;
        if let Some((i, c)) = text
            .char_indices()
            .find(|&(_, c)| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        {
            let (line, column) = line_column(&self.bytes[..i]);
            return Err(CliError::validation(format!(
                "{}: control character U+{:04X} at line {line}, column {column}",
                self.source, c as u32
            )));
        }
        Ok(text)
    }

    /// Parses the body as one JSON value, rejecting duplicate object keys.
    pub fn json(&self) -> Result<Value, CliError> {
        let text = self.text()?;
        if text.trim().is_empty() {
            return Err(CliError::validation(format!("{}: is empty", self.source)));
        }
        parse_strict(text).map_err(|e| CliError::validation(format!("{}: {e}", self.source)))
    }
}

/// 1-based line and column (in characters) just after `prefix`.
fn line_column(prefix: &[u8]) -> (usize, usize) {
    let line = prefix.iter().filter(|&&b| b == b'\n').count() + 1;
    let last = prefix
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&prefix[last..]).chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(bytes: &[u8]) -> RawBody {
        RawBody {
            source: BodySource::File("b.json".into()),
            bytes: bytes.to_vec(),
        }
    }

    #[test]
    fn endless_and_huge_files_are_refused_without_reading_them_whole() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.json");
        std::fs::write(&big, vec![b' '; (MAX_BODY_BYTES + 10) as usize]).unwrap();
        for path in [big.display().to_string(), "/dev/zero".to_owned()] {
            let err = RawBody::read(&format!("@{path}")).unwrap_err();
            assert_eq!(
                err.message,
                format!("body file {path}: larger than {MAX_BODY_BYTES} bytes, which no request body is")
            );
        }
    }

    #[test]
    fn byte_level_problems_name_the_file_and_position() {
        let err = raw(b"{\"a\":\n\"\xff\"}").json().unwrap_err();
        assert_eq!(
            err.message,
            "body file b.json: invalid UTF-8 at byte 7 (line 2, column 2)"
        );
        let err = raw(b"{\"a\":\"x\x07\"}").json().unwrap_err();
        assert_eq!(
            err.message,
            "body file b.json: control character U+0007 at line 1, column 8"
        );
        let err = raw(b"  ").json().unwrap_err();
        assert_eq!(err.message, "body file b.json: is empty");
        let err = raw(b"\xEF\xBB\xBF{\"a\":1}").json().unwrap_err();
        assert_eq!(
            err.message,
            "body file b.json: starts with a UTF-8 byte order mark (BOM, bytes EF BB BF); save it as UTF-8 without BOM"
        );
        let err = raw(b"{\"a\":1} x").json().unwrap_err();
        assert!(
            err.message.starts_with("body file b.json: trailing"),
            "{}",
            err.message
        );
    }
}
