//! Path templates (`/users/{openid}/coupons`) and query strings: one
//! implementation for the client that fills them and the sandbox that matches them.

use std::fmt;

/// A path with `{name}` placeholders, each standing for one percent-encoded segment.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PathTemplate(&'static str);

impl fmt::Debug for PathTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PathTemplate({:?})", self.0)
    }
}

impl fmt::Display for PathTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl PathTemplate {
    /// Wraps a template; the schema loader has checked its placeholders.
    pub const fn new(template: &'static str) -> Self {
        PathTemplate(template)
    }

    /// The template as written.
    pub fn as_str(&self) -> &'static str {
        self.0
    }

    /// The placeholder names, in order.
    pub fn params(&self) -> impl Iterator<Item = &'static str> {
        self.0
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
    }

    /// The path with each placeholder replaced by the next value, percent-encoded.
    /// Missing values leave the placeholder empty (the request's `validate()` reports them).
    pub fn render(&self, values: &[&str]) -> String {
        let mut values = values.iter();
        let mut out = String::with_capacity(self.0.len() + 32);
        for (i, segment) in self.0.split('/').enumerate() {
            if i > 0 {
                out.push('/');
            }
            if segment.starts_with('{') && segment.ends_with('}') {
                out.push_str(&encode_component(values.next().copied().unwrap_or("")));
            } else {
                out.push_str(segment);
            }
        }
        out
    }

    /// Matches a request path segment by segment; each `{name}` matches one non-empty
    /// segment, returned still percent-encoded (see [`percent_decode`]).
    pub fn match_path<'p>(&self, path: &'p str) -> Option<Vec<(&'static str, &'p str)>> {
        let mut want = self.0.split('/');
        let mut got = path.split('/');
        let mut params = Vec::new();
        loop {
            match (want.next(), got.next()) {
                (None, None) => return Some(params),
                (Some(w), Some(g)) => {
                    if let Some(name) = w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                        if g.is_empty() {
                            return None;
                        }
                        params.push((name, g));
                    } else if w != g {
                        return None;
                    }
                }
                _ => return None,
            }
        }
    }
}

/// Percent-encodes a path segment or query value: everything but RFC 3986 unreserved characters.
pub fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(byte >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(byte & 15)]));
        }
    }
    out
}

/// Decodes `%XX` escapes; `None` for a bad escape or a result that is not UTF-8.
pub fn percent_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = value.get(i + 1..i + 3)?;
            // from_str_radix alone would take a sign ("%+5").
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A query string built in field order, each value percent-encoded: what is sent is what is signed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryString(String);

impl QueryString {
    /// An empty query.
    pub fn new() -> Self {
        QueryString(String::new())
    }

    /// Appends `name=value`.
    pub fn push(&mut self, name: &str, value: impl fmt::Display) -> &mut Self {
        if !self.0.is_empty() {
            self.0.push('&');
        }
        self.0.push_str(name);
        self.0.push('=');
        self.0.push_str(&encode_component(&value.to_string()));
        self
    }

    /// Appends `name=value` when there is a value.
    pub fn push_opt<T: fmt::Display>(&mut self, name: &str, value: Option<T>) -> &mut Self {
        if let Some(value) = value {
            self.push(name, value);
        }
        self
    }

    /// The query without `?`, or `None` when no parameter was set.
    pub fn finish(&self) -> Option<String> {
        (!self.0.is_empty()).then(|| self.0.clone())
    }
}

/// Splits a received query string into decoded pairs; `Err` names the pair that does not decode.
pub fn parse_query(query: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |text: &str| {
            percent_decode(&text.replace('+', "%20")).ok_or_else(|| {
                format!("query parameter {pair:?} is not valid percent-encoded UTF-8")
            })
        };
        out.push((decode(name)?, decode(value)?));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: PathTemplate = PathTemplate::new("/users/{openid}/coupons/{coupon_code}/use");

    #[test]
    fn renders_and_matches_the_same_template() {
        assert_eq!(T.params().collect::<Vec<_>>(), ["openid", "coupon_code"]);
        let path = T.render(&["o/1", "券 1"]);
        assert_eq!(path, "/users/o%2F1/coupons/%E5%88%B8%201/use");
        let params = T.match_path(&path).unwrap();
        assert_eq!(
            params,
            [("openid", "o%2F1"), ("coupon_code", "%E5%88%B8%201")]
        );
        assert_eq!(percent_decode(params[1].1).as_deref(), Some("券 1"));
        assert!(T.match_path("/users//coupons/x/use").is_none());
        assert!(T.match_path("/users/a/coupons/x/use/more").is_none());
        assert!(T.match_path("/users/a/coupons/x").is_none());
    }

    #[test]
    fn encodes_reserved_and_non_ascii_characters() {
        assert_eq!(encode_component("oh-394z_6.C~"), "oh-394z_6.C~");
        assert_eq!(
            encode_component("a/b c?d#e%&="),
            "a%2Fb%20c%3Fd%23e%25%26%3D"
        );
    }

    #[test]
    fn strict_percent_decoding() {
        assert_eq!(percent_decode("%E5%88%B8").as_deref(), Some("券"));
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%+5"), None);
        assert_eq!(percent_decode("%FF%FE"), None);
        assert_eq!(percent_decode("%4"), None);
    }

    #[test]
    fn query_strings_keep_field_order_and_round_trip() {
        let mut q = QueryString::new();
        q.push("state", "SENDING")
            .push_opt("page_size", Some(10))
            .push_opt::<&str>("page_token", None)
            .push("appid", "wx&1 2");
        let text = q.finish().unwrap();
        assert_eq!(text, "state=SENDING&page_size=10&appid=wx%261%202");
        assert_eq!(
            parse_query(&text).unwrap(),
            [
                ("state".to_owned(), "SENDING".to_owned()),
                ("page_size".to_owned(), "10".to_owned()),
                ("appid".to_owned(), "wx&1 2".to_owned())
            ]
        );
        assert!(QueryString::new().finish().is_none());
        assert!(parse_query("a=%FF").is_err());
    }
}
