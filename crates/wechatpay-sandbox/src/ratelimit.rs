//! Per-brand rate limits: each operation's documented requests per second
//! (`EndpointInfo::rate_per_second`: 500/s for the user-coupon operations,
//! 20/s for the management ones) for each caller, as a token bucket that
//! holds one second's worth. Beyond it: 429 FREQUENCY_LIMITED.
//!
//! `--rate-limit N` replaces the user-coupon operations' limit — those whose
//! documented limit is the family's user-coupon rate, [`USER_COUPON_RATE`] —
//! and `--rate-limit off` turns every limit off. Operations without a
//! documented per-second limit are not limited.
//!
//! The partner pages print "N/s" without a dimension (the brand pages say "per
//! brand ID"), so the bucket of a service provider's calls is a setting,
//! [`PartnerQuota`] (`--partner-quota`): per brand it acts for (the default,
//! like the brand pages), or one per provider shared by all its brands.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Instant;

use wechatpay_runtime::EndpointInfo;

/// The documented per-brand limit of the user-coupon operations (family README, endpoint table).
pub const USER_COUPON_RATE: u32 = 500;

/// `--rate-limit`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RateLimit {
    /// Every documented limit.
    #[default]
    Documented,
    /// The documented limits, with the user-coupon operations at this many per second.
    UserCoupon(u32),
    /// No limits.
    Off,
}

impl FromStr for RateLimit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "off" => Ok(RateLimit::Off),
            n => match n.parse::<u32>() {
                Ok(n) if n > 0 => Ok(RateLimit::UserCoupon(n)),
                _ => Err(format!(
                    "{s:?}: expected a number of requests per second (at least 1) or `off`"
                )),
            },
        }
    }
}

impl RateLimit {
    /// The limit of `info` in requests per second, if it has one.
    pub fn per_second(self, info: &EndpointInfo) -> Option<u32> {
        let documented = info.rate_per_second?;
        match self {
            RateLimit::Off => None,
            RateLimit::UserCoupon(n) if documented == USER_COUPON_RATE => Some(n),
            _ => Some(documented),
        }
    }
}

/// `--partner-quota`: whose bucket a service provider's call takes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PartnerQuota {
    /// One bucket per brand the provider acts for (and per operation).
    #[default]
    PerBrand,
    /// One bucket per provider (and per operation), shared by all its brands.
    PerProvider,
}

impl FromStr for PartnerQuota {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "per-brand" => Ok(PartnerQuota::PerBrand),
            "per-provider" => Ok(PartnerQuota::PerProvider),
            _ => Err(format!("{s:?}: expected `per-brand` or `per-provider`")),
        }
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The buckets, one per caller (a brand, a provider and brand, or a provider:
/// `Caller::quota_key`) and operation (at most callers × operations).
pub struct Limiter {
    setting: RateLimit,
    buckets: Mutex<HashMap<(String, &'static str), Bucket>>,
}

impl Limiter {
    /// Limits as `setting` says.
    pub fn new(setting: RateLimit) -> Self {
        Limiter {
            setting,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request of the caller `key` to `info`; `Err(limit)` when over the limit.
    pub fn take(&self, key: &str, info: &'static EndpointInfo) -> Result<(), u32> {
        let Some(rate) = self.setting.per_second(info) else {
            return Ok(());
        };
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        // A partner twin counts with its brand operation: one limit per brand and operation.
        let operation = info.twin_of.unwrap_or(info.operation_id);
        let bucket = buckets
            .entry((key.to_owned(), operation))
            .or_insert(Bucket {
                tokens: f64::from(rate),
                at: now,
            });
        let refill = now.duration_since(bucket.at).as_secs_f64() * f64::from(rate);
        bucket.tokens = (bucket.tokens + refill).min(f64::from(rate));
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(rate)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: &str) -> &'static EndpointInfo {
        wechatpay_endpoints::find(id).unwrap()
    }

    #[test]
    fn limits_come_from_the_schema_and_the_flag() {
        let send = info("send-user-product-coupon");
        let create = info("create-product-coupon");
        let merchant = info("send-product-coupon");
        assert_eq!(RateLimit::Documented.per_second(send), Some(500));
        assert_eq!(RateLimit::Documented.per_second(create), Some(20));
        assert_eq!(RateLimit::Documented.per_second(merchant), None);
        assert_eq!(RateLimit::UserCoupon(3).per_second(send), Some(3));
        assert_eq!(RateLimit::UserCoupon(3).per_second(create), Some(20));
        assert_eq!(RateLimit::Off.per_second(create), None);
        assert_eq!("off".parse(), Ok(RateLimit::Off));
        assert_eq!("7".parse(), Ok(RateLimit::UserCoupon(7)));
        assert!("0".parse::<RateLimit>().is_err() && "fast".parse::<RateLimit>().is_err());
        assert_eq!("per-provider".parse(), Ok(PartnerQuota::PerProvider));
        assert_eq!("per-brand".parse(), Ok(PartnerQuota::PerBrand));
        assert!("per-user".parse::<PartnerQuota>().is_err());
    }

    #[test]
    fn a_burst_beyond_one_second_of_tokens_is_refused_per_caller() {
        let limiter = Limiter::new(RateLimit::UserCoupon(3));
        let send = info("send-user-product-coupon");
        for _ in 0..3 {
            assert_eq!(limiter.take("b1", send), Ok(()));
        }
        assert_eq!(limiter.take("b1", send), Err(3));
        assert_eq!(
            limiter.take("b2", send),
            Ok(()),
            "another brand has its own bucket"
        );
    }
}
