//! The schema's charset classes (`0-9A-Za-z_-`, `A-Za-z0-9|_*-`) as predicates.

/// A parsed character class: inclusive ranges (single characters are ranges of one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charset {
    ranges: Vec<(char, char)>,
}

impl Charset {
    /// Parses a class body: `a-z` ranges and single characters; `\-` (or a
    /// leading or trailing `-`) is a literal `-`, and `\x` any literal `x`.
    pub fn parse(class: &str) -> Charset {
        let chars: Vec<char> = class.chars().collect();
        let mut ranges = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let (start, next) = literal(&chars, i);
            if next + 1 < chars.len() && chars[next] == '-' {
                let (end, after) = literal(&chars, next + 1);
                ranges.push((start, end));
                i = after;
            } else {
                ranges.push((start, start));
                i = next;
            }
        }
        Charset { ranges }
    }

    /// Whether `c` is in the class.
    pub fn contains(&self, c: char) -> bool {
        self.ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi)
    }
}

/// The literal character at `i` (undoing a backslash escape) and the index after it.
fn literal(chars: &[char], i: usize) -> (char, usize) {
    if chars[i] == '\\' && i + 1 < chars.len() {
        (chars[i + 1], i + 2)
    } else {
        (chars[i], i + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_schema_classes() {
        let c = Charset::parse("0-9A-Za-z_-");
        assert!("Ab9_-".chars().all(|ch| c.contains(ch)));
        assert!(!c.contains('|') && !c.contains(' ') && !c.contains('券'));
        let c = Charset::parse("A-Za-z0-9|_*-");
        assert!("z|_*-".chars().all(|ch| c.contains(ch)));
        assert!(!c.contains('.'));
        let c = Charset::parse(r"a\-c");
        assert!(c.contains('-') && c.contains('a') && c.contains('c') && !c.contains('b'));
    }
}
