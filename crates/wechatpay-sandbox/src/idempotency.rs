//! Request numbers, as WeChat Pay treats them: the same number with the same
//! request gives the same result (byte for byte); with a different request it
//! is an error.

use std::collections::HashMap;

use bytes::Bytes;
use serde_json::Value;

/// What identifies one request number: operation, caller (mchid or brand_id),
/// the scope the doc makes the number unique in, and the number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub operation_id: &'static str,
    pub identity: String,
    /// Values of the fields the number is unique within (the schema's
    /// `request_number.unique_within`: `out_request_no` is unique per stock per
    /// user on page 000, `send_request_no` per brand).
    pub scope: Vec<String>,
    pub number: String,
}

/// The result recorded for a request number.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The request as received (body plus path parameters), compared as JSON values.
    pub request: Value,
    pub status: u16,
    pub body: Bytes,
}

/// What a new request finds in the store.
#[derive(Debug, Clone)]
pub enum Lookup {
    /// Never seen: process it.
    New,
    /// Seen with the same request: answer the recorded result.
    Replay(Recorded),
    /// Seen with a different request.
    Conflict,
}

/// Every successful result, by request number.
#[derive(Debug, Default)]
pub struct Store {
    results: HashMap<Key, Recorded>,
}

impl Store {
    /// Looks a request up.
    pub fn lookup(&self, key: &Key, request: &Value) -> Lookup {
        match self.results.get(key) {
            None => Lookup::New,
            Some(recorded) if recorded.request == *request => Lookup::Replay(recorded.clone()),
            Some(_) => Lookup::Conflict,
        }
    }

    /// Records the result of a new request; an earlier record of the key wins
    /// (two identical requests racing get one result).
    pub fn record(&mut self, key: Key, recorded: Recorded) -> Recorded {
        self.results.entry(key).or_insert(recorded).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn same_number_same_request_replays_different_request_conflicts() {
        let mut store = Store::default();
        let key = Key {
            operation_id: "op",
            identity: "m".into(),
            scope: Vec::new(),
            number: "n1".into(),
        };
        let request = json!({"a": 1, "b": 2});
        assert!(matches!(store.lookup(&key, &request), Lookup::New));
        store.record(
            key.clone(),
            Recorded {
                request: request.clone(),
                status: 200,
                body: Bytes::from_static(b"{}"),
            },
        );
        // Key order does not matter; values do.
        let reordered: Value = serde_json::from_str(r#"{"b":2,"a":1}"#).unwrap();
        assert!(matches!(store.lookup(&key, &reordered), Lookup::Replay(r) if r.body == "{}"));
        assert!(matches!(
            store.lookup(&key, &json!({"a": 2, "b": 2})),
            Lookup::Conflict
        ));
    }
}
