//! Reading a `--body JSON|@file` argument: the exact bytes, byte-level checks
//! (UTF-8, control characters) and a strict JSON parse that rejects duplicate keys.
//!
//! Every error names where the body came from (`--body` or the file) and the
//! position or key at fault; nothing here panics on hostile input.

use std::fmt;
use std::path::PathBuf;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

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

/// Parses JSON text like `serde_json::from_str`, but a key repeated in one
/// object is an error naming the key and the object's path.
pub fn parse_strict(text: &str) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = StrictSeed {
        path: String::new(),
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

struct StrictSeed {
    path: String,
}

impl<'de> DeserializeSeed<'de> for StrictSeed {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(StrictVisitor { path: self.path })
    }
}

struct StrictVisitor {
    path: String,
}

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(StrictSeed {
            path: format!("{}[{}]", self.path, out.len()),
        })? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.path.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.path)
            };
            if out.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate key `{path}`")));
            }
            let value = map.next_value_seed(StrictSeed { path })?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
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
    fn duplicate_keys_are_named_with_their_path() {
        let err = parse_strict(r#"{"a":{"b":1,"b":2}}"#).unwrap_err();
        assert!(err.to_string().contains("duplicate key `a.b`"), "{err}");
        let err = parse_strict(r#"{"l":[{"x":1},{"x":1,"x":2}]}"#).unwrap_err();
        assert!(err.to_string().contains("duplicate key `l[1].x`"), "{err}");
        assert_eq!(
            parse_strict(r#"{"a":[1,{"b":null}]}"#).unwrap(),
            serde_json::json!({"a":[1,{"b":null}]})
        );
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
