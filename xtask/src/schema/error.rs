//! Schema errors: every one names the file, the path inside it and the reason.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// The file, relative to the schema directory's parent when possible (`schema/api.yaml`).
    pub file: String,
    /// Where in the file: `types.Foo.fields[2].max_length`, or empty for the whole file.
    pub path: String,
    pub reason: String,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}", self.file, self.reason)
        } else {
            write!(f, "{}: {}: {}", self.file, self.path, self.reason)
        }
    }
}

/// All errors found in one schema, reported together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaErrors(pub Vec<SchemaError>);

impl fmt::Display for SchemaErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SchemaErrors {}
