//! A JSON body checked against an operation's schema, for tools that receive
//! JSON rather than typed values (the CLI's `call`, the sandbox).
//!
//! Two passes, each rule in one place: [`check_shape`] walks the type
//! tree (`crate::TypeInfo`) for what serde alone would accept silently or report badly (unknown
//! keys, JSON types, missing required fields, date-time syntax); then the body
//! is deserialized into the operation's typed request, whose `validate()`
//! checks every value rule (lengths, charsets, ranges, enum values, conditional
//! rules) with the generated rules the `FieldInfo` rows carry too.

mod canonical;
mod prepare;
mod shape;
mod strict;

use std::fmt;

use crate::validation::Violation;

pub use canonical::canonical_json;
pub use prepare::{decode_reply, decode_request, prepare, Prepared};
pub use shape::{check_shape, kind, merge_params, BodyMode};
pub use strict::parse_strict;

/// One problem at one field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted field path with array indexes (`coupon_tag_info.coupon_tag_list[0]`).
    pub path: String,
    /// What is wrong, without the path.
    pub message: String,
}

impl Problem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl From<&Violation> for Problem {
    fn from(v: &Violation) -> Self {
        Problem::new(v.path.clone(), v.message())
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// The path used for a problem with the body as a whole.
pub const WHOLE_BODY: &str = "(body)";
