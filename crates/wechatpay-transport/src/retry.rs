//! When to send a request again, and how long to wait first.
//!
//! Retried: network failures, HTTP 5xx, HTTP 429, and error codes whose
//! [`ErrorCode::retryable`] is true (`SYSTEM_ERROR`, `FREQUENCY_LIMITED`).
//! A retry always sends the same body bytes (so the same `out_request_no` /
//! `send_request_no`) with a fresh nonce, timestamp and signature.

use std::time::Duration;

use wechatpay_runtime::ErrorCode;

/// Bounded exponential backoff with jitter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 turns retrying off).
    pub max_retries: u32,
    /// The wait before the first retry, before jitter.
    pub initial_backoff: Duration,
    /// The longest wait between attempts.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// Two retries, waiting about 200 ms then 400 ms.
    fn default() -> Self {
        RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// No retries: every request is sent once.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// `max_retries` retries with the default backoff.
    pub fn with_max_retries(max_retries: u32) -> Self {
        RetryPolicy {
            max_retries,
            ..Self::default()
        }
    }

    /// The total number of attempts allowed.
    pub fn max_attempts(&self) -> u32 {
        self.max_retries.saturating_add(1)
    }

    /// The wait before retry number `retry` (1-based): `initial * 2^(retry-1)`,
    /// capped at `max_backoff`, then drawn uniformly from its upper half.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = retry.saturating_sub(1).min(31);
        let base = self
            .initial_backoff
            .saturating_mul(1u32 << exp)
            .min(self.max_backoff);
        let half = base / 2;
        half + half.mul_f64(jitter_fraction())
    }
}

/// Whether an error reply is worth sending again.
pub fn is_retryable_reply<C: ErrorCode>(status: u16, code: &C) -> bool {
    wechatpay_runtime::retry::retryable(status, code.code())
}

/// A uniform fraction in [0, 1) from the system CSPRNG.
fn jitter_fraction() -> f64 {
    let mut buf = [0u8; 4];
    if aws_lc_rs::rand::fill(&mut buf).is_err() {
        return 0.5;
    }
    f64::from(u32::from_le_bytes(buf)) / (f64::from(u32::MAX) + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::RawCode;

    #[test]
    fn backoff_doubles_within_jitter_and_caps() {
        let p = RetryPolicy {
            max_retries: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(350),
        };
        for _ in 0..50 {
            let b1 = p.backoff(1);
            assert!(b1 >= Duration::from_millis(50) && b1 <= Duration::from_millis(100));
            let b2 = p.backoff(2);
            assert!(b2 >= Duration::from_millis(100) && b2 <= Duration::from_millis(200));
            let b9 = p.backoff(9);
            assert!(b9 >= Duration::from_millis(175) && b9 <= Duration::from_millis(350));
            assert!(p.backoff(u32::MAX) <= Duration::from_millis(350));
        }
        assert_eq!(RetryPolicy::none().max_attempts(), 1);
    }

    #[test]
    fn retryable_replies() {
        let code = |c: &str| RawCode(c.to_owned());
        assert!(is_retryable_reply(500, &code("")));
        assert!(is_retryable_reply(429, &code("FREQUENCY_LIMITED")));
        assert!(is_retryable_reply(400, &code("SYSTEM_ERROR")));
        assert!(!is_retryable_reply(400, &code("PARAM_ERROR")));
        assert!(!is_retryable_reply(404, &code("NOT_FOUND")));
    }
}
