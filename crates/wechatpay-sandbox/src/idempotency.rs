//! Request numbers, as WeChat Pay treats them: the same number with the same
//! request gives the first result (byte for byte); with a different request
//! it is an error. Which field is the number, and what it is unique within,
//! is each operation's `EndpointInfo::request_number` from the schema.
//!
//! Results are kept in the state store with a SHA-256 digest of the request
//! (canonical JSON: keys sorted, so key order does not matter).

use aws_lc_rs::digest::{digest, SHA256};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;
use wechatpay_runtime::EndpointInfo;

/// What identifies one request number: operation, caller (mchid or brand_id),
/// the scope the doc makes the number unique in, and the number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    /// The operation the number was sent to.
    pub operation_id: &'static str,
    /// The caller: its mchid or brand_id.
    pub identity: String,
    /// Values of the fields the number is unique within (the schema's
    /// `request_number.unique_within`: `out_request_no` is unique per stock per
    /// user on page 000, `send_request_no` per brand).
    pub scope: String,
    /// The request number itself.
    pub number: String,
}

impl Key {
    /// The key of `request` (wire body plus path parameters) for an operation with a
    /// request number; `None` when the operation has none or the request lacks it.
    pub fn of(info: &'static EndpointInfo, identity: &str, request: &Value) -> Option<Key> {
        let rn = info.request_number?;
        let number = request.get(rn.field)?.as_str()?.to_owned();
        let scope = rn
            .unique_within
            .iter()
            .map(|field| {
                request
                    .get(*field)
                    .map(Value::to_string)
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("\u{1f}");
        Some(Key {
            operation_id: info.operation_id,
            identity: identity.to_owned(),
            scope,
            number,
        })
    }
}

/// What a new request finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Never seen: process it.
    New,
    /// Seen with the same request: answer the recorded result.
    Replay {
        /// The recorded reply's HTTP status.
        status: u16,
        /// The recorded reply's body, byte for byte.
        body: Vec<u8>,
    },
    /// Seen with a different request.
    Conflict,
}

/// The digest idempotency compares: SHA-256 of the canonical JSON.
pub fn fingerprint(request: &Value) -> Vec<u8> {
    let text = wechatpay_runtime::json::canonical_json(request);
    digest(&SHA256, text.as_bytes()).as_ref().to_vec()
}

/// Looks a request up.
pub fn lookup(db: &Connection, key: &Key, fingerprint: &[u8]) -> rusqlite::Result<Lookup> {
    let found: Option<(Vec<u8>, u16, Vec<u8>)> = db
        .prepare_cached(
            "SELECT digest, status, body FROM requests \
             WHERE operation = ?1 AND identity = ?2 AND scope = ?3 AND number = ?4",
        )?
        .query_row(
            params![key.operation_id, key.identity, key.scope, key.number],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    Ok(match found {
        None => Lookup::New,
        Some((d, status, body)) if d == fingerprint => Lookup::Replay { status, body },
        Some(_) => Lookup::Conflict,
    })
}

/// Records the result of a new request (in the transaction that produced it).
pub fn record(
    db: &Connection,
    key: &Key,
    fingerprint: &[u8],
    status: u16,
    body: &[u8],
) -> rusqlite::Result<()> {
    db.prepare_cached(
        "INSERT INTO requests (operation, identity, scope, number, digest, status, body) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        key.operation_id,
        key.identity,
        key.scope,
        key.number,
        fingerprint,
        status,
        body
    ])
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn same_number_same_request_replays_different_request_conflicts() {
        let store = crate::store::Store::open(None, 0, "1200000001").unwrap();
        let info = wechatpay_endpoints::find("send-product-coupon").unwrap();
        let request =
            json!({"openid":"o","stock_id":"S","out_request_no":"n1","b":[1,{"y":1,"x":2}]});
        let key = Key::of(info, "m", &request).unwrap();
        assert_eq!(key.number, "n1");
        let other_stock = Key::of(
            info,
            "m",
            &json!({"openid":"o","stock_id":"T","out_request_no":"n1"}),
        );
        assert_ne!(
            other_stock.unwrap().scope,
            key.scope,
            "unique per stock per user"
        );
        let fp = fingerprint(&request);
        store
            .transaction(|db| {
                assert_eq!(lookup(db, &key, &fp)?, Lookup::New);
                record(db, &key, &fp, 200, b"{}")
            })
            .unwrap();
        // Key order does not matter; values do.
        let reordered: Value = serde_json::from_str(
            r#"{"b":[1,{"x":2,"y":1}],"out_request_no":"n1","stock_id":"S","openid":"o"}"#,
        )
        .unwrap();
        store
            .transaction(|db| {
                assert_eq!(
                    lookup(db, &key, &fingerprint(&reordered))?,
                    Lookup::Replay {
                        status: 200,
                        body: b"{}".to_vec()
                    }
                );
                let changed = json!({"openid":"o","stock_id":"S","out_request_no":"n1","b":[2]});
                assert_eq!(lookup(db, &key, &fingerprint(&changed))?, Lookup::Conflict);
                Ok::<_, rusqlite::Error>(())
            })
            .unwrap();
    }
}
