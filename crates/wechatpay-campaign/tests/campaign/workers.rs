//! Campaigns on a PostgreSQL journal shared by several workers (each a `Campaign`
//! of its own, as separate `campaign send` processes would be), against the
//! in-process sandbox and a PostgreSQL server each test starts.

use crate::common;

use std::path::PathBuf;
use std::time::Duration;

use common::{
    bounded, brand_rows, partner_client, partner_stock, sandbox, stats, PARTNER_TEMPLATE,
};
use wechatpay_campaign::{
    status, Campaign, CampaignError, CampaignSpec, Control, RunEnd, RunOptions,
};
use wechatpay_test_kit::pg::PgServer;

const SEND: &str = "partner-send-user-product-coupon";
const CONFIRM: &str = "partner-confirm-send-user-product-coupon";

fn options(rate: f64) -> RunOptions {
    RunOptions {
        rate: Some(rate),
        retry_initial: Duration::from_millis(20),
        lease: Duration::from_secs(5),
        ..RunOptions::default()
    }
}

/// The spec of a provider campaign of `per_brand` rows for each of `brands`
/// authorised brands, journaled in database `db` of `server`.
fn setup(
    server: &PgServer,
    db: &str,
    sandbox: &wechatpay_sandbox::Sandbox,
    brands: usize,
    per_brand: usize,
) -> (CampaignSpec, tempfile::TempDir) {
    let client = partner_client(sandbox);
    let ids = sandbox.keys().identity.authorized_brand_ids.clone();
    let stocks = bounded(30, async {
        let mut out = Vec::new();
        for brand in &ids[..brands] {
            let (coupon, stock) = partner_stock(&client, brand).await;
            out.push((brand.clone(), coupon, stock));
        }
        out
    });
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.csv");
    std::fs::write(&input, brand_rows(&stocks, per_brand)).unwrap();
    let spec = CampaignSpec {
        operation: wechatpay_endpoints::find(SEND).unwrap(),
        input,
        template_source: "template.json".into(),
        template: PARTNER_TEMPLATE.as_bytes().to_vec(),
        journal: PathBuf::from(server.create_database(db).unwrap()),
    };
    (spec, dir)
}

/// Runs one worker to its end on its own thread and runtime.
fn worker(
    spec: &CampaignSpec,
    sandbox: &wechatpay_sandbox::Sandbox,
    options: RunOptions,
) -> std::thread::JoinHandle<wechatpay_campaign::RunSummary> {
    watched_worker(spec, sandbox, options, Control::new())
}

/// [`worker`], watched through `control`.
fn watched_worker(
    spec: &CampaignSpec,
    sandbox: &wechatpay_sandbox::Sandbox,
    options: RunOptions,
    control: Control,
) -> std::thread::JoinHandle<wechatpay_campaign::RunSummary> {
    let spec = spec.clone();
    let client = partner_client(sandbox);
    std::thread::spawn(move || {
        bounded(90, async {
            Campaign::open(&spec)
                .unwrap()
                .run(&client, &options, &control)
                .await
                .unwrap()
        })
    })
}

#[test]
fn two_workers_share_the_rows_and_every_coupon_is_issued_and_confirmed_once() {
    let server = PgServer::start().unwrap();
    let sandbox = sandbox(None);
    // More rows than one worker takes ahead (about two seconds of its share).
    let (spec, _dir) = setup(&server, "two", &sandbox, 3, 120);
    let a = worker(&spec, &sandbox, options(40.0));
    let b = worker(&spec, &sandbox, options(40.0));
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    for s in [&a, &b] {
        assert_eq!(s.end, RunEnd::Completed, "{s:?}");
        assert_eq!(s.counts.succeeded, 360, "{s:?}");
    }
    // Both sent: the rows were shared, not taken by the first worker alone.
    assert!(a.progress.sent > 0 && b.progress.sent > 0, "{a:?} {b:?}");
    assert_eq!(a.progress.sent + b.progress.sent, 360);
    assert_eq!(stats(&sandbox, SEND).1, 360, "each row issued once");
    assert_eq!(
        stats(&sandbox, CONFIRM).1,
        360,
        "each coupon confirmed once"
    );
    let numbers: String = server
        .psql(
            "two",
            "SELECT count(DISTINCT request_no) FROM rows WHERE state = 'succeeded'",
        )
        .unwrap();
    assert_eq!(numbers.trim(), "360");

    // `status` lists the workers (both ended) and their runs.
    let status = status(&spec.journal).unwrap();
    assert_eq!(status.workers.len(), 2);
    assert!(status.workers.iter().all(|w| !w.live && w.leased_rows == 0));
    assert_eq!(status.runs.len(), 2);
    let text = status.to_string();
    assert!(text.contains("workers:    0 live, 2 in all"), "{text}");
    assert!(text.contains("state:      done"), "{text}");
    // A worker started after the end finds nothing to do.
    let c = worker(&spec, &sandbox, options(40.0)).join().unwrap();
    assert_eq!((c.progress.requests, c.counts.succeeded), (0, 360));
}

#[test]
fn a_worker_that_dies_mid_run_loses_its_rows_to_the_other_with_their_numbers() {
    let server = PgServer::start().unwrap();
    let sandbox = sandbox(None);
    let (spec, _dir) = setup(&server, "dies", &sandbox, 2, 60);
    // The doomed worker: its run is dropped mid-way (no clean end, no lease given
    // back, its heartbeat stops), as a killed process's would be.
    let doomed = {
        let spec = spec.clone();
        let client = partner_client(&sandbox);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let campaign = Campaign::open(&spec).unwrap();
                let (options, control) = (options(20.0), Control::new());
                let run = campaign.run(&client, &options, &control);
                assert!(tokio::time::timeout(Duration::from_millis(1500), run)
                    .await
                    .is_err());
            });
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let survivor = worker(&spec, &sandbox, options(20.0));
    doomed.join().unwrap();
    let s = survivor.join().unwrap();
    assert_eq!(s.end, RunEnd::Completed, "{s:?}");
    assert_eq!(s.counts.succeeded, 120, "{s:?}");
    let (requests, issued, _) = stats(&sandbox, SEND);
    assert_eq!(
        issued, 120,
        "each row issued once, resends answered with the first coupon"
    );
    assert!(requests >= 120);
    assert_eq!(stats(&sandbox, CONFIRM).1, 120);
    // The dead worker is shown silent, its leases gone.
    let status = status(&spec.journal).unwrap();
    assert!(
        status.workers.iter().all(|w| w.leased_rows == 0),
        "{status:?}"
    );
}

#[test]
fn postgres_gone_for_a_while_pauses_the_workers_and_the_campaign_completes() {
    let server = PgServer::start().unwrap();
    let sandbox = sandbox(None);
    let (spec, _dir) = setup(&server, "outage", &sandbox, 2, 60);
    let control = Control::new();
    let runner = watched_worker(&spec, &sandbox, options(20.0), control.clone());
    std::thread::sleep(Duration::from_millis(1500));
    server.stop().unwrap();
    let sent_before = control.progress().requests;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !control.progress().paused {
        assert!(std::time::Instant::now() < deadline, "never paused");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Paused: what was in flight is answered, nothing new goes out.
    std::thread::sleep(Duration::from_secs(2));
    let paused_at = control.progress().requests;
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(control.progress().requests, paused_at, "sent while paused");
    assert!(control.progress().paused);
    assert!(paused_at >= sent_before);
    server.restart().unwrap();
    let s = runner.join().unwrap();
    assert!(!control.progress().paused);
    assert_eq!(s.end, RunEnd::Completed, "{s:?}");
    assert_eq!(s.counts.succeeded, 120, "{s:?}");
    assert_eq!(stats(&sandbox, SEND).1, 120);
    assert_eq!(stats(&sandbox, CONFIRM).1, 120);
}

#[test]
fn a_shared_journal_is_bound_to_its_input_and_template_like_a_file() {
    let server = PgServer::start().unwrap();
    let sandbox = sandbox(None);
    let (spec, _dir) = setup(&server, "bound", &sandbox, 1, 5);
    drop(Campaign::open(&spec).unwrap());
    let mut other = spec.clone();
    other.template = PARTNER_TEMPLATE
        .replace('{', "{\"attach\": \"x\", ")
        .into_bytes();
    let err = Campaign::open(&other).unwrap_err();
    assert!(matches!(err, CampaignError::Binding(_)), "{err}");
    assert!(
        err.to_string().contains("belongs to another campaign"),
        "{err}"
    );
    // A database holding other tables is refused before anything is written to it.
    let url = server.create_database("busy").unwrap();
    server.psql("busy", "CREATE TABLE orders (id int)").unwrap();
    let mut foreign = spec.clone();
    foreign.journal = PathBuf::from(&url);
    let err = Campaign::open(&foreign).unwrap_err();
    assert!(err.to_string().contains("but no campaign journal"), "{err}");
    // The password of a journal URL never appears in a message.
    let mut secret = spec.clone();
    secret.journal = PathBuf::from(format!(
        "postgres://postgres:hunter2@127.0.0.1:{}/nowhere",
        server.port()
    ));
    let err = wechatpay_transport::ErrorChain(&err_of(&secret)).to_string();
    assert!(!err.contains("hunter2"), "{err}");
    assert!(err.contains("postgres://postgres:***@127.0.0.1"), "{err}");
}

fn err_of(spec: &CampaignSpec) -> CampaignError {
    Campaign::open(spec).unwrap_err()
}

#[test]
fn a_journal_over_tls_is_encrypted() {
    let server = PgServer::start().unwrap();
    server.enable_tls().unwrap();
    let url = server.create_database("tls").unwrap();
    // libpq's `require`: encrypted, the server's self-signed certificate accepted.
    let spec_url = PathBuf::from(format!("{url}?sslmode=require"));
    let mut journal = wechatpay_campaign::journal::Journal::open_for_send(&spec_url).unwrap();
    assert_eq!(journal.binding().unwrap(), None);
    let encrypted = server
        .psql("postgres", "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE s.ssl AND a.datname = 'tls'")
        .unwrap();
    assert_eq!(
        encrypted.trim(),
        "1",
        "the journal's one connection uses TLS"
    );
    drop(journal);
}
