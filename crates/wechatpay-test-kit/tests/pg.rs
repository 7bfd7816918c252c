//! The throw-away PostgreSQL server: started, used, stopped, restarted and
//! dropped by the test itself. Without PostgreSQL's server tools these
//! tests fail, saying how to install them: they never pass silently.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use wechatpay_test_kit::pg::{self, PgServer};

/// A started server, or a failure that says what to install.
fn start() -> PgServer {
    if let Err(missing) = pg::available() {
        panic!("these tests need PostgreSQL's server tools: {missing}");
    }
    PgServer::start().unwrap_or_else(|e| panic!("PgServer::start: {e}"))
}

fn accepts_connections(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok()
}

#[test]
fn a_server_starts_serves_stops_restarts_and_is_gone_once_dropped() {
    let started = Instant::now();
    let server = start();
    eprintln!("start: {:?}", started.elapsed());
    let port = server.port();
    assert!(accepts_connections(port));

    let journal = server.create_database("journal").unwrap();
    assert_eq!(
        journal,
        format!("postgres://postgres@127.0.0.1:{port}/journal")
    );
    let bench = server.create_database("bench").unwrap();
    assert_eq!(bench, server.url("bench"));
    assert_eq!(server.psql("journal", "SELECT 1").unwrap(), "1\n");
    assert_eq!(
        server
            .psql("bench", "SELECT current_database()")
            .unwrap()
            .trim(),
        "bench"
    );
    let error = server.create_database("journal").unwrap_err();
    assert!(error.contains("already exists"), "{error}");
    let error = server.psql("journal", "SELECT nope").unwrap_err();
    assert!(error.contains("psql") && error.contains("nope"), "{error}");
    server
        .psql(
            "journal",
            "CREATE TABLE t (k int PRIMARY KEY); INSERT INTO t VALUES (7)",
        )
        .unwrap();

    let stopping = Instant::now();
    server.stop().unwrap();
    eprintln!("stop: {:?}", stopping.elapsed());
    assert!(!accepts_connections(port));
    assert!(server.psql("journal", "SELECT 1").is_err());

    let restarting = Instant::now();
    server.restart().unwrap();
    eprintln!("restart: {:?}", restarting.elapsed());
    assert_eq!(server.port(), port);
    assert_eq!(server.psql("journal", "SELECT 1").unwrap(), "1\n");
    assert_eq!(server.psql("journal", "SELECT k FROM t").unwrap(), "7\n");

    let dropping = Instant::now();
    drop(server);
    eprintln!("drop: {:?}", dropping.elapsed());
    assert!(
        !accepts_connections(port),
        "port {port} still accepts connections"
    );
}

#[test]
fn two_servers_run_side_by_side_and_a_url_creates_nothing() {
    let (a, b) = (start(), start());
    assert_ne!(a.port(), b.port());
    assert_eq!(
        a.url("not_yet"),
        format!("postgres://postgres@127.0.0.1:{}/not_yet", a.port())
    );
    assert!(a.psql("not_yet", "SELECT 1").is_err());
    a.create_database("only_on_a").unwrap();
    assert_eq!(a.psql("only_on_a", "SELECT 2").unwrap(), "2\n");
    assert!(b.psql("only_on_a", "SELECT 2").is_err());
    // A stopped server drops cleanly too.
    b.stop().unwrap();
}
