//! Local request validation: every violation, each with its field path.
//!
//! Generated `Validate` impls call the small checks below; the rules come from
//! the schema (required, length in characters or bytes, charset, enforceable
//! conditional rules). Server-side facts the client cannot know (for example a
//! stock's `coupon_code_mode`) are documented on the field instead.

use std::fmt;

/// What a length limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LengthUnit {
    /// Unicode scalar values ("150个UTF-8字符" counts characters).
    Chars,
    /// UTF-8 bytes.
    Bytes,
}

impl LengthUnit {
    /// Measures `value` in this unit.
    pub fn measure(self, value: &str) -> usize {
        match self {
            LengthUnit::Chars => value.chars().count(),
            LengthUnit::Bytes => value.len(),
        }
    }

    fn noun(self) -> &'static str {
        match self {
            LengthUnit::Chars => "characters",
            LengthUnit::Bytes => "bytes",
        }
    }
}

/// The rule a value broke.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rule {
    /// A required field is missing or empty.
    Required,
    /// Shorter than the documented minimum.
    MinLength {
        min: usize,
        actual: usize,
        unit: LengthUnit,
    },
    /// Longer than the documented maximum.
    MaxLength {
        max: usize,
        actual: usize,
        unit: LengthUnit,
    },
    /// Holds a character outside the documented charset.
    Charset { allowed: &'static str, found: char },
    /// Holds a control character (never valid in these APIs' text fields).
    ControlCharacter { found: char },
    /// Required because another field has a given value.
    RequiredIf {
        other: &'static str,
        equals: &'static str,
    },
    /// An enum value this SDK does not know, in a request.
    UnknownEnumValue { value: String },
}

/// One broken rule at one field path (`coupon_tag_info.member_tag_info.member_card_id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub path: String,
    pub rule: Rule,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = &self.path;
        match &self.rule {
            Rule::Required => write!(f, "{path}: is required and must not be empty"),
            Rule::MinLength { min, actual, unit } => {
                write!(
                    f,
                    "{path}: must be at least {min} {} long, got {actual}",
                    unit.noun()
                )
            }
            Rule::MaxLength { max, actual, unit } => {
                write!(
                    f,
                    "{path}: must be at most {max} {} long, got {actual}",
                    unit.noun()
                )
            }
            Rule::Charset { allowed, found } => {
                write!(
                    f,
                    "{path}: character {found:?} is not allowed (allowed: {allowed})"
                )
            }
            Rule::ControlCharacter { found } => {
                write!(f, "{path}: control character {found:?} is not allowed")
            }
            Rule::RequiredIf { other, equals } => {
                write!(f, "{path}: is required when {other} is {equals}")
            }
            Rule::UnknownEnumValue { value } => {
                write!(f, "{path}: {value:?} is not a documented value")
            }
        }
    }
}

/// Every violation found in one request, in field order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Violations(pub Vec<Violation>);

impl Violations {
    /// The violations as a slice.
    pub fn as_slice(&self) -> &[Violation] {
        &self.0
    }

    /// Whether a violation names `path`.
    pub fn has_path(&self, path: &str) -> bool {
        self.0.iter().any(|v| v.path == path)
    }
}

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{v}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Violations {}

/// A type whose values can be checked against the schema's local rules.
pub trait Validate {
    /// Appends every violation under `prefix` (empty at the top level) to `out`.
    fn validate_into(&self, prefix: &str, out: &mut Vec<Violation>);

    /// Checks every rule and returns all violations at once.
    fn validate(&self) -> Result<(), Violations> {
        let mut out = Vec::new();
        self.validate_into("", &mut out);
        if out.is_empty() {
            Ok(())
        } else {
            Err(Violations(out))
        }
    }
}

impl<T: Validate> Validate for Option<T> {
    fn validate_into(&self, prefix: &str, out: &mut Vec<Violation>) {
        if let Some(value) = self {
            value.validate_into(prefix, out);
        }
    }
}

impl<T: Validate> Validate for Vec<T> {
    fn validate_into(&self, prefix: &str, out: &mut Vec<Violation>) {
        for (i, value) in self.iter().enumerate() {
            value.validate_into(&format!("{prefix}[{i}]"), out);
        }
    }
}

/// `prefix.name`, or `name` at the top level.
pub fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

/// Whether a character belongs to a field's documented charset.
pub type CharsetPredicate = fn(char) -> bool;

/// The schema's rules for one string value.
#[derive(Debug, Clone, Copy)]
pub struct StrRule {
    pub required: bool,
    pub min: Option<usize>,
    pub max: Option<usize>,
    pub unit: LengthUnit,
    /// The documented charset and a predicate for it.
    pub charset: Option<(&'static str, CharsetPredicate)>,
}

impl StrRule {
    /// A required string with no other rule; generated code overrides what the schema sets.
    pub const REQUIRED: StrRule = StrRule {
        required: true,
        min: None,
        max: None,
        unit: LengthUnit::Chars,
        charset: None,
    };
    /// An optional string with no other rule.
    pub const OPTIONAL: StrRule = StrRule {
        required: false,
        ..StrRule::REQUIRED
    };
}

/// Checks one string value: empty-if-required, length bounds, control characters, charset.
pub fn check_str(out: &mut Vec<Violation>, prefix: &str, name: &str, value: &str, rule: &StrRule) {
    let path = || join(prefix, name);
    if value.is_empty() {
        if rule.required {
            out.push(Violation {
                path: path(),
                rule: Rule::Required,
            });
        }
        return;
    }
    let unit = rule.unit;
    if rule.min.is_some() || rule.max.is_some() {
        let actual = unit.measure(value);
        if let Some(min) = rule.min.filter(|&m| actual < m) {
            out.push(Violation {
                path: path(),
                rule: Rule::MinLength { min, actual, unit },
            });
        }
        if let Some(max) = rule.max.filter(|&m| actual > m) {
            out.push(Violation {
                path: path(),
                rule: Rule::MaxLength { max, actual, unit },
            });
        }
    }
    if let Some(found) = value.chars().find(|c| c.is_control()) {
        out.push(Violation {
            path: path(),
            rule: Rule::ControlCharacter { found },
        });
    } else if let Some((allowed, ok)) = rule.charset {
        if let Some(found) = value.chars().find(|&c| !ok(c)) {
            out.push(Violation {
                path: path(),
                rule: Rule::Charset { allowed, found },
            });
        }
    }
}

/// Checks that a request carries only documented enum values.
pub fn check_enum<T: crate::WireEnum>(
    out: &mut Vec<Violation>,
    prefix: &str,
    name: &str,
    value: &T,
) {
    if !value.is_known() {
        out.push(Violation {
            path: join(prefix, name),
            rule: Rule::UnknownEnumValue {
                value: value.as_wire().to_owned(),
            },
        });
    }
}

/// Records a missing field that a conditional rule makes required.
pub fn required_if(
    out: &mut Vec<Violation>,
    prefix: &str,
    name: &str,
    other: &'static str,
    equals: &'static str,
) {
    out.push(Violation {
        path: join(prefix, name),
        rule: Rule::RequiredIf { other, equals },
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_characters_and_bytes_differently() {
        let value = "商品券";
        assert_eq!(LengthUnit::Chars.measure(value), 3);
        assert_eq!(LengthUnit::Bytes.measure(value), 9);
    }

    #[test]
    fn reports_every_broken_rule_with_its_path() {
        let mut out = Vec::new();
        let rule = StrRule {
            min: Some(3),
            max: Some(1),
            ..StrRule::REQUIRED
        };
        check_str(&mut out, "a", "b", "x\u{7}", &rule);
        let text: Vec<String> = out.iter().map(|v| v.to_string()).collect();
        assert_eq!(
            text,
            [
                "a.b: must be at least 3 characters long, got 2",
                "a.b: must be at most 1 characters long, got 2",
                "a.b: control character '\\u{7}' is not allowed",
            ]
        );
    }

    #[test]
    fn empty_optional_value_is_not_checked_further() {
        let mut out = Vec::new();
        check_str(
            &mut out,
            "",
            "b",
            "",
            &StrRule {
                min: Some(3),
                ..StrRule::OPTIONAL
            },
        );
        assert!(out.is_empty());
    }
}
