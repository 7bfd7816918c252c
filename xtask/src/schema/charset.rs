//! Parses a charset rule such as `A-Za-z0-9|_*-` into character ranges.

use super::model::Charset;

/// `a-z` is a range; `\-` or a `-` at either end is a literal dash; anything else is itself.
pub fn parse(source: &str) -> Result<Charset, String> {
    if source.is_empty() {
        return Err("charset is empty".into());
    }
    let chars: Vec<char> = source.chars().collect();
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (lo, next) = literal(&chars, i)?;
        if next + 1 < chars.len() && chars[next] == '-' {
            let (hi, after) = literal(&chars, next + 1)?;
            if hi < lo {
                return Err(format!("range {lo}-{hi} is backwards"));
            }
            ranges.push((lo, hi));
            i = after;
        } else {
            ranges.push((lo, lo));
            i = next;
        }
    }
    Ok(Charset {
        source: source.to_owned(),
        ranges,
    })
}

fn literal(chars: &[char], i: usize) -> Result<(char, usize), String> {
    match chars[i] {
        '\\' => match chars.get(i + 1) {
            Some(&c) => Ok((c, i + 2)),
            None => Err("charset ends with a lone backslash".into()),
        },
        c if c.is_control() || c == ' ' => {
            Err(format!("charset holds a blank or control character {c:?}"))
        }
        c => Ok((c, i + 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ranges_singles_and_trailing_dash() {
        let set = parse("A-Za-z0-9|_*-").unwrap();
        assert_eq!(
            set.ranges,
            [
                ('A', 'Z'),
                ('a', 'z'),
                ('0', '9'),
                ('|', '|'),
                ('_', '_'),
                ('*', '*'),
                ('-', '-')
            ]
        );
    }

    #[test]
    fn escaped_dash_is_literal() {
        assert_eq!(
            parse("a\\-b").unwrap().ranges,
            [('a', 'a'), ('-', '-'), ('b', 'b')]
        );
    }

    #[test]
    fn rejects_backwards_ranges_and_blanks() {
        assert!(parse("z-a").is_err());
        assert!(parse("a b").is_err());
        assert!(parse("").is_err());
    }
}
