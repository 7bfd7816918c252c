//! Per-brand gates: what a refusal about the caller acting for one brand (403
//! NO_AUTH: the brand has not authorised the service provider, or revoked it)
//! does to that brand's rows, while the other brands go on.
//!
//! - **Open**: the brand's work goes out.
//! - **Re-checking**, after the first such refusal: nothing more of the brand goes
//!   out but one probe at a time — the refused request itself, resent with its
//!   number after [`GatePolicy::wait`], then twice that, … ([`GatePolicy::probes`]
//!   in all). Refusals of requests that were already in flight are held without
//!   counting: they say nothing newer than the first.
//!   A probe answered anything but the refusal (a coupon, a refusal of the
//!   request itself) shows the brand works: the gate opens and the held work is
//!   sent again with its numbers.
//! - **Closed**, when every probe was refused **and another brand of the campaign
//!   was answered** (proof that the provider's credentials and permission work,
//!   so the refusal is about this brand): each held request fails with its own
//!   refusal; rows of the brand never sent fail unsent with the code; work that
//!   may have been sent before goes out once more and its own answer decides.
//! - When no other brand was answered, the refusal may well be the provider's
//!   (every brand refused): the campaign **stops** as it does for an operation
//!   without a brand field, leaving every row pending for a resume.
//!
//! A new run starts with every gate open: a brand that authorised the provider
//! since is found again by its first request.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// How a refused brand is re-checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatePolicy {
    /// Probes after the first refusal before the brand is given up on.
    pub probes: u32,
    /// The wait before the first probe; it doubles for each next one.
    pub wait: Duration,
}

impl Default for GatePolicy {
    fn default() -> Self {
        GatePolicy {
            probes: 2,
            wait: Duration::from_secs(1),
        }
    }
}

/// The refusal that closed (or is re-checking) a brand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Refusal {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Checking {
        refusals: u32,
        probe_at: Instant,
        probing: bool,
    },
    Closed(Refusal),
}

/// What to do with the work whose answer was a refusal about its brand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Keep it (unsent, its row in flight) until the brand is decided.
    Hold,
    /// The brand is closed: fail it (and the brand's other work, see the module).
    Close,
    /// The refusal is likely the provider's: stop the campaign.
    Stop,
}

/// Every brand's gate in one run.
#[derive(Debug, Default)]
pub(super) struct Gates {
    policy: GatePolicy,
    states: HashMap<String, State>,
    /// Brands that had an answer other than a refusal about the caller.
    working: HashSet<String>,
}

impl Gates {
    pub fn new(policy: GatePolicy, working: impl IntoIterator<Item = String>) -> Gates {
        Gates {
            policy,
            states: HashMap::new(),
            working: working.into_iter().collect(),
        }
    }

    /// Whether the brand's work waits (being re-checked): only its probe goes out.
    pub fn held(&self, brand: &str) -> bool {
        matches!(self.states.get(brand), Some(State::Checking { .. }))
    }

    /// The refusal that closed the brand, if it is closed.
    pub fn closed(&self, brand: &str) -> Option<&Refusal> {
        match self.states.get(brand) {
            Some(State::Closed(refusal)) => Some(refusal),
            _ => None,
        }
    }

    /// Brands whose probe may go out now.
    pub fn probes_due(&self, now: Instant) -> Vec<String> {
        let mut due: Vec<String> = self
            .states
            .iter()
            .filter(|(_, s)| {
                matches!(s, State::Checking { probe_at, probing: false, .. } if *probe_at <= now)
            })
            .map(|(b, _)| b.clone())
            .collect();
        due.sort();
        due
    }

    /// The brands being re-checked whose probe has not gone out, with its time.
    pub fn pending_probes(&self) -> Vec<(String, Instant)> {
        self.states
            .iter()
            .filter_map(|(brand, s)| match s {
                State::Checking {
                    probe_at,
                    probing: false,
                    ..
                } => Some((brand.clone(), *probe_at)),
                _ => None,
            })
            .collect()
    }

    /// The brand's probe went out.
    pub fn probe_sent(&mut self, brand: &str) {
        if let Some(State::Checking { probing, .. }) = self.states.get_mut(brand) {
            *probing = true;
        }
    }

    /// The probe's answer says nothing about the brand (network, 429, 5xx): another
    /// probe after the current wait.
    pub fn probe_inconclusive(&mut self, brand: &str, now: Instant) {
        let wait = self.policy.wait;
        if let Some(State::Checking {
            probe_at, probing, ..
        }) = self.states.get_mut(brand)
        {
            *probing = false;
            *probe_at = now + wait;
        }
    }

    /// An answer for the brand that is not a refusal about the caller. Returns
    /// whether that opened the brand (`probe`: the answer was its probe's).
    pub fn worked(&mut self, brand: &str, probe: bool) -> bool {
        self.working.insert(brand.to_owned());
        if probe && self.held(brand) {
            self.states.remove(brand);
            return true;
        }
        false
    }

    /// A refusal about the caller acting for `brand` (`probe`: the answer was its probe's).
    pub fn refused(
        &mut self,
        brand: &str,
        probe: bool,
        code: &str,
        message: &str,
        now: Instant,
    ) -> Verdict {
        let policy = self.policy;
        let another_works = self.working.iter().any(|b| b != brand);
        match self.states.get_mut(brand) {
            None => {
                self.states.insert(
                    brand.to_owned(),
                    State::Checking {
                        refusals: 1,
                        probe_at: now + policy.wait,
                        probing: false,
                    },
                );
                if policy.probes == 0 {
                    return self.decide(brand, another_works, code, message);
                }
                Verdict::Hold
            }
            Some(State::Closed(_)) => Verdict::Close,
            Some(State::Checking { .. }) if !probe => Verdict::Hold,
            Some(State::Checking {
                refusals,
                probe_at,
                probing,
            }) => {
                *refusals += 1;
                *probing = false;
                if *refusals > policy.probes {
                    return self.decide(brand, another_works, code, message);
                }
                *probe_at = now + policy.wait * 2u32.saturating_pow(*refusals - 1);
                Verdict::Hold
            }
        }
    }

    fn decide(&mut self, brand: &str, another_works: bool, code: &str, message: &str) -> Verdict {
        if another_works {
            self.states.insert(
                brand.to_owned(),
                State::Closed(Refusal {
                    code: code.to_owned(),
                    message: message.to_owned(),
                }),
            );
            Verdict::Close
        } else {
            self.states.remove(brand);
            Verdict::Stop
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The earliest pending probe's time.
    fn next_probe(gates: &Gates) -> Option<Instant> {
        gates.pending_probes().into_iter().map(|(_, t)| t).min()
    }

    fn policy() -> GatePolicy {
        GatePolicy {
            probes: 2,
            wait: Duration::from_secs(1),
        }
    }

    #[test]
    fn a_brand_refused_on_every_probe_closes_while_others_work() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut gates = Gates::new(policy(), ["A".to_owned()]);
        assert!(!gates.held("X"));
        assert_eq!(gates.refused("X", false, "NO_AUTH", "m", t0), Verdict::Hold);
        assert!(gates.held("X") && !gates.held("A"));
        // Refusals of requests already in flight are held, not counted.
        for _ in 0..10 {
            assert_eq!(gates.refused("X", false, "NO_AUTH", "m", t0), Verdict::Hold);
        }
        assert_eq!(next_probe(&gates), Some(t0 + s(1)));
        assert!(gates.probes_due(t0).is_empty());
        assert_eq!(gates.probes_due(t0 + s(1)), ["X"]);
        gates.probe_sent("X");
        assert!(
            gates.probes_due(t0 + s(1)).is_empty(),
            "one probe at a time"
        );
        assert_eq!(next_probe(&gates), None);
        // First probe refused: the next one after twice the wait.
        assert_eq!(
            gates.refused("X", true, "NO_AUTH", "m", t0 + s(1)),
            Verdict::Hold
        );
        assert_eq!(next_probe(&gates), Some(t0 + s(3)));
        gates.probe_sent("X");
        // Second probe refused: closed, since A works.
        assert_eq!(
            gates.refused("X", true, "NO_AUTH", "m2", t0 + s(3)),
            Verdict::Close
        );
        assert!(!gates.held("X"));
        assert_eq!(gates.closed("X").map(|r| r.message.as_str()), Some("m2"));
        assert_eq!(
            gates.refused("X", false, "NO_AUTH", "m", t0 + s(4)),
            Verdict::Close
        );
    }

    #[test]
    fn a_probe_that_gets_through_opens_the_brand() {
        let t0 = Instant::now();
        let mut gates = Gates::new(policy(), []);
        gates.refused("X", false, "NO_AUTH", "m", t0);
        // An answer to a request sent before the refusal proves nothing newer.
        assert!(!gates.worked("X", false));
        assert!(gates.held("X"));
        gates.probe_sent("X");
        gates.probe_inconclusive("X", t0 + Duration::from_secs(1));
        assert_eq!(next_probe(&gates), Some(t0 + Duration::from_secs(2)));
        gates.probe_sent("X");
        assert!(gates.worked("X", true));
        assert!(!gates.held("X") && gates.closed("X").is_none());
    }

    #[test]
    fn without_another_working_brand_the_refusal_stops_the_campaign() {
        let t0 = Instant::now();
        let mut gates = Gates::new(policy(), []);
        gates.refused("X", false, "NO_AUTH", "m", t0);
        gates.refused("X", true, "NO_AUTH", "m", t0);
        // A itself being refused is no proof that the provider works.
        gates.refused("A", false, "NO_AUTH", "m", t0);
        assert_eq!(gates.refused("X", true, "NO_AUTH", "m", t0), Verdict::Stop);
        assert!(gates.closed("X").is_none());

        let mut eager = Gates::new(
            GatePolicy {
                probes: 0,
                ..policy()
            },
            ["A".into()],
        );
        assert_eq!(
            eager.refused("X", false, "NO_AUTH", "m", t0),
            Verdict::Close
        );
    }
}
