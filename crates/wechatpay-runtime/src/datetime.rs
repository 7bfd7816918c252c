//! RFC 3339 date-times that print back exactly as WeChat Pay sent them.
//!
//! The docs write `2025-08-02T00:00:00+08:00`; a round trip through a
//! general-purpose time type could turn that into `2025-08-01T16:00:00Z`,
//! which is the same instant but not the same JSON. [`DateTime`] keeps the
//! local fields, the offset and the fraction digits, and still gives the
//! instant as Unix seconds for comparisons. It has no dependency beyond serde.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// An RFC 3339 date-time with its original offset and precision.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DateTime {
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    /// Fraction digits exactly as written (without the dot), empty when absent.
    fraction: String,
    /// `None` means `Z`; otherwise minutes east of UTC.
    offset_minutes: Option<i16>,
    /// `-00:00`: RFC 3339's "offset unknown", printed back as written.
    unknown_offset: bool,
}

/// Why a string is not an RFC 3339 date-time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateTimeError {
    input: String,
    reason: &'static str,
}

impl fmt::Display for DateTimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not an RFC 3339 date-time: {}",
            self.input, self.reason
        )
    }
}

impl std::error::Error for DateTimeError {}

impl DateTime {
    /// Builds a date-time from Unix seconds shown at a fixed offset (minutes east of UTC).
    pub fn from_unix(seconds: i64, offset_minutes: i16) -> DateTime {
        // Saturating: the year is clamped to 0..=9999 below anyway.
        let local = seconds.saturating_add(i64::from(offset_minutes) * 60);
        let days = local.div_euclid(86_400);
        let secs = local.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        DateTime {
            year: year.clamp(0, 9999) as u16,
            month,
            day,
            hour: (secs / 3600) as u8,
            minute: (secs % 3600 / 60) as u8,
            second: (secs % 60) as u8,
            fraction: String::new(),
            offset_minutes: Some(offset_minutes),
            unknown_offset: false,
        }
    }

    /// The instant as seconds since the Unix epoch (the fraction is dropped; a
    /// leap second `:60` counts as the first second of the next minute).
    pub fn unix_timestamp(&self) -> i64 {
        let days = days_from_civil(i64::from(self.year), self.month, self.day);
        let local = days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second);
        local - i64::from(self.offset_minutes.unwrap_or(0)) * 60
    }

    /// Minutes east of UTC (0 for `Z`).
    pub fn offset_minutes(&self) -> i16 {
        self.offset_minutes.unwrap_or(0)
    }

    /// `(year, month, day)` in the value's own offset.
    pub fn date(&self) -> (u16, u8, u8) {
        (self.year, self.month, self.day)
    }

    /// `(hour, minute, second)` in the value's own offset.
    pub fn time(&self) -> (u8, u8, u8) {
        (self.hour, self.minute, self.second)
    }

    /// Compares the instants, ignoring how they are written.
    pub fn cmp_instant(&self, other: &DateTime) -> Ordering {
        self.unix_timestamp()
            .cmp(&other.unix_timestamp())
            .then_with(|| fraction_nanos(&self.fraction).cmp(&fraction_nanos(&other.fraction)))
    }
}

fn fraction_nanos(fraction: &str) -> u32 {
    let mut nanos = 0u32;
    for (i, c) in fraction.chars().take(9).enumerate() {
        nanos += (c as u32 - '0' as u32) * 10u32.pow(8 - i as u32);
    }
    nanos
}

// Howard Hinnant's days-from-civil algorithms, proleptic Gregorian calendar.
fn days_from_civil(year: i64, month: u8, day: u8) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

impl FromStr for DateTime {
    type Err = DateTimeError;

    fn from_str(input: &str) -> Result<DateTime, DateTimeError> {
        let fail = |reason| DateTimeError {
            input: input.to_owned(),
            reason,
        };
        let b = input.as_bytes();
        if b.len() < 20 {
            return Err(fail(
                "too short; expected YYYY-MM-DDTHH:MM:SS followed by Z or ±HH:MM",
            ));
        }
        let digits = |range: std::ops::Range<usize>| -> Option<u16> {
            let part = b.get(range)?;
            part.iter().try_fold(0u16, |acc, &c| {
                c.is_ascii_digit().then(|| acc * 10 + u16::from(c - b'0'))
            })
        };
        let sep_ok = b[4] == b'-'
            && b[7] == b'-'
            && matches!(b[10], b'T' | b't')
            && b[13] == b':'
            && b[16] == b':';
        if !sep_ok {
            return Err(fail("separators must be YYYY-MM-DDTHH:MM:SS"));
        }
        let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
            digits(0..4),
            digits(5..7),
            digits(8..10),
            digits(11..13),
            digits(14..16),
            digits(17..19),
        ) else {
            return Err(fail("date and time fields must be digits"));
        };
        let (month, day, hour, minute, second) = (
            month as u8,
            day as u8,
            hour as u8,
            minute as u8,
            second as u8,
        );
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(fail("no such calendar date"));
        }
        if hour > 23 || minute > 59 || second > 60 {
            return Err(fail("no such time of day"));
        }
        let mut rest = &input[19..];
        let mut fraction = String::new();
        if let Some(after_dot) = rest.strip_prefix('.') {
            let len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
            if len == 0 {
                return Err(fail("a '.' must be followed by fraction digits"));
            }
            fraction = after_dot[..len].to_owned();
            rest = &after_dot[len..];
        }
        let unknown_offset = rest == "-00:00";
        let offset_minutes = match rest.as_bytes() {
            [b'Z' | b'z'] => None,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let field = |a: u8, b: u8| {
                    (a.is_ascii_digit() && b.is_ascii_digit())
                        .then(|| i16::from(a - b'0') * 10 + i16::from(b - b'0'))
                };
                let (Some(h), Some(m)) = (field(*h1, *h2), field(*m1, *m2)) else {
                    return Err(fail("offset must be ±HH:MM"));
                };
                if h > 23 || m > 59 {
                    return Err(fail("offset out of range"));
                }
                let minutes = h * 60 + m;
                Some(if *sign == b'-' { -minutes } else { minutes })
            }
            _ => return Err(fail("expected Z or ±HH:MM after the time")),
        };
        Ok(DateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
            fraction,
            offset_minutes,
            unknown_offset,
        })
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )?;
        if !self.fraction.is_empty() {
            write!(f, ".{}", self.fraction)?;
        }
        match self.offset_minutes {
            None => f.write_str("Z"),
            Some(m) => {
                let sign = if m < 0 || self.unknown_offset {
                    '-'
                } else {
                    '+'
                };
                write!(
                    f,
                    "{sign}{:02}:{:02}",
                    m.unsigned_abs() / 60,
                    m.unsigned_abs() % 60
                )
            }
        }
    }
}

impl Serialize for DateTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DateTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<DateTime, D::Error> {
        struct DateTimeVisitor;
        impl de::Visitor<'_> for DateTimeVisitor {
            type Value = DateTime;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 date-time string")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<DateTime, E> {
                value.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(DateTimeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_back_exactly_the_doc_text() {
        for text in [
            "2025-08-02T00:00:00+08:00",
            "2025-08-31T23:59:59+08:00",
            "2024-02-29T12:00:00.120Z",
            "2025-01-01T00:00:00-00:00",
            "2025-01-01T00:00:00+00:00",
            "1999-12-31T23:59:59-05:30",
        ] {
            let parsed: DateTime = text.parse().unwrap();
            assert_eq!(parsed.to_string(), text);
        }
    }

    #[test]
    fn extreme_instants_do_not_overflow() {
        assert_eq!(DateTime::from_unix(i64::MAX, 1).date().0, 9999);
        assert_eq!(DateTime::from_unix(i64::MIN, -1).date().0, 0);
    }

    #[test]
    fn knows_the_instant() {
        let dt: DateTime = "2025-08-02T00:00:00+08:00".parse().unwrap();
        assert_eq!(dt.unix_timestamp(), 1_754_064_000);
        assert_eq!(
            DateTime::from_unix(1_754_064_000, 480).to_string(),
            "2025-08-02T00:00:00+08:00"
        );
        let utc: DateTime = "2025-08-01T16:00:00Z".parse().unwrap();
        assert_eq!(dt.cmp_instant(&utc), Ordering::Equal);
    }

    #[test]
    fn rejects_what_is_not_rfc3339() {
        for bad in [
            "",
            "2025-08-02",
            "2025-08-02 00:00:00+08:00",
            "2025-02-30T00:00:00Z",
            "2025-08-02T24:00:00Z",
            "2025-08-02T00:00:00+0800",
            "2025-08-02T00:00:00.Z",
            "２025-08-02T00:00:00Z",
        ] {
            assert!(bad.parse::<DateTime>().is_err(), "{bad} should fail");
        }
    }
}
