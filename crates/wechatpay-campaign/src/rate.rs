//! Pacing: a token bucket at the campaign's rate that slows down when the
//! server answers 429 and recovers when it stops, and the concurrency needed
//! to hold that rate.
//!
//! - **Bucket**: refills at the current rate and holds at most 25 ms worth of
//!   tokens (at least one), so a stall is followed by no burst beyond 2.5 % of a
//!   second's limit. Less is not better: at 10 ms (one token at 100/s) every wake-up
//!   a millisecond late lost that millisecond, and three brands at 100–200/s each
//!   held only 0.89–0.90× of their rate (`cargo bench -p wechatpay-cli --bench partner`).
//! - **Slow down** (multiplicative): a 429 cuts the rate to 90 %, at most once
//!   per 250 ms, and never for a request sent before the last cut (it was
//!   sent at the old rate; TCP ignores losses from before its last window
//!   reduction the same way). A burst of 429s from a server's fixed window
//!   therefore costs one or two cuts, not one per request.
//! - **Recover** (additive): half a second after the last cut the rate climbs
//!   by 20 % of the target per second, up to a ceiling: 98 % of the rate that
//!   drew the 429. The ceiling itself creeps back to the target by 0.2 % of it
//!   per quiet second, so a limit that was only briefly lower is found again
//!   without probing it every few seconds.
//! - **Concurrency**: Little's law, in flight = rate × latency, with three
//!   times the smoothed latency (quick to rise, slow to fall) plus four as
//!   headroom, so a slow moment does not cost rate; `--concurrency` fixes it.

use std::time::{Duration, Instant};

/// How much a 429 cuts the rate.
const DECREASE: f64 = 0.9;
/// The shortest time between two cuts.
const MIN_CUT_INTERVAL: Duration = Duration::from_millis(250);
/// After a 429 at rate r, the rate recovers to at most this share of r.
const CEILING_SHARE: f64 = 0.98;
/// The rate never drops below this share of the target (nor below 1/s).
const FLOOR_SHARE: f64 = 0.05;
/// Quiet time after a cut before the rate climbs again.
const HOLD: Duration = Duration::from_millis(500);
/// Recovery speed: share of the target regained per second.
const RECOVERY_PER_SECOND: f64 = 0.2;
/// Ceiling recovery: share of the target per quiet second.
const CEILING_PER_SECOND: f64 = 0.002;
/// How much time's worth of tokens the bucket holds.
const BURST: Duration = Duration::from_millis(25);
/// The most requests in flight when `--concurrency` is not given.
pub const DEFAULT_MAX_CONCURRENCY: usize = 256;

/// The pacing state of one run.
#[derive(Debug, Clone)]
pub struct Pacer {
    target: f64,
    ceiling: f64,
    current: f64,
    tokens: f64,
    last_refill: Instant,
    last_cut: Option<Instant>,
    /// Smoothed reply latency, seconds.
    latency: Option<f64>,
    fixed_concurrency: Option<usize>,
    cuts: u64,
}

impl Pacer {
    /// A pacer at `rate` requests per second; `concurrency` fixes the most in flight.
    pub fn new(rate: f64, concurrency: Option<usize>, now: Instant) -> Pacer {
        let rate = rate.max(0.001);
        Pacer {
            target: rate,
            ceiling: rate,
            current: rate,
            tokens: 1.0,
            last_refill: now,
            last_cut: None,
            latency: None,
            fixed_concurrency: concurrency.map(|c| c.max(1)),
            cuts: 0,
        }
    }

    /// The rate aimed at.
    pub fn target(&self) -> f64 {
        self.target
    }

    /// The rate allowed now (below the target after 429s).
    pub fn current(&self) -> f64 {
        self.current
    }

    /// The most the rate recovers to for now.
    pub fn ceiling(&self) -> f64 {
        self.ceiling
    }

    /// How many times 429s cut the rate.
    pub fn cuts(&self) -> u64 {
        self.cuts
    }

    fn floor(&self) -> f64 {
        (self.target * FLOOR_SHARE).max(1.0).min(self.target)
    }

    fn capacity(&self) -> f64 {
        (self.current * BURST.as_secs_f64()).max(1.0)
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now
            .saturating_duration_since(self.last_refill)
            .as_secs_f64();
        self.last_refill = now;
        let quiet_since = self.last_cut.map_or(Duration::MAX, |cut| now - cut);
        if quiet_since >= HOLD {
            // Only the part of `elapsed` after the hold counts.
            let climbing = elapsed.min((quiet_since - HOLD).as_secs_f64());
            self.ceiling =
                (self.ceiling + self.target * CEILING_PER_SECOND * climbing).min(self.target);
            self.current =
                (self.current + self.target * RECOVERY_PER_SECOND * climbing).min(self.ceiling);
        }
        self.tokens = (self.tokens + elapsed * self.current).min(self.capacity());
    }

    /// When the next request may be sent (now, or later if the bucket is empty).
    pub fn ready_at(&mut self, now: Instant) -> Instant {
        self.refill(now);
        if self.tokens >= 1.0 {
            now
        } else {
            now + Duration::from_secs_f64((1.0 - self.tokens) / self.current)
        }
    }

    /// Takes a token: a request is being sent now.
    pub fn take(&mut self, now: Instant) {
        self.refill(now);
        self.tokens -= 1.0;
    }

    /// A 429 for a request sent at `sent_at`: cuts the rate, unless the
    /// request was sent before the last cut or the last cut is too recent.
    pub fn throttled(&mut self, sent_at: Instant, now: Instant) {
        self.refill(now);
        if let Some(cut) = self.last_cut {
            if sent_at < cut || now.saturating_duration_since(cut) < MIN_CUT_INTERVAL {
                return;
            }
        }
        let floor = self.floor();
        self.ceiling = (self.ceiling.min(self.current * CEILING_SHARE)).max(floor);
        self.current = (self.current * DECREASE).max(floor);
        self.tokens = self.tokens.min(0.0);
        self.last_cut = Some(now);
        self.cuts += 1;
    }

    /// Aims at `target` instead (a share of the rate changed: workers joined or
    /// left a shared journal): the allowed rate and its ceiling scale with it.
    pub fn set_target(&mut self, target: f64, now: Instant) {
        let target = target.max(0.001);
        if (target - self.target).abs() < f64::EPSILON {
            return;
        }
        self.refill(now);
        let ratio = target / self.target;
        self.target = target;
        self.ceiling = (self.ceiling * ratio).min(target);
        self.current = (self.current * ratio).min(self.ceiling);
        self.tokens = self.tokens.min(self.capacity());
    }

    /// Another worker sending for the same quota was answered 429: cut as if this
    /// one had been, now (at most once per cut interval, like its own 429s).
    pub fn throttled_elsewhere(&mut self, now: Instant) {
        self.throttled(now, now);
    }

    /// A reply (of any kind) took `latency`.
    pub fn observe_latency(&mut self, latency: Duration) {
        let sample = latency.as_secs_f64();
        // Up fast, down slowly: a slow spell must raise the concurrency at once.
        self.latency = Some(match self.latency {
            None => sample,
            Some(avg) if sample > avg => avg + 0.5 * (sample - avg),
            Some(avg) => avg + 0.05 * (sample - avg),
        });
    }

    /// How many requests may be in flight to hold the current rate.
    pub fn concurrency(&self) -> usize {
        if let Some(fixed) = self.fixed_concurrency {
            return fixed;
        }
        // Before the first reply: a small start, growing as latencies come in.
        let latency = self.latency.unwrap_or(0.05);
        let needed = (self.current * latency * 3.0).ceil() as usize + 4;
        needed.clamp(4, DEFAULT_MAX_CONCURRENCY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends as fast as the pacer allows for `seconds` of simulated time.
    fn drive(pacer: &mut Pacer, start: Instant, seconds: f64) -> (u64, Instant) {
        let end = start + Duration::from_secs_f64(seconds);
        let mut now = start;
        let mut sent = 0;
        loop {
            let at = pacer.ready_at(now);
            if at >= end {
                return (sent, end);
            }
            now = at;
            pacer.take(now);
            sent += 1;
        }
    }

    #[test]
    fn holds_the_rate_without_bursting() {
        let start = Instant::now();
        let mut pacer = Pacer::new(500.0, None, start);
        let (sent, _) = drive(&mut pacer, start, 10.0);
        assert!((4995..=5002).contains(&sent), "{sent}");
        // After a 2 s stall the bucket gives at most 25 ms worth at once.
        let later = start + Duration::from_secs(12);
        let mut burst = 0;
        while pacer.ready_at(later) == later {
            pacer.take(later);
            burst += 1;
        }
        assert_eq!(burst, 12);
    }

    #[test]
    fn slows_down_on_429_at_most_once_per_round_and_recovers_below_the_limit_found() {
        let start = Instant::now();
        let ms = Duration::from_millis;
        let mut pacer = Pacer::new(500.0, None, start);
        let t1 = start + Duration::from_secs(1);
        pacer.throttled(start + ms(900), t1);
        assert!((pacer.current() - 450.0).abs() < 1e-9);
        assert!((pacer.ceiling() - 490.0).abs() < 1e-9);
        // A 429 for a request sent before the cut, or one right after it: no second cut.
        pacer.throttled(start + ms(950), t1 + ms(5));
        pacer.throttled(t1 + ms(10), t1 + ms(20));
        assert!((pacer.current() - 450.0).abs() < 1e-9);
        // Later 429s for requests sent after the cut do cut again.
        let t2 = t1 + ms(300);
        pacer.throttled(t1 + ms(290), t2);
        assert!(
            (pacer.current() - 405.0).abs() < 1e-6,
            "{}",
            pacer.current()
        );
        assert!(
            (pacer.ceiling() - 441.0).abs() < 1e-6,
            "{}",
            pacer.ceiling()
        );
        assert_eq!(pacer.cuts(), 2);
        // Held for half a second, then +100/s per second up to the ceiling.
        let (sent, _) = drive(&mut pacer, t2, 0.5);
        assert!((200..=206).contains(&sent), "held at 405/s: {sent}");
        let (_, t3) = drive(&mut pacer, t2 + ms(500), 1.0);
        assert!(
            (441.0..442.0).contains(&pacer.current()),
            "at the ceiling: {}",
            pacer.current()
        );
        // The ceiling creeps back to the target (1/s here).
        pacer.ready_at(t3 + Duration::from_secs(60));
        assert!(
            (pacer.current() - 500.0).abs() < 1e-9,
            "{}",
            pacer.current()
        );
        // Never below the floor.
        for i in 0..100 {
            let at = t3 + Duration::from_secs(61) + ms(300) * i;
            pacer.throttled(at, at);
        }
        assert!((pacer.current() - 25.0).abs() < 1e-9, "{}", pacer.current());
    }

    #[test]
    fn a_new_share_scales_the_rate_and_a_429_elsewhere_cuts_it() {
        let start = Instant::now();
        let mut pacer = Pacer::new(300.0, None, start);
        pacer.set_target(100.0, start);
        assert_eq!(
            (pacer.target(), pacer.current(), pacer.ceiling()),
            (100.0, 100.0, 100.0)
        );
        let (sent, _) = drive(&mut pacer, start, 2.0);
        assert!((195..=205).contains(&sent), "{sent}");
        let now = start + Duration::from_secs(3);
        pacer.throttled_elsewhere(now);
        assert!((pacer.current() - 90.0).abs() < 1e-9, "{}", pacer.current());
        // A second report within the cut interval is the same burst.
        pacer.throttled_elsewhere(now + Duration::from_millis(100));
        assert_eq!(pacer.cuts(), 1);
    }

    #[test]
    fn concurrency_follows_rate_times_latency() {
        let now = Instant::now();
        let mut pacer = Pacer::new(500.0, None, now);
        for _ in 0..100 {
            pacer.observe_latency(Duration::from_millis(10));
        }
        // 500/s × 10 ms × 3 + 4
        assert_eq!(pacer.concurrency(), 19);
        for _ in 0..200 {
            pacer.observe_latency(Duration::from_millis(400));
        }
        assert_eq!(pacer.concurrency(), 256, "capped");
        assert_eq!(Pacer::new(500.0, Some(3), now).concurrency(), 3);
    }
}
