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

    /// `characters` or `bytes`: the one wording of the unit (errors, docs, `describe`).
    pub fn noun(self) -> &'static str {
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
        /// The documented minimum.
        min: usize,
        /// The value's length, in `unit`.
        actual: usize,
        /// What the lengths count (characters or bytes).
        unit: LengthUnit,
    },
    /// Longer than the documented maximum.
    MaxLength {
        /// The documented maximum.
        max: usize,
        /// The value's length, in `unit`.
        actual: usize,
        /// What the lengths count (characters or bytes).
        unit: LengthUnit,
    },
    /// Holds a character outside the documented charset.
    Charset {
        /// The documented class, as the schema writes it (`A-Za-z0-9_-`).
        allowed: &'static str,
        /// The first character outside it.
        found: char,
    },
    /// Holds a control character (never valid in these APIs' text fields).
    ControlCharacter {
        /// The first control character found.
        found: char,
    },
    /// Required because another field has a given value.
    RequiredIf {
        /// The field whose value makes this one required.
        other: &'static str,
        /// That value.
        equals: &'static str,
    },
    /// Required because another field is present.
    RequiredWith {
        /// The field whose presence makes this one required.
        other: &'static str,
    },
    /// None of a group of fields is present; at least one must be.
    AtLeastOneOf {
        /// The fields of the group.
        fields: &'static [&'static str],
    },
    /// None, or more than one, of a group of fields is present; exactly one must be.
    ExactlyOneOf {
        /// The fields of the group.
        fields: &'static [&'static str],
        /// How many of them are present.
        present: usize,
    },
    /// An integer below the documented minimum.
    Minimum {
        /// The documented minimum.
        min: i64,
        /// The value sent.
        actual: i64,
    },
    /// An integer above the documented maximum.
    Maximum {
        /// The documented maximum.
        max: i64,
        /// The value sent.
        actual: i64,
    },
    /// A list with fewer items than documented.
    MinItems {
        /// The documented minimum number of items.
        min: usize,
        /// How many the list holds.
        actual: usize,
    },
    /// A list with more items than documented.
    MaxItems {
        /// The documented maximum number of items.
        max: usize,
        /// How many the list holds.
        actual: usize,
    },
    /// A path parameter of `.` or `..`: no URL can carry it as a segment.
    DotSegment {
        /// The value: `.` or `..`.
        value: &'static str,
    },
    /// An enum value this SDK does not know, in a request.
    UnknownEnumValue {
        /// The value sent.
        value: String,
        /// The values the schema documents.
        known: &'static [&'static str],
    },
}

/// One broken rule at one field path (`coupon_tag_info.member_tag_info.member_card_id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The field path, dotted from the request (`coupon_tag_info.member_tag_info.member_card_id`).
    pub path: String,
    /// The rule the value breaks.
    pub rule: Rule,
}

impl Violation {
    /// What is wrong, without the path.
    pub fn message(&self) -> String {
        Message(&self.rule).to_string()
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, Message(&self.rule))
    }
}

/// A rule's message, the one wording of every rule.
struct Message<'a>(&'a Rule);

impl fmt::Display for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Rule::Required => write!(f, "is required and must not be empty"),
            Rule::MinLength { min, actual, unit } => {
                write!(
                    f,
                    "must be at least {min} {} long, got {actual}",
                    unit.noun()
                )
            }
            Rule::MaxLength { max, actual, unit } => {
                write!(
                    f,
                    "must be at most {max} {} long, got {actual}",
                    unit.noun()
                )
            }
            Rule::Charset { allowed, found } => {
                write!(f, "character {found:?} is not allowed (allowed: {allowed})")
            }
            Rule::DotSegment { value } => write!(
                f,
                "{value:?} cannot be sent as a path segment (a URL resolves it away)"
            ),
            Rule::ControlCharacter { found } => {
                write!(f, "control character {found:?} is not allowed")
            }
            Rule::RequiredIf { other, equals } => {
                write!(f, "is required when {other} is {equals}")
            }
            Rule::UnknownEnumValue { value, known } => {
                write!(f, "{value:?} is not one of {}", known.join(", "))
            }
            Rule::RequiredWith { other } => write!(f, "is required when {other} is given"),
            Rule::AtLeastOneOf { fields } => {
                write!(f, "at least one of {} is required", fields.join(", "))
            }
            Rule::ExactlyOneOf { fields, present } => {
                write!(
                    f,
                    "exactly one of {} is required, {present} given",
                    fields.join(", ")
                )
            }
            Rule::Minimum { min, actual } => {
                write!(f, "must be at least {min}, got {actual}")
            }
            Rule::Maximum { max, actual } => {
                write!(f, "must be at most {max}, got {actual}")
            }
            Rule::MinItems { min, actual } => {
                write!(f, "must have at least {min} items, got {actual}")
            }
            Rule::MaxItems { max, actual } => {
                write!(f, "must have at most {max} items, got {actual}")
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

/// A field's documented charset: the class as the page writes it and a predicate for it.
#[derive(Debug, Clone, Copy)]
pub struct Charset {
    /// The character class, e.g. `0-9A-Za-z_-`.
    pub class: &'static str,
    /// Whether a character belongs to the class (generated from the class).
    pub contains: fn(char) -> bool,
}

/// The schema's rules for one string value (whether it is required is the field's).
#[derive(Debug, Clone, Copy)]
pub struct StrRule {
    /// The shortest length allowed, in `unit`.
    pub min: Option<usize>,
    /// The longest length allowed, in `unit`.
    pub max: Option<usize>,
    /// What `min` and `max` count: characters or UTF-8 bytes.
    pub unit: LengthUnit,
    /// The characters allowed, when the page restricts them.
    pub charset: Option<Charset>,
    /// A path parameter: one URL segment, so never `.` or `..` (which a URL resolves
    /// away) — generated for every field the schema places `in: path`.
    pub path_segment: bool,
}

impl StrRule {
    /// No rule beyond "no control characters"; generated rules override what the schema sets.
    pub const NONE: StrRule = StrRule {
        min: None,
        max: None,
        unit: LengthUnit::Chars,
        charset: None,
        path_segment: false,
    };

    /// `3–15 characters`, `at most 40 characters`, …; `None` without a length rule.
    pub fn length_text(&self) -> Option<String> {
        range_text(self.min, self.max, self.unit.noun())
    }
}

/// The schema's range for one integer value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntRule {
    /// The smallest value allowed.
    pub min: Option<i64>,
    /// The largest value allowed.
    pub max: Option<i64>,
}

impl IntRule {
    /// No range.
    pub const NONE: IntRule = IntRule {
        min: None,
        max: None,
    };

    /// `1–100` (inclusive), `at most 50`, …; `None` without a range.
    pub fn range_text(&self) -> Option<String> {
        range_text(self.min, self.max, "")
    }
}

/// `1–8 items`, `at most 8 items`, …; `None` without a rule.
pub fn items_text(min: Option<usize>, max: Option<usize>) -> Option<String> {
    range_text(min, max, "items")
}

/// The one wording of a documented range: `lo–hi unit`, `at most hi unit`, `at least lo unit`.
pub fn range_text<T: fmt::Display>(min: Option<T>, max: Option<T>, unit: &str) -> Option<String> {
    let unit = if unit.is_empty() {
        String::new()
    } else {
        format!(" {unit}")
    };
    match (min, max) {
        (Some(min), Some(max)) => Some(format!("{min}–{max}{unit}")),
        (None, Some(max)) => Some(format!("at most {max}{unit}")),
        (Some(min), None) => {
            let min = min.to_string();
            // "at least 1 character", not "1 characters".
            let unit = match unit.strip_suffix('s') {
                Some(one) if min == "1" => one,
                _ => &unit,
            };
            Some(format!("at least {min}{unit}"))
        }
        (None, None) => None,
    }
}

/// Checks one string value: empty-if-required, length bounds, control characters, charset.
pub fn check_str(
    out: &mut Vec<Violation>,
    path: &dyn Fn() -> String,
    value: &str,
    required: bool,
    rule: &StrRule,
) {
    if value.is_empty() {
        if required {
            out.push(Violation {
                path: path(),
                rule: Rule::Required,
            });
        }
        return;
    }
    if rule.path_segment {
        if let Some(value) = [".", ".."].into_iter().find(|dots| value == *dots) {
            out.push(Violation {
                path: path(),
                rule: Rule::DotSegment { value },
            });
        }
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
    } else if let Some(charset) = rule.charset {
        if let Some(found) = value.chars().find(|&c| !(charset.contains)(c)) {
            out.push(Violation {
                path: path(),
                rule: Rule::Charset {
                    allowed: charset.class,
                    found,
                },
            });
        }
    }
}

/// Checks one integer against its documented range.
pub fn check_int(out: &mut Vec<Violation>, path: &dyn Fn() -> String, value: &i64, rule: &IntRule) {
    let value = *value;
    if let Some(min) = rule.min.filter(|&m| value < m) {
        out.push(Violation {
            path: path(),
            rule: Rule::Minimum { min, actual: value },
        });
    }
    if let Some(max) = rule.max.filter(|&m| value > m) {
        out.push(Violation {
            path: path(),
            rule: Rule::Maximum { max, actual: value },
        });
    }
}

/// Checks the number of items of a list.
pub fn check_items(
    out: &mut Vec<Violation>,
    path: &dyn Fn() -> String,
    actual: usize,
    min: Option<usize>,
    max: Option<usize>,
) {
    if let Some(min) = min.filter(|&m| actual < m) {
        out.push(Violation {
            path: path(),
            rule: Rule::MinItems { min, actual },
        });
    }
    if let Some(max) = max.filter(|&m| actual > m) {
        out.push(Violation {
            path: path(),
            rule: Rule::MaxItems { max, actual },
        });
    }
}

/// Checks that a request carries only documented enum values.
pub fn check_enum<T: crate::WireEnum>(
    out: &mut Vec<Violation>,
    path: &dyn Fn() -> String,
    value: &T,
) {
    if !value.is_known() {
        out.push(Violation {
            path: path(),
            rule: Rule::UnknownEnumValue {
                value: value.as_wire().to_owned(),
                known: T::KNOWN_VALUES,
            },
        });
    }
}

/// Records a missing field that a conditional rule makes required.
pub fn conditional(out: &mut Vec<Violation>, prefix: &str, name: &str, rule: Rule) {
    out.push(Violation {
        path: join(prefix, name),
        rule,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(path: &'static str) -> impl Fn() -> String {
        move || path.to_owned()
    }

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
            ..StrRule::NONE
        };
        check_str(&mut out, &at("a.b"), "x\u{7}", true, &rule);
        check_int(
            &mut out,
            &at("n"),
            &0,
            &IntRule {
                min: Some(1),
                max: Some(5),
            },
        );
        check_items(&mut out, &at("l"), 9, None, Some(8));
        let text: Vec<String> = out.iter().map(|v| v.to_string()).collect();
        assert_eq!(
            text,
            [
                "a.b: must be at least 3 characters long, got 2",
                "a.b: must be at most 1 characters long, got 2",
                "a.b: control character '\\u{7}' is not allowed",
                "n: must be at least 1, got 0",
                "l: must have at most 8 items, got 9",
            ]
        );
    }

    #[test]
    fn charset_uses_the_generated_predicate() {
        let mut out = Vec::new();
        let rule = StrRule {
            charset: Some(Charset {
                class: "0-9",
                contains: |c| c.is_ascii_digit(),
            }),
            ..StrRule::NONE
        };
        check_str(&mut out, &at("n"), "12a", true, &rule);
        assert_eq!(
            out[0].to_string(),
            "n: character 'a' is not allowed (allowed: 0-9)"
        );
    }

    #[test]
    fn empty_optional_value_is_not_checked_further() {
        let mut out = Vec::new();
        let rule = StrRule {
            min: Some(3),
            ..StrRule::NONE
        };
        check_str(&mut out, &at("b"), "", false, &rule);
        assert!(out.is_empty());
        check_str(&mut out, &at("b"), "", true, &rule);
        assert_eq!(out[0].rule, Rule::Required);
    }
}
