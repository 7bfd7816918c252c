//! Counters exposed at `GET /sandbox/stats`, so tests can tell what reached
//! the sandbox and how many coupons were issued.

use std::collections::BTreeMap;

use serde::Serialize;

/// Counters for one operation.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct OperationStats {
    /// Requests routed to the operation.
    pub requests: u64,
    /// New results issued: first-time successes (a coupon sent, a coupon
    /// confirmed, a pre-send's token, …), never a replay.
    pub issued: u64,
    /// Requests answered with a recorded result (same request number, same request).
    pub replayed: u64,
    /// Requests answered with an error.
    pub rejected: u64,
}

/// Every counter.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Stats {
    /// Every request except those to `/sandbox/…`.
    pub requests: u64,
    /// Counters per operation id.
    pub operations: BTreeMap<&'static str, OperationStats>,
}

impl Stats {
    /// Zeroed counters for every operation of the schema.
    pub fn new() -> Self {
        Stats {
            requests: 0,
            operations: wechatpay_endpoints::ALL
                .iter()
                .map(|i| (i.operation_id, OperationStats::default()))
                .collect(),
        }
    }

    /// The counters of one operation.
    pub fn operation(&mut self, id: &'static str) -> &mut OperationStats {
        self.operations.entry(id).or_default()
    }
}
