//! When a coupon is valid, from its stock's `coupon_available_period`
//! (family README, "Constraints on create objects"):
//!
//! - it becomes valid `wait_days_after_receive` days after it is received,
//!   but not before `available_begin_time`;
//! - it stays valid `available_days` days from then when given, and never
//!   past `available_end_time`.
//!
//! A stock without a period (an ALL-scope stock whose rule is on the product
//! coupon) issues coupons valid for `DEFAULT_VALID_DAYS` from receipt. Weekly
//! and irregular periods narrow when a coupon may be used; the sandbox does
//! not enforce them (see the README).

use wechatpay_models::{CouponAvailablePeriod, StockEntity};

const DAY: i64 = 86_400;

/// How long a coupon of a stock without a period stays valid.
pub const DEFAULT_VALID_DAYS: i64 = 365;

/// The stock's availability period: its single-use rule's, or its bundle round's.
pub fn of(stock: &StockEntity) -> Option<&CouponAvailablePeriod> {
    stock
        .single_usage_rule
        .as_ref()
        .and_then(|r| r.coupon_available_period.as_ref())
        .or_else(|| {
            stock
                .progressive_bundle_usage_rule
                .as_ref()
                .map(|r| &r.coupon_available_period)
        })
}

/// When the stock stops issuing (its `available_end_time`), if it has a period.
pub fn end_time(stock: &StockEntity) -> Option<i64> {
    of(stock).map(|p| p.available_end_time.unix_timestamp())
}

/// `(valid_begin, valid_end)` of a coupon received at `receive`.
pub fn validity(period: Option<&CouponAvailablePeriod>, receive: i64) -> (i64, i64) {
    let Some(p) = period else {
        return (receive, receive + DEFAULT_VALID_DAYS * DAY);
    };
    let begin_time = p.available_begin_time.unix_timestamp();
    let end_time = p.available_end_time.unix_timestamp();
    let wait = p.wait_days_after_receive.unwrap_or(0).max(0);
    let begin = (receive + wait * DAY).max(begin_time);
    let end = match p.available_days {
        Some(days) if days > 0 => (begin + days * DAY).min(end_time),
        _ => end_time,
    };
    (begin, end.max(begin))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period(days: Option<i64>, wait: Option<i64>) -> CouponAvailablePeriod {
        let mut p = CouponAvailablePeriod::new(
            "2025-08-01T00:00:00+08:00".parse().unwrap(),
            "2025-08-31T23:59:59+08:00".parse().unwrap(),
        );
        p.available_days = days;
        p.wait_days_after_receive = wait;
        p
    }

    #[test]
    fn validity_follows_wait_days_available_days_and_the_window() {
        let begin = 1_753_977_600; // 2025-08-01T00:00:00+08:00
        let end = 1_756_655_999;
        assert_eq!(
            validity(Some(&period(None, None)), begin - DAY),
            (begin, end)
        );
        let receive = begin + 2 * DAY;
        assert_eq!(
            validity(Some(&period(Some(3), Some(1))), receive),
            (receive + DAY, receive + 4 * DAY)
        );
        assert_eq!(
            validity(Some(&period(Some(300), None)), receive),
            (receive, end)
        );
        assert_eq!(
            validity(None, receive),
            (receive, receive + DEFAULT_VALID_DAYS * DAY)
        );
    }
}
