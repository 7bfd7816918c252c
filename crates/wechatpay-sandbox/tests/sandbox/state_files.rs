//! Which files `--state FILE` takes: a sandbox state file (marked with
//! `PRAGMA application_id` "WPSB" and `user_version`), an empty or missing
//! file, or an unmarked state file written before files were marked (marked
//! on open). Anything else is refused naming the file and what it is, before
//! anything is written to it: the hostile run had 13 tables added to a
//! campaign journal.

use crate::common;

use rusqlite::Connection;
use wechatpay_sandbox::store::APPLICATION_ID;
use wechatpay_sandbox::{Options, Sandbox};

fn start(keys: &std::path::Path, state: &std::path::Path) -> Result<Sandbox, String> {
    Sandbox::start(Options {
        state: Some(state.to_owned()),
        ..Options::new(keys)
    })
    .map_err(|e| e.to_string())
}

fn refused(keys: &std::path::Path, state: &std::path::Path) -> String {
    match start(keys, state) {
        Ok(_) => panic!("{} was accepted", state.display()),
        Err(e) => e,
    }
}

fn tables(path: &std::path::Path) -> Vec<String> {
    let conn = Connection::open(path).unwrap();
    let mut s = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap();
    s.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn pragma(path: &std::path::Path, name: &str) -> i32 {
    Connection::open(path)
        .unwrap()
        .query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_new_state_file_is_marked_and_opens_again() {
    let keys = common::keys();
    let state = keys.path().join("state.db");
    drop(start(keys.path(), &state).unwrap());
    assert_eq!(pragma(&state, "application_id"), APPLICATION_ID);
    assert_eq!(pragma(&state, "user_version"), 3);
    drop(start(keys.path(), &state).unwrap());
}

#[test]
fn another_projects_file_or_any_other_file_is_refused_untouched() {
    let keys = common::keys();
    let dir = keys.path();
    // A campaign journal and a notify journal, by their marks.
    for (id, kind) in [
        (0x5750_434A, "campaign journal"),
        (0x5750_4E54, "notify journal"),
    ] {
        let path = dir.join(format!("{id:x}.db"));
        Connection::open(&path)
            .unwrap()
            .execute_batch(&format!(
                "PRAGMA application_id = {id}; CREATE TABLE rows (x);"
            ))
            .unwrap();
        let e = refused(dir, &path);
        assert!(e.contains(&path.display().to_string()), "{e}");
        assert!(e.contains(kind), "{e}");
        assert_eq!(
            tables(&path),
            ["rows"],
            "nothing written to {}",
            path.display()
        );
    }
    // An unmarked SQLite file of another shape (a campaign journal of before the marks).
    let other = dir.join("other.db");
    Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE campaign (id); CREATE TABLE rows (x);")
        .unwrap();
    let e = refused(dir, &other);
    assert!(e.contains("not a sandbox state file"), "{e}");
    assert!(e.contains("campaign, rows"), "{e}");
    assert_eq!(tables(&other), ["campaign", "rows"]);
    // Not SQLite at all.
    let text = dir.join("notes.txt");
    std::fs::write(
        &text,
        "not a database, just long enough to have a header?\n".repeat(4),
    )
    .unwrap();
    let e = refused(dir, &text);
    assert!(e.contains("not an SQLite database"), "{e}");
}

#[test]
fn an_unmarked_state_file_of_an_earlier_version_is_kept_and_marked() {
    let keys = common::keys();
    let state = keys.path().join("old.db");
    drop(start(keys.path(), &state).unwrap());
    Connection::open(&state)
        .unwrap()
        .execute_batch("PRAGMA application_id = 0; PRAGMA user_version = 0;")
        .unwrap();
    let before = tables(&state);
    drop(start(keys.path(), &state).unwrap());
    assert_eq!(pragma(&state, "application_id"), APPLICATION_ID);
    assert_eq!(tables(&state), before);
}
