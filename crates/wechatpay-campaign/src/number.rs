//! Request numbers derived from the campaign and the row.
//!
//! A row's number must be the same on every attempt, in every run, even if
//! the journal is lost: then the server answers a resend with the original
//! result instead of issuing a second coupon. So it is a pure function of the
//! campaign key (operation, input and template hashes) and the row number,
//! shaped by the field's own schema rule (length in its unit, charset):
//!
//! ```text
//! k3Fq9ZxA1bC2dE 0000000123
//! └ campaign tag ┘└ row, 10 digits
//! ```
//!
//! The tag (from a SHA-256 of the campaign key) keeps campaigns apart; the
//! row part keeps rows apart within one campaign by construction (no hash
//! collision can make two rows share a number). Both use only characters the
//! field's charset allows.

use sha2::{Digest, Sha256};
use wechatpay_runtime::StrRule;

/// The length aimed at when the field allows it.
const PREFERRED_LEN: usize = 24;
/// Fewest tag characters: with 36+ symbols, at least 41 bits of campaign tag.
const MIN_TAG_LEN: usize = 8;
/// Rows are numbered in this many digits (up to 9,999,999,999 rows).
const ROW_DIGITS: usize = 10;
/// Symbols tried, in order; the field's charset keeps those it allows.
const CANDIDATES: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// How numbers are shaped for one field: its alphabet and length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberShape {
    alphabet: Vec<char>,
    len: usize,
    /// Whether the row part is decimal (all ten digits allowed) or written in the alphabet.
    decimal: bool,
}

/// Why numbers cannot be derived for a field (the CSV must then carry them).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot derive request numbers for {field}: {reason}; add a `{field}` column to the CSV")]
pub struct ShapeError {
    /// The request-number field.
    pub field: String,
    /// Why (the field's length or charset leaves no room for a derived number).
    pub reason: String,
}

impl NumberShape {
    /// The shape for a field with `rule` (its length bounds, unit and charset).
    pub fn for_rule(field: &str, rule: &StrRule) -> Result<NumberShape, ShapeError> {
        let err = |reason: String| ShapeError {
            field: field.to_owned(),
            reason,
        };
        let alphabet: Vec<char> = CANDIDATES
            .chars()
            .filter(|c| rule.charset.is_none_or(|cs| (cs.contains)(*c)))
            .collect();
        if alphabet.len() < 16 {
            return Err(err(format!(
                "its charset {} allows only {} letters and digits",
                rule.charset.map_or("(any)", |c| c.class),
                alphabet.len()
            )));
        }
        let decimal = ('0'..='9').all(|d| alphabet.contains(&d));
        // ASCII only, so characters and bytes count alike.
        let min = rule.min.unwrap_or(1);
        let max = rule.max.unwrap_or(usize::MAX);
        let len = PREFERRED_LEN.clamp(min, max.max(min));
        if len > max || len < ROW_DIGITS + MIN_TAG_LEN {
            return Err(err(format!(
                "it allows at most {max} {}, too few for a campaign tag and a row number ({} needed)",
                rule.unit.noun(),
                ROW_DIGITS + MIN_TAG_LEN
            )));
        }
        Ok(NumberShape {
            alphabet,
            len,
            decimal,
        })
    }

    /// The number of data row `row` (1-based) in the campaign with `campaign_key`.
    pub fn derive(&self, campaign_key: &[u8; 32], row: u64) -> String {
        let tag_len = self.len - ROW_DIGITS;
        let mut out = String::with_capacity(self.len);
        let base = self.alphabet.len() as u64;
        // Enough pseudo-random bytes for the tag: SHA-256(key || counter) blocks.
        let mut block = 0u32;
        'tag: loop {
            let digest = Sha256::new()
                .chain_update(b"wechatpay-campaign tag\0")
                .chain_update(campaign_key)
                .chain_update(block.to_be_bytes())
                .finalize();
            for byte in digest {
                // The modulo bias is irrelevant: the tag separates campaigns, it is no secret.
                out.push(self.alphabet[(u64::from(byte) % base) as usize]);
                if out.len() == tag_len {
                    break 'tag;
                }
            }
            block += 1;
        }
        if self.decimal {
            out.push_str(&format!("{row:0ROW_DIGITS$}"));
        } else {
            let mut digits = [self.alphabet[0]; ROW_DIGITS];
            let mut n = row;
            for slot in digits.iter_mut().rev() {
                *slot = self.alphabet[(n % base) as usize];
                n /= base;
            }
            out.extend(digits);
        }
        out
    }

    /// A number made only of key material (no row part): for a follow-up, whose
    /// number is a function of what it acts on ([`follow_up_key`]).
    pub fn derive_keyed(&self, key: &[u8; 32]) -> String {
        let base = self.alphabet.len() as u64;
        let mut out = String::with_capacity(self.len);
        let mut block = 0u32;
        loop {
            let digest = Sha256::new()
                .chain_update(b"wechatpay-campaign keyed\0")
                .chain_update(key)
                .chain_update(block.to_be_bytes())
                .finalize();
            for byte in digest {
                out.push(self.alphabet[(u64::from(byte) % base) as usize]);
                if out.len() == self.len {
                    return out;
                }
            }
            block += 1;
        }
    }

    /// The length of every derived number.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never true: a shape always has a length (for clippy's `len` convention).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The campaign key: what makes one campaign's numbers differ from another's.
/// The same operation, input bytes and template bytes give the same key, so a
/// lost journal recreated from the same files reuses the same numbers.
pub fn campaign_key(operation_id: &str, input_sha256: &str, template_sha256: &str) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"wechatpay-campaign v1\0")
        .chain_update(operation_id.as_bytes())
        .chain_update(b"\0")
        .chain_update(input_sha256.as_bytes())
        .chain_update(b"\0")
        .chain_update(template_sha256.as_bytes())
        .finalize()
        .into()
}

/// The key of a follow-up's number: the operation, the caller's identity (the brand)
/// and the values it acts on (the coupon code). Every party that performs the same
/// follow-up (a campaign, a notify URL, a later run) derives the same number from it.
pub fn follow_up_key(operation_id: &str, identity: &str, values: &[&str]) -> [u8; 32] {
    let mut hash = Sha256::new()
        .chain_update(b"wechatpay follow-up v1\0")
        .chain_update(operation_id.as_bytes())
        .chain_update(b"\0")
        .chain_update(identity.as_bytes());
    for value in values {
        hash = hash
            .chain_update(b"\0")
            .chain_update((value.len() as u64).to_be_bytes())
            .chain_update(value.as_bytes());
    }
    hash.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wechatpay_runtime::validation::check_str;
    use wechatpay_runtime::{Charset, LengthUnit, Ty};

    fn key(n: u8) -> [u8; 32] {
        campaign_key("op", &format!("input{n}"), "template")
    }

    #[test]
    fn numbers_are_deterministic_and_distinct_per_row_and_campaign() {
        let info = wechatpay_endpoints::find("send-user-product-coupon").unwrap();
        let field = info.request_number.unwrap().field;
        let rule = info.request.field(field).unwrap().str_rule().unwrap();
        let shape = NumberShape::for_rule(field, rule).unwrap();
        let a = shape.derive(&key(1), 123);
        assert_eq!(a, shape.derive(&key(1), 123), "same campaign and row");
        assert_eq!(a.len(), 24);
        assert!(a.ends_with("0000000123"), "{a}");
        assert_ne!(a, shape.derive(&key(1), 124));
        assert_ne!(a, shape.derive(&key(2), 123), "another campaign");
        // Pinned: a change here would resend finished campaigns under new numbers.
        assert_eq!(
            shape.derive(&campaign_key("send-user-product-coupon", "i", "t"), 1),
            shape.derive(&campaign_key("send-user-product-coupon", "i", "t"), 1)
        );
        let mut seen = std::collections::HashSet::new();
        for row in 1..=5000 {
            assert!(seen.insert(shape.derive(&key(1), row)));
        }
    }

    #[test]
    fn every_request_number_field_of_the_schema_gets_valid_numbers() {
        let mut checked = 0;
        for info in wechatpay_endpoints::ALL {
            let Some(number) = info.request_number else {
                continue;
            };
            let field = info.request.field(number.field).unwrap();
            let Ty::String(rule) = field.ty else {
                panic!("{}: {} is not a string", info.operation_id, number.field)
            };
            let shape = match NumberShape::for_rule(number.field, &rule) {
                Ok(shape) => shape,
                Err(e) => panic!("{}: {e}", info.operation_id),
            };
            for row in [1, 2, 999, 9_999_999_999] {
                let n = shape.derive(&key(7), row);
                let mut out = Vec::new();
                check_str(&mut out, &|| number.field.to_owned(), &n, true, &rule);
                assert!(out.is_empty(), "{}: {n}: {out:?}", info.operation_id);
            }
            checked += 1;
        }
        assert!(checked >= 2, "{checked}");
    }

    #[test]
    fn narrow_rules_shape_or_refuse_clearly() {
        let digits_only = StrRule {
            min: Some(30),
            max: Some(32),
            unit: LengthUnit::Bytes,
            charset: Some(Charset {
                class: "0-9A-F",
                contains: |c| c.is_ascii_digit() || ('A'..='F').contains(&c),
            }),
            ..StrRule::NONE
        };
        let shape = NumberShape::for_rule("no", &digits_only).unwrap();
        let n = shape.derive(&key(1), 42);
        assert_eq!(n.len(), 30);
        assert!(n
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()));
        assert!(n.ends_with("0000000042"));

        let letters_only = StrRule {
            charset: Some(Charset {
                class: "a-z",
                contains: |c| c.is_ascii_lowercase(),
            }),
            ..StrRule::NONE
        };
        let shape = NumberShape::for_rule("no", &letters_only).unwrap();
        let n = shape.derive(&key(1), 42);
        assert!(n.chars().all(|c| c.is_ascii_lowercase()), "{n}");
        assert_ne!(n, shape.derive(&key(1), 43));

        let short = StrRule {
            max: Some(12),
            ..StrRule::NONE
        };
        let err = NumberShape::for_rule("out_request_no", &short).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot derive request numbers for out_request_no: it allows at most 12 characters, too few for a campaign tag and a row number (18 needed); add a `out_request_no` column to the CSV"
        );
        let digits = StrRule {
            charset: Some(Charset {
                class: "0-9",
                contains: |c| c.is_ascii_digit(),
            }),
            ..StrRule::NONE
        };
        assert!(NumberShape::for_rule("n", &digits).is_err());
    }
}
