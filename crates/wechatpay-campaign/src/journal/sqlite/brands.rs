//! The brand column and table of the SQLite journal, and the migration of format 2
//! journals (before brands). See [`crate::journal::brands`].

use rusqlite::{params, Connection, OptionalExtension};

use super::Sqlite;
use crate::error::CampaignError;
use crate::journal::{BrandCounts, FORMAT};

/// The brand tables and indexes, after `rows` and `follow_ups`.
pub(super) const SCHEMA: &str = "
CREATE TABLE brands (brand TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE INDEX rows_open_brand ON rows (brand, row) WHERE state IN ('pending', 'in_flight');
CREATE INDEX follow_ups_pending_brand ON follow_ups (brand, row, item) WHERE state = 'pending';
";

/// The format before brands: migrated by [`migrate`].
pub(super) const FORMAT_BEFORE_BRANDS: i64 = 2;

/// A JSON path for `field` (a schema field name: letters, digits, `_`).
fn path(field: &str) -> String {
    format!("$.\"{field}\"")
}

/// SQL for a row's brand in a journal without the `brand` column: its cell, else
/// the template's value.
fn derived_row_brand(field: Option<&str>) -> String {
    match field {
        None => "''".to_owned(),
        Some(field) => {
            let path = path(field);
            format!(
                "coalesce(nullif(json_extract(input, '{path}'), ''), \
                 (SELECT json_extract(template, '{path}') FROM campaign WHERE id = 1), '')"
            )
        }
    }
}

fn brand_field_of(operation_id: &str) -> Option<&'static str> {
    wechatpay_endpoints::find(operation_id).and_then(|info| info.brand_field)
}

/// Adds the brand columns, tables and indexes to a format 2 journal, in one transaction.
pub(super) fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    let operation: String =
        tx.query_row("SELECT operation_id FROM campaign WHERE id = 1", [], |r| {
            r.get(0)
        })?;
    let has_follow_ups = tx
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'follow_ups'",
            [],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    tx.execute_batch("ALTER TABLE rows ADD COLUMN brand TEXT NOT NULL DEFAULT '';")?;
    tx.execute(
        &format!(
            "UPDATE rows SET brand = {}",
            derived_row_brand(brand_field_of(&operation))
        ),
        [],
    )?;
    if has_follow_ups {
        tx.execute_batch("ALTER TABLE follow_ups ADD COLUMN brand TEXT NOT NULL DEFAULT '';")?;
        let operations: Vec<String> = tx
            .prepare("SELECT DISTINCT operation_id FROM follow_ups")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for op in operations {
            if let Some(field) = brand_field_of(&op) {
                tx.execute(
                    "UPDATE follow_ups SET brand = coalesce(json_extract(body, ?2), '')
                     WHERE operation_id = ?1",
                    params![op, path(field)],
                )?;
            }
        }
    } else {
        tx.execute_batch(super::follow_ups::SCHEMA)?;
    }
    tx.execute_batch("DROP INDEX IF EXISTS rows_open; DROP INDEX IF EXISTS follow_ups_pending;")?;
    tx.execute_batch(SCHEMA)?;
    tx.execute_batch("INSERT OR IGNORE INTO brands SELECT DISTINCT brand FROM rows;")?;
    tx.execute("UPDATE campaign SET format = ?1 WHERE id = 1", [FORMAT])?;
    tx.execute_batch(&format!("PRAGMA user_version = {FORMAT};"))?;
    tx.commit()
}

impl Sqlite {
    /// SQL for a row's brand: the `brand` column, or for a format 2 journal read as
    /// it is, the brand derived from its cells and the template.
    pub(super) fn brand_sql(&self) -> Result<String, CampaignError> {
        if self.format()? == Some(FORMAT_BEFORE_BRANDS) {
            let operation: String = self
                .conn
                .query_row("SELECT operation_id FROM campaign WHERE id = 1", [], |r| {
                    r.get(0)
                })
                .map_err(|e| self.err(e))?;
            Ok(derived_row_brand(brand_field_of(&operation)))
        } else {
            Ok("brand".to_owned())
        }
    }

    /// Every brand of the campaign, in order ('' alone for an operation without a brand field).
    pub fn brands(&self) -> Result<Vec<String>, CampaignError> {
        let sql = format!(
            "SELECT DISTINCT {} AS b FROM rows ORDER BY b",
            self.brand_sql()?
        );
        let sql = if self.has_table("brands")? {
            "SELECT brand FROM brands ORDER BY brand".to_owned()
        } else {
            sql
        };
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let found = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?;
        found.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Rows by brand and outcome, brands in order.
    pub fn brand_counts(&self) -> Result<Vec<BrandCounts>, CampaignError> {
        let brand = self.brand_sql()?;
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {brand} AS b, state, error_code, count(*) FROM rows
                 GROUP BY b, state, CASE WHEN state = 'failed' THEN error_code END
                 ORDER BY b"
            ))
            .map_err(|e| self.err(e))?;
        let found = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, i64>(3)? as u64,
                ))
            })
            .map_err(|e| self.err(e))?;
        let groups = found
            .map(|found| found.map_err(|e| self.err(e)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(BrandCounts::fold(groups))
    }
}
