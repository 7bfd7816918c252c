//! The SQL helpers every part of the state uses on the request's connection:
//! statements through the statement cache, the `meta` values and the counters.
//! A leaf: the store, the seed and the model's rows all build on it.

use rusqlite::{params, Connection, OptionalExtension};

/// Runs a statement through the connection's statement cache (most run once per request).
pub fn exec<P: rusqlite::Params>(db: &Connection, sql: &str, params: P) -> rusqlite::Result<usize> {
    db.prepare_cached(sql)?.execute(params)
}

/// Reads one row through the statement cache.
pub fn row<T, P: rusqlite::Params>(
    db: &Connection,
    sql: &str,
    params: P,
    f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    db.prepare_cached(sql)?.query_row(params, f)
}

/// A `meta` value.
pub fn meta(db: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    row(db, "SELECT value FROM meta WHERE key = ?1", [key], |r| {
        r.get(0)
    })
    .optional()
}

/// Sets a `meta` value.
pub fn set_meta(db: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    exec(
        db,
        "INSERT INTO meta (key, value) VALUES (?1, ?2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )
    .map(drop)
}

/// The next value of a named counter, starting at `first`.
pub fn next(db: &Connection, name: &str, first: i64) -> rusqlite::Result<i64> {
    row(
        db,
        "INSERT INTO counters (name, value) VALUES (?1, ?2) \
         ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
        params![name, first],
        |r| r.get(0),
    )
}

/// The next position in the single creation order every list pages by.
pub fn next_seq(db: &Connection) -> rusqlite::Result<i64> {
    next(db, "seq", 1)
}
