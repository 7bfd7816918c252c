//! Text helpers shared by the other modules: cutting untrusted input short for
//! error messages, and reading the decimal Unix seconds of a timestamp header.
//!
//! A leaf: it imports no other module of this crate.

/// At most `max` characters of `value` (an ellipsis marks a cut), for error
/// messages that quote untrusted input.
///
/// ```
/// use wechatpay_protocol::text::truncate;
/// assert_eq!(truncate("商品券券", 2), "商品…");
/// assert_eq!(truncate("ab", 2), "ab");
/// ```
pub fn truncate(value: &str, max: usize) -> String {
    match value.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &value[..end]),
        None => value.to_owned(),
    }
}

/// `error`'s message, then each of its `source()`s', joined with `: `: the whole
/// chain, each cause once (a cause whose text the message already holds is
/// skipped, for errors of other libraries that repeat their source), at most
/// eight deep.
///
/// ```
/// use wechatpay_protocol::text::error_chain;
/// let io = std::io::Error::other("disk full");
/// assert_eq!(error_chain(&io), "disk full");
/// ```
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    for _ in 0..8 {
        let Some(cause) = next else { break };
        let part = cause.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        next = cause.source();
    }
    text
}

/// Parses decimal Unix seconds (digits only, no sign, at most 18 digits).
pub fn parse_unix_seconds(value: &str) -> Option<i64> {
    if value.is_empty() || value.len() > 18 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_seconds_are_digits_only() {
        assert_eq!(parse_unix_seconds("1554208460"), Some(1_554_208_460));
        for bad in ["", "-1", "+1", "1.5", " 1", "1234567890123456789"] {
            assert_eq!(parse_unix_seconds(bad), None, "{bad:?}");
        }
    }
}
