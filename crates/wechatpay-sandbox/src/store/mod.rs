//! The state store: one SQLite database behind a mutex, every request one
//! transaction.
//!
//! Without `--state FILE` the database is SQLite's private temporary
//! database (the empty file name): it lives in SQLite's page cache like an
//! in-memory database, but the cache is bounded (`CACHE_KIB`) and pages
//! beyond it go to an unlinked temporary file, so memory stays flat however
//! many coupons are issued; nothing survives the process. With `--state
//! FILE` the same schema lives in FILE (WAL journal) and a restart resumes it.

pub mod seed;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, TransactionBehavior};

use crate::error::SandboxError;
pub use crate::sql::{exec, meta, next, next_seq, row, set_meta};

/// Bumped when the schema changes; a state file of an older version is brought
/// up to date by [`migrate`], one of another version is refused.
const SCHEMA_VERSION: &str = "3";

/// `PRAGMA application_id` of a sandbox state file: "WPSB" in ASCII.
/// `PRAGMA user_version` holds `SCHEMA_VERSION` next to it.
pub const APPLICATION_ID: i32 = 0x5750_5342;

/// The other SQLite files of this project, named when one is given as `--state`
/// (each id is defined by its crate; the CLI's tests check these copies).
pub const OTHER_KINDS: [(i32, &str); 2] = [
    (
        0x5750_434A,
        "a campaign journal (wechatpay campaign send --journal)",
    ),
    (
        0x5750_4E54,
        "a notify journal (wechatpay notify serve --journal)",
    ),
];

/// SQLite's page cache, in KiB: the bound on the state's memory. Kept small
/// on purpose: a temporary database's pages stay dirty in the cache, and
/// SQLite walks the dirty pages at every commit (a 16 MiB cache cost about
/// 150 µs per request; 2 MiB costs little and the OS caches the spilled pages).
const CACHE_KIB: i64 = 2 * 1024;

enum OpenError {
    Sql(rusqlite::Error),
    Other(String),
}

impl From<rusqlite::Error> for OpenError {
    fn from(e: rusqlite::Error) -> Self {
        OpenError::Sql(e)
    }
}

/// The database.
pub struct Store {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

impl Store {
    /// Opens `path` (or a private temporary database), creates the schema and,
    /// on first use, seeds the doc example ids at business time `now` for
    /// `brand_id` (`sandbox.json`'s brand), which also owns the rows of an older file.
    pub fn open(path: Option<&Path>, now: i64, brand_id: &str) -> Result<Store, SandboxError> {
        let name = path.map_or_else(|| "(temporary)".to_owned(), |p| p.display().to_string());
        let fail = |e: rusqlite::Error| SandboxError::State {
            name: name.clone(),
            source: e,
        };
        let conn = Connection::open(path.unwrap_or_else(|| Path::new(""))).map_err(fail)?;
        if path.is_some() {
            check_kind(&conn).map_err(|m| {
                SandboxError::config(format!("--state {name}: not a sandbox state file: {m}"))
            })?;
        }
        let journal = if path.is_some() { "WAL" } else { "MEMORY" };
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = {journal}; PRAGMA synchronous = NORMAL; \
             PRAGMA cache_size = -{CACHE_KIB}; PRAGMA foreign_keys = OFF;"
        ))
        .map_err(fail)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(fail)?;
        conn.set_prepared_statement_cache_capacity(256);
        conn.execute_batch(include_str!("schema.sql"))
            .map_err(fail)?;
        let store = Store {
            conn: Mutex::new(conn),
        };
        store
            .transaction(|db| {
                match meta(db, "schema_version")? {
                    Some(v) if v == "1" || v == "2" => migrate(db, &v, brand_id)?,
                    Some(v) if v != SCHEMA_VERSION => {
                        return Err(OpenError::Other(format!(
                            "written by schema version {v}, this sandbox uses {SCHEMA_VERSION}; use another file"
                        )))
                    }
                    Some(_) => {}
                    None => {
                        set_meta(db, "schema_version", SCHEMA_VERSION)?;
                        seed::run(db, now, brand_id)
                            .map_err(|e| OpenError::Other(format!("seeding: {}", e.message)))?;
                    }
                }
                // Marks a new file, and one written before files were marked.
                db.execute_batch(&format!(
                    "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION};"
                ))?;
                Ok(())
            })
            .map_err(|e| match e {
                OpenError::Sql(e) => fail(e),
                OpenError::Other(m) => SandboxError::config(format!("--state {name}: {m}")),
            })?;
        Ok(store)
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` in one transaction: committed when it returns `Ok`, rolled back otherwise.
    pub fn transaction<T, E: From<rusqlite::Error>>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }
}

/// Refuses a file that is not a sandbox state file before anything is written
/// to it: another project file (by its `application_id`), another SQLite file,
/// or no SQLite file at all. An empty file is new. An unmarked file with the
/// sandbox's own record (`meta.schema_version`) was written before state files
/// were marked: it is accepted and marked, because refusing it would throw
/// away a state the README promised to keep across versions (its version is
/// then checked, and migrated, as any other).
fn check_kind(conn: &Connection) -> Result<(), String> {
    let sql = |e: rusqlite::Error| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => "it is not an SQLite database".to_owned(),
        _ => e.to_string(),
    };
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(sql)?;
    let id: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(sql)?;
    if id == APPLICATION_ID {
        return Ok(());
    }
    if let Some((_, kind)) = OTHER_KINDS.iter().find(|(other, _)| *other == id) {
        return Err(format!("it is {kind}; give the sandbox a file of its own"));
    }
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(sql)?;
    if id == 0 && tables.is_empty() {
        return Ok(());
    }
    let ours = id == 0
        && tables.iter().any(|t| t == "meta")
        && conn
            .query_row(
                "SELECT count(*) FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map_err(sql)?
            > 0;
    if ours {
        return Ok(());
    }
    let mut listed = tables
        .iter()
        .take(5)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if tables.len() > 5 {
        listed.push_str(", …");
    }
    Err(format!(
        "it is another kind of SQLite file (application_id {id:#010x}; tables: {}); \
         give the sandbox a new file",
        if listed.is_empty() { "none" } else { &listed }
    ))
}

/// Brings a state file of schema `version` up to [`SCHEMA_VERSION`] (in the
/// opening transaction; `schema.sql` has already created the tables it lacked).
///
/// 1 → 2: `user_coupons.send_notice` and `outbox.coupon_seq`, which record
/// whether a coupon's PRODUCT_COUPON.SEND was delivered (`--confirm-after-notify`).
/// Coupons of a version-1 file have no record, so they read as not delivered.
///
/// 2 → 3: tenancy. `product_coupons.brand_id` / `.provider` and the same on
/// `pre_sends`: every existing row belongs to `brand_id` and was created by
/// the brand itself (before providers existed only the brand could create).
fn migrate(db: &Connection, version: &str, brand_id: &str) -> rusqlite::Result<()> {
    if version == "1" {
        add_column(db, "user_coupons", "send_notice", "TEXT")?;
        add_column(db, "outbox", "coupon_seq", "INTEGER")?;
    }
    add_column(
        db,
        "product_coupons",
        "brand_id",
        "TEXT NOT NULL DEFAULT ''",
    )?;
    add_column(db, "product_coupons", "provider", "TEXT")?;
    add_column(db, "pre_sends", "brand_id", "TEXT")?;
    add_column(db, "pre_sends", "provider", "TEXT")?;
    db.execute(
        "UPDATE product_coupons SET brand_id = ?1 WHERE brand_id = ''",
        [brand_id],
    )?;
    db.execute(
        "UPDATE pre_sends SET brand_id = ?1 WHERE brand_id IS NULL",
        [brand_id],
    )?;
    set_meta(db, "schema_version", SCHEMA_VERSION)
}

/// Adds `column` to `table` unless it is there already.
fn add_column(db: &Connection, table: &str, column: &str, decl: &str) -> rusqlite::Result<()> {
    let present: i64 = db.query_row(
        &format!("SELECT COUNT(*) FROM pragma_table_info('{table}') WHERE name = ?1"),
        [column],
        |r| r.get(0),
    )?;
    if present == 0 {
        db.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {decl}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_seeds_once_and_keeps_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state.db");
        let store = Store::open(Some(&file), 1_754_000_000, "1200000001").unwrap();
        let n = |s: &Store| {
            s.transaction(|db| {
                row(db, "SELECT COUNT(*) FROM stocks", [], |r| {
                    r.get::<_, i64>(0)
                })
            })
            .unwrap()
        };
        let seeded = n(&store);
        assert!(seeded > 0);
        store
            .transaction(|db| next(db, "x", 5).and_then(|_| next(db, "x", 5)))
            .unwrap();
        drop(store);
        let again = Store::open(Some(&file), 1_754_000_000, "1200000001").unwrap();
        assert_eq!(n(&again), seeded, "not seeded twice");
        assert_eq!(again.transaction(|db| next(db, "x", 5)).unwrap(), 7);
        let temporary = Store::open(None, 1_754_000_000, "1200000001").unwrap();
        assert_eq!(n(&temporary), seeded);
    }

    #[test]
    fn a_version_2_file_gains_tenancy_its_rows_belong_to_the_brand() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state.db");
        drop(Store::open(Some(&file), 1_754_000_000, "1200000001").unwrap());
        // What version 2 looked like: no tenancy columns.
        let conn = Connection::open(&file).unwrap();
        conn.execute_batch(
            "ALTER TABLE product_coupons DROP COLUMN brand_id; \
             ALTER TABLE product_coupons DROP COLUMN provider; \
             ALTER TABLE pre_sends DROP COLUMN brand_id; \
             ALTER TABLE pre_sends DROP COLUMN provider; \
             INSERT INTO pre_sends (token, operation, openid, body) VALUES ('T', 'op', 'o', '{}'); \
             UPDATE meta SET value = '2' WHERE key = 'schema_version';",
        )
        .unwrap();
        drop(conn);
        let store = Store::open(Some(&file), 1_754_000_000, "1200000001").unwrap();
        let owners: Vec<(String, Option<String>)> = store
            .transaction(|db| {
                db.prepare("SELECT brand_id, provider FROM product_coupons UNION ALL SELECT brand_id, provider FROM pre_sends")?
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect()
            })
            .unwrap();
        assert!(owners.len() > 2);
        assert!(
            owners.iter().all(|o| *o == ("1200000001".to_owned(), None)),
            "{owners:?}"
        );
    }

    #[test]
    fn a_version_1_file_gains_the_send_notice_columns() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state.db");
        drop(Store::open(Some(&file), 1_754_000_000, "1200000001").unwrap());
        // What version 1 looked like.
        let conn = Connection::open(&file).unwrap();
        conn.execute_batch(
            "ALTER TABLE user_coupons DROP COLUMN send_notice; \
             ALTER TABLE outbox DROP COLUMN coupon_seq; \
             UPDATE meta SET value = '1' WHERE key = 'schema_version';",
        )
        .unwrap();
        drop(conn);
        let store = Store::open(Some(&file), 1_754_000_000, "1200000001").unwrap();
        store
            .transaction(|db| {
                assert_eq!(meta(db, "schema_version")?.as_deref(), Some(SCHEMA_VERSION));
                db.execute_batch(
                    "SELECT send_notice FROM user_coupons; SELECT coupon_seq FROM outbox;",
                )
            })
            .unwrap();
        drop(store);
        let conn = Connection::open(&file).unwrap();
        set_meta(&conn, "schema_version", "99").unwrap();
        drop(conn);
        let refused = Store::open(Some(&file), 1_754_000_000, "1200000001").unwrap_err();
        assert!(
            refused.to_string().contains("schema version 99"),
            "{refused}"
        );
    }
}
