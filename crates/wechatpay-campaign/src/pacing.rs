//! Pacing of one step over several brands: a [`Pacer`] per quota bucket.
//!
//! A service provider sends for many brands in one campaign (the operation's
//! schema names a brand field). The partner pages print a rate ("500/s") without
//! saying what it counts: per brand, as the brand pages say of the same
//! operations, or per provider, all its brands together
//! (`wechatpay_endpoints` notes, "rate limits"). [`QuotaScope`] chooses:
//!
//! - [`QuotaScope::PerBrand`] (the default): one bucket per brand at the rate,
//!   so three brands at 200/s send 600/s together; a 429 for one brand slows
//!   that brand only.
//! - [`QuotaScope::PerProvider`]: one bucket for every brand together at the
//!   rate; a 429 slows the shared bucket.
//!
//! An operation without a brand field has one bucket either way. Every method
//! takes the time as an argument (no clock is read here), so the tests drive it
//! deterministically.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use crate::rate::Pacer;

/// What one rate limit counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum QuotaScope {
    /// Each brand's requests (the brand pages' "品牌ID维度").
    #[default]
    PerBrand,
    /// All brands' requests together: the provider's (the `mchid` it signs with).
    PerProvider,
}

impl QuotaScope {
    /// The word of `--partner-quota` (the CLI) for it.
    pub fn as_str(self) -> &'static str {
        match self {
            QuotaScope::PerBrand => "per-brand",
            QuotaScope::PerProvider => "per-provider",
        }
    }
}

impl fmt::Display for QuotaScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for QuotaScope {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "per-brand" => Ok(QuotaScope::PerBrand),
            "per-provider" => Ok(QuotaScope::PerProvider),
            other => Err(format!("{other:?}: expected per-brand or per-provider")),
        }
    }
}

/// The most requests one step has in flight, all buckets together (unless a
/// fixed concurrency per bucket is higher).
pub const MAX_IN_FLIGHT: usize = crate::rate::DEFAULT_MAX_CONCURRENCY;

/// One step's buckets, each with its requests in flight.
#[derive(Debug, Clone)]
pub struct Pacing {
    scope: QuotaScope,
    /// Each bucket's rate: the campaign's, times this worker's share of it.
    rate: f64,
    /// The campaign's rate per bucket, for all workers together.
    full_rate: f64,
    concurrency: Option<usize>,
    start: Instant,
    buckets: BTreeMap<String, (Pacer, usize)>,
    /// Requests in flight, all buckets together.
    in_flight: usize,
}

impl Pacing {
    /// Buckets at `rate` requests per second each, counting as `scope` says;
    /// `concurrency` fixes the most in flight per bucket.
    pub fn new(scope: QuotaScope, rate: f64, concurrency: Option<usize>, now: Instant) -> Pacing {
        Pacing {
            scope,
            rate,
            full_rate: rate,
            concurrency,
            start: now,
            buckets: BTreeMap::new(),
            in_flight: 0,
        }
    }

    /// The bucket a brand's requests count against.
    fn key<'a>(&self, brand: &'a str) -> &'a str {
        match self.scope {
            QuotaScope::PerBrand => brand,
            QuotaScope::PerProvider => "",
        }
    }

    fn bucket(&mut self, brand: &str) -> &mut (Pacer, usize) {
        let key = self.key(brand);
        if !self.buckets.contains_key(key) {
            let pacer = Pacer::new(self.rate, self.concurrency, self.start);
            self.buckets.insert(key.to_owned(), (pacer, 0));
        }
        self.buckets.get_mut(key).expect("inserted above")
    }

    /// When a request for `brand` may go out: now, later (no token yet), or never
    /// while its bucket has as many in flight as it may.
    pub fn ready_at(&mut self, brand: &str, now: Instant) -> Option<Instant> {
        // However many buckets, one step never has more than this in flight: when
        // replies slow down, each bucket's own allowance grows with the latency, and
        // all of them together must not drown the server (or this process).
        let cap = self
            .concurrency
            .map_or(MAX_IN_FLIGHT, |c| c.max(MAX_IN_FLIGHT));
        if self.in_flight >= cap {
            return None;
        }
        let (pacer, in_flight) = self.bucket(brand);
        (*in_flight < pacer.concurrency()).then(|| pacer.ready_at(now))
    }

    /// Whether a request for `brand` may go out now.
    pub fn may_send(&mut self, brand: &str, now: Instant) -> bool {
        self.ready_at(brand, now).is_some_and(|at| at <= now)
    }

    /// A request for `brand` goes out now.
    pub fn sent(&mut self, brand: &str, now: Instant) {
        let (pacer, in_flight) = self.bucket(brand);
        pacer.take(now);
        *in_flight += 1;
        self.in_flight += 1;
    }

    /// A request for `brand` was answered after `latency`.
    pub fn answered(&mut self, brand: &str, latency: Duration) {
        let (pacer, in_flight) = self.bucket(brand);
        pacer.observe_latency(latency);
        *in_flight = in_flight.saturating_sub(1);
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// A 429 for a request for `brand` sent at `sent_at`: slows its bucket only.
    pub fn throttled(&mut self, brand: &str, sent_at: Instant, now: Instant) {
        self.bucket(brand).0.throttled(sent_at, now);
    }

    /// This worker's share of every bucket's rate (1/n with n live workers on a
    /// shared journal): each bucket aims at the share, and so do buckets made later.
    pub fn set_share(&mut self, share: f64, now: Instant) {
        self.rate = self.full_rate * share.clamp(0.0001, 1.0);
        for (pacer, _) in self.buckets.values_mut() {
            pacer.set_target(self.rate, now);
        }
    }

    /// Another worker was answered 429 for `brand`: its bucket slows here too.
    pub fn throttled_elsewhere(&mut self, brand: &str, now: Instant) {
        self.bucket(brand).0.throttled_elsewhere(now);
    }

    /// Each bucket's allowed rate now, by bucket key (the brand, or '' for one bucket).
    pub fn rates(&self) -> Vec<(String, f64)> {
        self.buckets
            .iter()
            .map(|(key, (pacer, _))| (key.clone(), pacer.current()))
            .collect()
    }

    /// The rate each bucket aims at.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// What one bucket counts.
    pub fn scope(&self) -> QuotaScope {
        self.scope
    }

    /// The rate allowed now, all buckets together.
    pub fn current(&self) -> f64 {
        self.buckets.values().map(|(p, _)| p.current()).sum()
    }

    /// The rate aimed at, all buckets together.
    pub fn target(&self) -> f64 {
        self.buckets.values().map(|(p, _)| p.target()).sum()
    }

    /// The rate allowed now for `brand`'s bucket.
    pub fn current_for(&mut self, brand: &str) -> f64 {
        self.bucket(brand).0.current()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends for `brands` in turn as fast as the buckets allow, for `seconds` of
    /// simulated time, each request answered at once; the requests per brand.
    fn drive(pacing: &mut Pacing, brands: &[&str], start: Instant, seconds: f64) -> Vec<u64> {
        let end = start + Duration::from_secs_f64(seconds);
        let mut sent = vec![0; brands.len()];
        let mut now = start;
        loop {
            let mut next = end;
            for (i, brand) in brands.iter().enumerate() {
                while pacing.may_send(brand, now) {
                    pacing.sent(brand, now);
                    pacing.answered(brand, Duration::ZERO);
                    sent[i] += 1;
                }
                if let Some(at) = pacing.ready_at(brand, now) {
                    next = next.min(at);
                }
            }
            if next >= end {
                return sent;
            }
            now = next;
        }
    }

    #[test]
    fn per_brand_buckets_give_each_brand_the_rate() {
        let start = Instant::now();
        let mut pacing = Pacing::new(QuotaScope::PerBrand, 200.0, None, start);
        let sent = drive(&mut pacing, &["A", "B", "C"], start, 5.0);
        for n in &sent {
            assert!((995..=1002).contains(n), "{sent:?}");
        }
        assert!((pacing.target() - 600.0).abs() < 1e-9);
    }

    #[test]
    fn a_per_provider_bucket_shares_the_rate_among_the_brands() {
        let start = Instant::now();
        let mut pacing = Pacing::new(QuotaScope::PerProvider, 200.0, None, start);
        let sent = drive(&mut pacing, &["A", "B", "C"], start, 5.0);
        let total: u64 = sent.iter().sum();
        assert!((995..=1002).contains(&total), "{sent:?}");
        assert!((pacing.target() - 200.0).abs() < 1e-9, "one bucket");
    }

    #[test]
    fn a_429_slows_the_bucket_it_came_from() {
        let start = Instant::now();
        let ms = Duration::from_millis;
        let mut per_brand = Pacing::new(QuotaScope::PerBrand, 200.0, None, start);
        drive(&mut per_brand, &["A", "B"], start, 1.0);
        let t = start + ms(1000);
        per_brand.throttled("A", t, t);
        assert!((per_brand.current_for("A") - 180.0).abs() < 1e-9);
        assert!(
            (per_brand.current_for("B") - 200.0).abs() < 1e-9,
            "B untouched"
        );
        // Over the next 400 ms (still held after the cut) A sends at 180/s, B at 200/s.
        let sent = drive(&mut per_brand, &["A", "B"], t, 0.4);
        assert!((71..=74).contains(&sent[0]), "{sent:?}");
        assert!((79..=82).contains(&sent[1]), "{sent:?}");

        let mut shared = Pacing::new(QuotaScope::PerProvider, 200.0, None, start);
        drive(&mut shared, &["A", "B"], start, 1.0);
        shared.throttled("A", t, t);
        assert!((shared.current_for("B") - 180.0).abs() < 1e-9, "one bucket");
    }

    #[test]
    fn requests_in_flight_count_per_bucket() {
        let now = Instant::now();
        let mut pacing = Pacing::new(QuotaScope::PerBrand, 1000.0, Some(2), now);
        let later = now + Duration::from_secs(1);
        pacing.sent("A", later);
        pacing.sent("A", later + Duration::from_millis(5));
        let at = later + Duration::from_millis(10);
        assert_eq!(pacing.ready_at("A", at), None, "two in flight: A waits");
        assert!(pacing.may_send("B", at), "B has its own");
        pacing.answered("A", Duration::from_millis(3));
        assert!(pacing.may_send("A", at));
        assert_eq!("per-provider".parse(), Ok(QuotaScope::PerProvider));
        assert!("per-brnd".parse::<QuotaScope>().is_err());
    }
}
