//! The follow-up step of rows whose result needs one (a sent coupon awaiting its
//! confirm): one `follow_ups` row per result, written in the same transaction as
//! the send's outcome, so it is in the journal before its first attempt and a run
//! killed between the send and the confirm resumes with the confirm.
//!
//! ```text
//! follow_ups  row, item (index of the result in the reply), operation_id, request_no,
//!             body (the request as JSON), state (pending, in_flight, done, failed),
//!             attempts, result (key fields), error_code, error_message, brand (the
//!             brand field of its request, '' without one: it is paced and claimed per brand)
//! ```
//!
//! A row is `confirming` while any of its follow-ups is open, `succeeded` once all
//! are done, and `failed` (with `error_step = 'follow_up'`) when one fails for good.

use rusqlite::{params, Transaction};
use serde_json::Value;
use wechatpay_runtime::FollowUp;

use super::Sqlite;
use crate::error::CampaignError;
use crate::journal::{now_ms, ClaimedFollowUp, FollowUpCounts, FollowUpUpdate, NewFollowUp};

pub(super) const SCHEMA: &str = "
CREATE TABLE follow_ups (
    row INTEGER NOT NULL REFERENCES rows (row),
    item INTEGER NOT NULL,
    operation_id TEXT NOT NULL,
    request_no TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'in_flight', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    result TEXT,
    error_code TEXT,
    error_message TEXT,
    updated_at INTEGER,
    brand TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (row, item)
);
CREATE INDEX follow_ups_number ON follow_ups (request_no);
";

/// Records the follow-ups of a row whose send just succeeded.
pub(super) fn insert(
    tx: &Transaction<'_>,
    row: u64,
    follow_ups: &[NewFollowUp],
    now: i64,
) -> rusqlite::Result<()> {
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO follow_ups (row, item, operation_id, request_no, body, updated_at,
             brand)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for f in follow_ups {
        insert.execute(params![
            row as i64,
            f.item,
            f.operation_id,
            f.request_no,
            Value::Object(f.body.clone()).to_string(),
            now,
            f.brand
        ])?;
    }
    Ok(())
}

/// Applies one follow-up's update, and its row's when the row is settled by it.
pub(super) fn apply(
    tx: &Transaction<'_>,
    row: u64,
    item: u32,
    update: &FollowUpUpdate,
    declared: Option<&FollowUp>,
    now: i64,
) -> rusqlite::Result<()> {
    let (row, item) = (row as i64, i64::from(item));
    let mut attempt = tx.prepare_cached(
        "UPDATE follow_ups SET state = ?3, attempts = attempts + 1, result = ?4,
             error_code = ?5, error_message = ?6, updated_at = ?7
         WHERE row = ?1 AND item = ?2",
    )?;
    match update {
        FollowUpUpdate::Done { result, note } => {
            attempt.execute(params![
                row,
                item,
                "done",
                result.to_string(),
                note.as_ref().map(|_| "NOTE"),
                note,
                now
            ])?;
            // The row's result shows the state after the last step.
            let changed = declared.map(|d| [d.while_field, d.done_field]);
            for field in changed.iter().flatten() {
                if let Some(Value::String(value)) = result.get(*field) {
                    tx.prepare_cached(
                        "UPDATE rows SET result = json_set(coalesce(result, '{}'), ?2, ?3)
                         WHERE row = ?1",
                    )?
                    .execute(params![row, format!("$.{field}"), value])?;
                }
            }
            tx.prepare_cached(
                "UPDATE rows SET state = 'succeeded', updated_at = ?2
                 WHERE row = ?1 AND state = 'confirming' AND NOT EXISTS
                     (SELECT 1 FROM follow_ups f WHERE f.row = ?1 AND f.state != 'done')",
            )?
            .execute(params![row, now])?;
        }
        FollowUpUpdate::Failed { code, message } => {
            attempt.execute(params![
                row,
                item,
                "failed",
                Option::<String>::None,
                code,
                message,
                now
            ])?;
            tx.prepare_cached(
                "UPDATE rows SET state = 'failed', error_step = 'follow_up', error_code = ?2,
                     error_message = ?3, updated_at = ?4
                 WHERE row = ?1 AND state = 'confirming'",
            )?
            .execute(params![row, code, message, now])?;
        }
        // Both stay taken for the rest of the run; they differ in what the run does next.
        FollowUpUpdate::Retrying { code, message }
        | FollowUpUpdate::Unresolved { code, message } => {
            attempt.execute(params![
                row,
                item,
                "in_flight",
                Option::<String>::None,
                code,
                message,
                now
            ])?;
        }
        FollowUpUpdate::Released => {
            tx.prepare_cached(
                "UPDATE follow_ups SET state = 'pending', updated_at = ?3
                 WHERE row = ?1 AND item = ?2 AND state = 'in_flight'",
            )?
            .execute(params![row, item, now])?;
        }
    }
    Ok(())
}

impl Sqlite {
    /// Puts follow-ups a killed run left in flight back to pending (the journal's
    /// lock says no other run holds them).
    pub fn reset_follow_ups(&mut self) -> Result<(), CampaignError> {
        self.conn
            .execute(
                "UPDATE follow_ups SET state = 'pending' WHERE state = 'in_flight'",
                [],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Takes up to `limit` pending follow-ups of each of `brands` in row order,
    /// marking them in flight.
    pub fn claim_follow_ups(
        &mut self,
        brands: &[String],
        limit: usize,
    ) -> Result<Vec<ClaimedFollowUp>, CampaignError> {
        let path = self.path.clone();
        let err = |e: rusqlite::Error| CampaignError::journal(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        let mut out = Vec::new();
        {
            let mut select = tx
                .prepare_cached(
                    "SELECT row, item, operation_id, request_no, body, attempts,
                        (SELECT count(*) FROM follow_ups g
                         WHERE g.row = f.row AND g.state NOT IN ('done', 'failed'))
                     FROM follow_ups f
                     WHERE brand = ?1 AND state = 'pending' ORDER BY row, item LIMIT ?2",
                )
                .map_err(err)?;
            for brand in brands {
                let found = select
                    .query_map(params![brand, limit as i64], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, String>(4)?,
                            r.get::<_, i64>(5)?,
                            r.get::<_, i64>(6)?,
                        ))
                    })
                    .map_err(err)?;
                for found in found {
                    let (row, item, operation_id, request_no, body, attempts, open) =
                        found.map_err(err)?;
                    let Ok(Value::Object(body)) = serde_json::from_str(&body) else {
                        return Err(CampaignError::corrupt(
                            &path,
                            format!("row {row}: corrupt follow-up {item}"),
                        ));
                    };
                    out.push(ClaimedFollowUp {
                        row: row as u64,
                        item: item as u32,
                        operation_id,
                        request_no,
                        body,
                        attempts: attempts as u64,
                        open_in_row: open as u32,
                        brand: brand.clone(),
                    });
                }
            }
            let mut mark = tx
                .prepare_cached(
                    "UPDATE follow_ups SET state = 'in_flight', updated_at = ?3
                     WHERE row = ?1 AND item = ?2",
                )
                .map_err(err)?;
            let now = now_ms();
            for c in &out {
                mark.execute(params![c.row as i64, c.item, now])
                    .map_err(err)?;
            }
        }
        tx.commit().map_err(err)?;
        Ok(out)
    }

    /// Follow-ups by state.
    pub fn follow_up_counts(&self) -> Result<FollowUpCounts, CampaignError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT state, count(*) FROM follow_ups GROUP BY state")
            .map_err(|e| self.err(e))?;
        let found = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(|e| self.err(e))?;
        let mut counts = FollowUpCounts::default();
        for found in found {
            let (state, n) = found.map_err(|e| self.err(e))?;
            counts.add(&state, n as u64);
        }
        Ok(counts)
    }
}
