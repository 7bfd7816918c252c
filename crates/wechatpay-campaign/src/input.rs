//! The campaign's input: a CSV whose header names body fields (path parameters
//! included), and a JSON template that gives the rest. Each row's request is the
//! template with the row's non-empty cells set on their fields, checked with
//! the operation's generated rules.
//!
//! Cells are text; a cell fills its field as the field's schema type says: a
//! string, enum or date-time as written, an integer or boolean parsed, an
//! object or array as JSON. An empty cell leaves the template's value (if any).

use std::cell::Cell;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use wechatpay_runtime::json::{parse_strict, Problem};
use wechatpay_runtime::{EndpointInfo, Ty};

/// The most bytes one CSV cell may hold. No request field comes near it (the
/// longest strings are a few hundred characters; JSON cells a few KiB): a
/// bigger cell is a mistake, refused before it costs memory or journal space.
pub const MAX_CELL_BYTES: usize = 64 * 1024;
/// The most bytes one CSV row (the header included) may span, over one or
/// more lines: an input without line ends (`/dev/zero`, a binary file) is
/// refused after reading about this much, not read to its end.
pub const MAX_ROW_BYTES: usize = 1024 * 1024;
/// The CSV reader's buffer: it reads this far ahead of the row it parses.
const READ_BUFFER: usize = 64 * 1024;

/// A problem with the input, at a row (or the header) and a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    /// The 1-based data row (the first row after the header is row 1); `None` for the header.
    pub row: Option<u64>,
    /// The line of the CSV file where the row starts (the header is line 1).
    pub line: u64,
    /// The field (or column) at fault, if one is.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for RowProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.row {
            Some(row) => write!(f, "row {row} (line {})", self.line)?,
            None => write!(f, "header (line {})", self.line)?,
        }
        match &self.field {
            Some(field) => write!(f, ": {field}: {}", self.message),
            None => write!(f, ": {}", self.message),
        }
    }
}

/// The JSON template: the fields every row shares.
#[derive(Debug, Clone)]
pub struct Template {
    /// Where it came from (`template.json`, `--body`), for messages.
    pub source: String,
    /// The template's fields, sent with every row (a cell overrides them).
    pub fields: Map<String, Value>,
    /// SHA-256 of the template's bytes, hex. Request numbers derive from it
    /// (see [`crate::number`]); the journal's binding compares the JSON instead
    /// (see [`Template::differences`]), so reformatting is no new campaign.
    pub sha256: String,
}

impl Template {
    /// Parses the template's bytes (a JSON object; duplicate keys are refused).
    pub fn parse(source: impl Into<String>, bytes: &[u8]) -> Result<Template, InputError> {
        let source = source.into();
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                return Err(InputError::TemplateText {
                    name: source,
                    source: e,
                })
            }
        };
        let value = match parse_strict(text) {
            Ok(value) => value,
            Err(e) => {
                return Err(InputError::TemplateJson {
                    name: source,
                    source: e,
                })
            }
        };
        let Value::Object(fields) = value else {
            return Err(InputError::Invalid(format!(
                "{source}: must be a JSON object"
            )));
        };
        Ok(Template {
            source,
            fields,
            sha256: hex(&Sha256::digest(bytes)),
        })
    }
}

impl Template {
    /// The top-level fields whose JSON values differ from `other`'s (absent on
    /// one side included), in key order; empty when both are the same JSON
    /// whatever their whitespace and key order.
    pub fn differences(&self, other: &Map<String, Value>) -> Vec<String> {
        let mut keys: Vec<&String> = self.fields.keys().chain(other.keys()).collect();
        keys.sort_unstable();
        keys.dedup();
        keys.into_iter()
            .filter(|k| {
                let (a, b) = (self.fields.get(*k), other.get(*k));
                a.map(canonical_json) != b.map(canonical_json)
            })
            .cloned()
            .collect()
    }
}

pub use wechatpay_runtime::json::canonical_json;

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The request body of one row: the template, each non-empty cell set on its
/// field (typed as the schema says), and the request number.
pub fn merge(
    info: &EndpointInfo,
    template: &Map<String, Value>,
    cells: &Map<String, Value>,
    number: Option<(&str, &str)>,
) -> Result<Value, Vec<Problem>> {
    let mut body = template.clone();
    let mut problems = Vec::new();
    for (column, cell) in cells {
        let text = cell.as_str().unwrap_or_default();
        if text.is_empty() {
            continue;
        }
        let Some(field) = info.request.field(column) else {
            problems.push(Problem::new(
                column.clone(),
                format!("not a field of {}", info.request.name),
            ));
            continue;
        };
        let value = match &field.ty {
            Ty::Integer(_) => match text.parse::<i64>() {
                Ok(n) => Value::from(n),
                Err(_) => {
                    problems.push(Problem::new(
                        column.clone(),
                        format!("expected an integer, got {text:?}"),
                    ));
                    continue;
                }
            },
            Ty::Boolean => match text {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => {
                    problems.push(Problem::new(
                        column.clone(),
                        format!("expected true or false, got {text:?}"),
                    ));
                    continue;
                }
            },
            Ty::Object(_) | Ty::Array { .. } => match parse_strict(text) {
                Ok(v) => v,
                Err(e) => {
                    problems.push(Problem::new(
                        column.clone(),
                        format!("expected JSON ({}): {e}", field.ty.schema_name()),
                    ));
                    continue;
                }
            },
            Ty::String(_) | Ty::Enum { .. } | Ty::DateTime => Value::String(text.to_owned()),
        };
        body.insert(column.clone(), value);
    }
    if let Some((field, value)) = number {
        body.insert(field.to_owned(), Value::String(value.to_owned()));
    }
    if problems.is_empty() {
        Ok(Value::Object(body))
    } else {
        Err(problems)
    }
}

/// Checks the header: every column names a request field, once.
pub fn check_header(info: &EndpointInfo, header: &[String]) -> Vec<RowProblem> {
    let mut problems = Vec::new();
    let problem = |field: &str, message: String| RowProblem {
        row: None,
        line: 1,
        field: Some(field.to_owned()),
        message,
    };
    for (i, name) in header.iter().enumerate() {
        if name.is_empty() {
            problems.push(RowProblem {
                row: None,
                line: 1,
                field: None,
                message: format!("column {} has no name", i + 1),
            });
        } else if header[..i].contains(name) {
            problems.push(problem(name, "column given twice".into()));
        } else if info.request.field(name).is_none() {
            let mut known: Vec<&str> = info.request.fields.iter().map(|f| f.name).collect();
            known.sort_unstable();
            problems.push(problem(
                name,
                format!(
                    "not a field of {} (fields: {})",
                    info.request.name,
                    known.join(", ")
                ),
            ));
        }
    }
    problems
}

/// One data row as read: its cells by column name (text as written).
#[derive(Debug, Clone, PartialEq)]
pub struct InputRow {
    /// The 1-based data row (the first row after the header is row 1).
    pub row: u64,
    /// The CSV line where the row starts (the header is line 1).
    pub line: u64,
    /// The row's cells by column name, as written.
    pub cells: Map<String, Value>,
}

/// Reads a CSV file row by row while hashing its bytes; refuses a row or a
/// cell over its cap ([`MAX_ROW_BYTES`], [`MAX_CELL_BYTES`]) by its line.
pub struct CsvInput {
    /// The CSV file.
    pub path: PathBuf,
    /// The CSV header, in column order.
    pub header: Vec<String>,
    reader: csv::Reader<HashingReader<std::fs::File>>,
    record: csv::StringRecord,
    rows: u64,
    /// Where the row being read starts, shared with the reader that caps it.
    row_start: Rc<RowStart>,
}

/// Where the row being parsed starts: its byte offset and line.
#[derive(Default)]
struct RowStart {
    byte: Cell<u64>,
    line: Cell<u64>,
}

/// The reader's error for a row longer than [`MAX_ROW_BYTES`].
#[derive(Debug)]
struct RowTooLong {
    line: u64,
}

impl fmt::Display for RowTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "(line {}): the row is longer than the cap of {MAX_ROW_BYTES} bytes per row (a missing line end or closing quote?)",
            self.line
        )
    }
}

impl std::error::Error for RowTooLong {}

/// Why an input file (the CSV or the template) cannot be used. Each message
/// names the file; the library's own error, if any, is the `source()`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The file cannot be opened or read.
    #[error("cannot read input {}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The CSV does not parse.
    #[error("input {}{}: not valid CSV", .path.display(), line_suffix(*.line))]
    Csv {
        /// The file.
        path: PathBuf,
        /// Where, when the parser knows.
        line: Option<u64>,
        /// The parser's error.
        #[source]
        source: csv::Error,
    },
    /// The template is not UTF-8 text.
    #[error("{name}: the template is not UTF-8 text")]
    TemplateText {
        /// The template's name (`@file` or `--body`).
        name: String,
        /// Where the UTF-8 breaks.
        #[source]
        source: std::str::Utf8Error,
    },
    /// The template is not JSON (or repeats a key).
    #[error("{name}: the template is not valid JSON")]
    TemplateJson {
        /// The template's name (`@file` or `--body`).
        name: String,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// The file breaks a rule of the input format; the message names the file and says which.
    #[error("{0}")]
    Invalid(String),
}

fn line_suffix(line: Option<u64>) -> String {
    line.map(|l| format!(" (line {l})")).unwrap_or_default()
}

fn read_error(path: &Path) -> impl FnOnce(std::io::Error) -> InputError + '_ {
    move |source| InputError::Read {
        path: path.to_owned(),
        source,
    }
}

/// Opens an input file, refusing anything but a regular file: a campaign
/// reads its input twice (to hash it, then to send it), and a device or a
/// pipe (`/dev/zero`, `<(…)`) cannot be read twice or may never end.
fn open_input(path: &Path) -> Result<std::fs::File, InputError> {
    let file = std::fs::File::open(path).map_err(read_error(path))?;
    let meta = file.metadata().map_err(read_error(path))?;
    if !meta.is_file() {
        return Err(InputError::Invalid(format!(
            "input {} is not a regular file: give a CSV file (a campaign reads it twice, to hash it and to send it)",
            path.display()
        )));
    }
    Ok(file)
}

impl CsvInput {
    /// Opens `path` and reads its header.
    pub fn open(path: &Path) -> Result<CsvInput, InputError> {
        let file = open_input(path)?;
        let row_start = Rc::new(RowStart::default());
        row_start.line.set(1);
        let mut hashing = HashingReader::new(file);
        hashing.cap = Some(row_start.clone());
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .buffer_capacity(READ_BUFFER)
            .from_reader(hashing);
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| csv_error(path, e))?
            .iter()
            .map(str::to_owned)
            .collect();
        let input = CsvInput {
            path: path.to_owned(),
            header,
            reader,
            record: csv::StringRecord::new(),
            rows: 0,
            row_start,
        };
        let header = csv::StringRecord::from(input.header.clone());
        input.check_sizes(&header, 0, 1, |i| input.header.get(i).cloned())?;
        if input.header.is_empty() {
            return Err(InputError::Invalid(format!(
                "{} is empty: it needs a header line naming the columns, then one row per request",
                path.display()
            )));
        }
        Ok(input)
    }

    /// Refuses a row or a cell over its cap; moves the row start past the row.
    fn check_sizes(
        &self,
        record: &csv::StringRecord,
        start: u64,
        line: u64,
        column: impl Fn(usize) -> Option<String>,
    ) -> Result<(), InputError> {
        let end = self.reader.position();
        if end.byte() - start > MAX_ROW_BYTES as u64 {
            return Err(InputError::Invalid(format!(
                "input {} {}",
                self.path.display(),
                RowTooLong { line }
            )));
        }
        if let Some((i, cell)) = record
            .iter()
            .enumerate()
            .find(|(_, c)| c.len() > MAX_CELL_BYTES)
        {
            let name = column(i).unwrap_or_else(|| format!("{}", i + 1));
            return Err(InputError::Invalid(format!(
                "input {} (line {line}): column {name} holds {} bytes, over the cap of {MAX_CELL_BYTES} bytes per cell",
                self.path.display(),
                cell.len()
            )));
        }
        self.row_start.byte.set(end.byte());
        self.row_start.line.set(end.line());
        Ok(())
    }

    /// The next data row, `None` at the end of the file.
    pub fn next_row(&mut self) -> Result<Option<InputRow>, InputError> {
        let start = self.row_start.byte.get();
        if !self
            .reader
            .read_record(&mut self.record)
            .map_err(|e| csv_error(&self.path, e))?
        {
            return Ok(None);
        }
        let line = self.record.position().map_or(0, |p| p.line());
        self.check_sizes(&self.record, start, line, |i| self.header.get(i).cloned())?;
        self.rows += 1;
        let cells = self
            .header
            .iter()
            .zip(self.record.iter())
            .map(|(name, cell)| (name.clone(), Value::String(cell.to_owned())))
            .collect();
        Ok(Some(InputRow {
            row: self.rows,
            line,
            cells,
        }))
    }

    /// SHA-256 of the whole file, hex; reads whatever is left first.
    pub fn finish(mut self) -> Result<String, InputError> {
        while self.next_row()?.is_some() {}
        let mut inner = self.reader.into_inner();
        inner.cap = None;
        std::io::copy(&mut inner, &mut std::io::sink()).map_err(read_error(&self.path))?;
        Ok(hex(&inner.hasher.finalize()))
    }
}

/// SHA-256 of a file's bytes, hex.
pub fn file_sha256(path: &Path) -> Result<String, InputError> {
    let file = open_input(path)?;
    let mut reader = HashingReader::new(file);
    std::io::copy(&mut reader, &mut std::io::sink()).map_err(read_error(path))?;
    Ok(hex(&reader.hasher.finalize()))
}

/// A CSV error as the user should read it: a row too long, a short row or
/// bad UTF-8 said in words (the parser's message adds nothing); anything
/// else as the parser's error, the source of a message naming the file.
fn csv_error(path: &Path, e: csv::Error) -> InputError {
    if let csv::ErrorKind::Io(io) = e.kind() {
        if let Some(too_long) = io.get_ref().and_then(|e| e.downcast_ref::<RowTooLong>()) {
            return InputError::Invalid(format!("input {} {too_long}", path.display()));
        }
    }
    let line = e.position().map(|p| p.line());
    let at = line_suffix(line);
    let reason = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields where the header has {expected_len}"),
        csv::ErrorKind::Utf8 { err, .. } => format!("invalid UTF-8 in field {}", err.field() + 1),
        _ => {
            return InputError::Csv {
                path: path.to_owned(),
                line,
                source: e,
            }
        }
    };
    InputError::Invalid(format!("input {}{at}: {reason}", path.display()))
}

struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    /// Bytes read so far.
    read: u64,
    /// While set, refuse to read more than a row's cap (and the parser's
    /// buffer) past the start of the row being parsed.
    cap: Option<Rc<RowStart>>,
}

impl<R> HashingReader<R> {
    fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            read: 0,
            cap: None,
        }
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if let Some(start) = &self.cap {
            if self.read - start.byte.get() > (MAX_ROW_BYTES + 2 * READ_BUFFER) as u64 {
                return Err(std::io::Error::other(RowTooLong {
                    line: start.line.get(),
                }));
            }
        }
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn info(id: &str) -> &'static EndpointInfo {
        wechatpay_endpoints::find(id).unwrap()
    }

    fn cells(pairs: &[(&str, &str)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect()
    }

    #[test]
    fn cells_fill_fields_by_their_schema_type_over_the_template() {
        let template = Template::parse(
            "t.json",
            br#"{"appid":"wx1","stock_id":"S1","product_coupon_id":"P1","attach":"from template"}"#,
        )
        .unwrap();
        let body = merge(
            info("send-user-product-coupon"),
            &template.fields,
            &cells(&[
                ("openid", "o1"),
                ("attach", ""),
                ("coupon_tag_info", r#"{"coupon_tag_list":["MEMBER"]}"#),
            ]),
            Some(("send_request_no", "N0000001")),
        )
        .unwrap();
        assert_eq!(
            body,
            json!({"appid":"wx1","stock_id":"S1","product_coupon_id":"P1","attach":"from template",
                   "openid":"o1","coupon_tag_info":{"coupon_tag_list":["MEMBER"]},
                   "send_request_no":"N0000001"})
        );
        let err = merge(
            info("list-stocks"),
            &Map::new(),
            &cells(&[("page_size", "ten"), ("coupon_tag_info", "{")]),
            None,
        )
        .unwrap_err();
        let text: Vec<String> = err.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "coupon_tag_info: not a field of ListStocksRequest",
                "page_size: expected an integer, got \"ten\""
            ]
        );
    }

    #[test]
    fn header_columns_must_be_request_fields_once() {
        let header: Vec<String> = ["openid", "surprise", "openid", ""]
            .map(String::from)
            .to_vec();
        let problems = check_header(info("send-user-product-coupon"), &header);
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 3, "{text:?}");
        assert!(text[0].starts_with("header (line 1): surprise: not a field of SendUserProductCouponRequest (fields: appid, attach,"), "{}", text[0]);
        assert_eq!(text[1], "header (line 1): openid: column given twice");
        assert_eq!(text[2], "header (line 1): column 4 has no name");
    }

    #[test]
    fn csv_rows_carry_their_row_and_line_and_the_file_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        let bytes = "\u{feff}openid,attach\no1,\"two\nlines\"\no2,x\n";
        std::fs::write(&path, bytes).unwrap();
        let mut input = CsvInput::open(&path).unwrap();
        assert_eq!(input.header, ["openid", "attach"], "the BOM is dropped");
        let first = input.next_row().unwrap().unwrap();
        assert_eq!((first.row, first.line), (1, 2));
        assert_eq!(first.cells["attach"], "two\nlines");
        let second = input.next_row().unwrap().unwrap();
        assert_eq!((second.row, second.line), (2, 4));
        assert_eq!(input.finish().unwrap(), hex(&Sha256::digest(bytes)));
        assert_eq!(file_sha256(&path).unwrap(), hex(&Sha256::digest(bytes)));

        std::fs::write(&path, "openid,attach\no1\n").unwrap();
        let mut input = CsvInput::open(&path).unwrap();
        let err = input.next_row().unwrap_err();
        let err = err.to_string();
        assert!(
            err.ends_with("(line 2): 1 fields where the header has 2"),
            "{err}"
        );
    }

    #[test]
    fn templates_are_json_objects_without_duplicate_keys() {
        assert!(Template::parse("t", b"[1]")
            .unwrap_err()
            .to_string()
            .contains("must be a JSON object"));
        let err = Template::parse("t", br#"{"a":1,"a":2}"#).unwrap_err();
        assert_eq!(err.to_string(), "t: the template is not valid JSON");
        let cause = std::error::Error::source(&err)
            .expect("the JSON error")
            .to_string();
        assert!(cause.contains("duplicate key `a`"), "{cause}");
        let t = Template::parse("t", b"{}").unwrap();
        assert_eq!(t.sha256, hex(&Sha256::digest(b"{}")));
    }
}
