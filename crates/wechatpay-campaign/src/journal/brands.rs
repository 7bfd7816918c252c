//! The brand each row acts for, when the operation's schema names a brand field
//! (`EndpointInfo::brand_field`: `brand_id` on the service-provider operations).
//!
//! ```text
//! rows.brand       the row's brand: its cell, else the template's value ('' without a brand field)
//! follow_ups.brand the follow-up's brand: its request's brand field ('' without one)
//! brands           every brand of the campaign, written with the rows
//! ```
//!
//! Rows and follow-ups are claimed per brand (each brand has its own pacing and
//! its own re-check after a refusal about the caller), so the open ones are
//! indexed by brand. Format 2 journals (before brands) are migrated when opened
//! for sending, and read as they are by `status` and `report`.

use serde_json::Value;

/// One brand's rows by outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrandCounts {
    /// The brand id ('' for rows without one).
    pub brand: String,
    /// Every row of the brand.
    pub total: u64,
    /// Rows sent, and followed up where their result needed it.
    pub succeeded: u64,
    /// Rows that failed for good.
    pub failed: u64,
    /// Rows not known to be done (to send, in flight, or awaiting their follow-up).
    pub open: u64,
    /// The failed rows' error codes with their counts, most frequent first.
    pub failures: Vec<(String, u64)>,
}

impl BrandCounts {
    /// Folds `(brand, state, failed row's code, rows)` groups, ordered by brand,
    /// into each brand's counts, its failure codes most frequent first (both
    /// stores group their rows this way).
    pub(crate) fn fold(
        groups: impl IntoIterator<Item = (String, String, Option<String>, u64)>,
    ) -> Vec<BrandCounts> {
        let mut out: Vec<BrandCounts> = Vec::new();
        for (brand, state, code, n) in groups {
            if out.last().is_none_or(|b| b.brand != brand) {
                out.push(BrandCounts {
                    brand,
                    ..BrandCounts::default()
                });
            }
            let Some(counts) = out.last_mut() else {
                continue;
            };
            counts.total += n;
            match state.as_str() {
                "succeeded" => counts.succeeded += n,
                "failed" => {
                    counts.failed += n;
                    counts.failures.push((code.unwrap_or_default(), n));
                }
                _ => counts.open += n,
            }
        }
        for counts in &mut out {
            counts
                .failures
                .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        }
        out
    }
}

/// The brand of a request body: the value of `field`, as text.
pub fn brand_of(field: Option<&str>, body: &serde_json::Map<String, Value>) -> String {
    match field.and_then(|f| body.get(f)) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_body_names_its_brand_by_the_declared_field() {
        let body = json!({"brand_id": "120344", "openid": "o"});
        let body = body.as_object().unwrap();
        assert_eq!(brand_of(Some("brand_id"), body), "120344");
        assert_eq!(brand_of(None, body), "");
        assert_eq!(brand_of(Some("other"), body), "");
        let number = json!({"brand_id": 7});
        assert_eq!(brand_of(Some("brand_id"), number.as_object().unwrap()), "7");
    }
}
