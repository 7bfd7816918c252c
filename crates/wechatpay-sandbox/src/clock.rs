//! The sandbox's two notions of now.
//!
//! Signatures (the ±300 s window on requests, the timestamps of replies and
//! notifications) always use the wall clock, because clients check them
//! against theirs. Everything about coupons — validity, PENDING → EFFECTIVE →
//! EXPIRED, stocks reaching their end time, daily budgets, the times written
//! in bodies — uses the business clock: the wall clock plus an offset that
//! `POST /sandbox/clock` moves forward (and `--state FILE` keeps).

use std::sync::atomic::{AtomicI64, Ordering};

use wechatpay_runtime::DateTime;
use wechatpay_transport::clock::{Clock, SystemClock};

/// Times in bodies are written at +08:00, as every doc example is.
pub const OFFSET_MINUTES: i16 = 480;

/// The longest single move `POST /sandbox/clock` accepts (ten years).
pub const MAX_ADVANCE_SECONDS: i64 = 10 * 366 * 86_400;

/// How far ahead of the wall clock the business clock may ever be (100 years,
/// all moves together). Every date the sandbox writes is the business time
/// plus at most a few years (validity windows, budgets), so it stays far from
/// the last representable date (9999-12-31), where times stall and coupons
/// would be valid for no time at all.
pub const MAX_OFFSET_SECONDS: i64 = 100 * 366 * 86_400;

/// Wall clock plus a forward-only offset.
#[derive(Debug, Default)]
pub struct BusinessClock {
    offset: AtomicI64,
}

impl BusinessClock {
    /// A clock `offset` seconds ahead of the wall clock.
    pub fn new(offset: i64) -> Self {
        BusinessClock {
            offset: AtomicI64::new(offset),
        }
    }

    /// Business time now (Unix seconds).
    pub fn now(&self) -> i64 {
        SystemClock.now_unix().saturating_add(self.offset())
    }

    /// Seconds ahead of the wall clock.
    pub fn offset(&self) -> i64 {
        self.offset.load(Ordering::SeqCst)
    }

    /// Moves the clock forward; returns the new offset, or `Err(offset)` (the
    /// clock unmoved) when the move would take it beyond [`MAX_OFFSET_SECONDS`].
    pub fn advance(&self, seconds: i64) -> Result<i64, i64> {
        self.offset
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |offset| {
                offset
                    .checked_add(seconds)
                    .filter(|&new| new <= MAX_OFFSET_SECONDS)
            })
            .map(|old| old + seconds)
    }
}

/// Unix seconds as an RFC 3339 date-time at +08:00.
pub fn datetime(unix: i64) -> DateTime {
    DateTime::from_unix(unix, OFFSET_MINUTES)
}

/// The calendar day (at +08:00) of an instant, `YYYY-MM-DD`: the unit of daily budgets.
pub fn day(unix: i64) -> String {
    let (y, m, d) = datetime(unix).date();
    format!("{y:04}-{m:02}-{d:02}")
}

/// Midnight (at +08:00) of the day of `unix`.
pub fn start_of_day(unix: i64) -> i64 {
    let shifted = unix + i64::from(OFFSET_MINUTES) * 60;
    shifted - shifted.rem_euclid(86_400) - i64::from(OFFSET_MINUTES) * 60
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_counted_at_beijing_time() {
        // 2025-08-01T16:30:00Z is 2025-08-02T00:30:00+08:00.
        let t = 1_754_065_800;
        assert_eq!(day(t), "2025-08-02");
        assert_eq!(
            datetime(start_of_day(t)).to_string(),
            "2025-08-02T00:00:00+08:00"
        );
        let clock = BusinessClock::new(0);
        let before = clock.now();
        assert_eq!(clock.advance(86_400), Ok(86_400));
        assert!(clock.now() >= before + 86_400);
        assert_eq!(clock.advance(MAX_OFFSET_SECONDS), Err(86_400));
        assert_eq!(
            clock.advance(MAX_OFFSET_SECONDS - 86_400),
            Ok(MAX_OFFSET_SECONDS)
        );
        assert_eq!(clock.advance(1), Err(MAX_OFFSET_SECONDS));
    }
}
