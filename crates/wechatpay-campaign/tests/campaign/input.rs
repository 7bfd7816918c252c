//! The input's limits: a cell or a row over its cap, an input that never ends,
//! an empty file. Each is refused with the file and line, and no journal file
//! is left behind.

use crate::common;

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use common::{spec, USER_TEMPLATE};
use wechatpay_campaign::{
    Campaign, CampaignError, CampaignSpec, InputError, MAX_CELL_BYTES, MAX_ROW_BYTES,
};

fn assert_no_journal_files(dir: &Path) {
    for leftover in [
        "campaign.db",
        "campaign.db-wal",
        "campaign.db-shm",
        "campaign.db.lock",
    ] {
        assert!(!dir.join(leftover).exists(), "{leftover} left behind");
    }
}

/// Opens `spec` on another thread, failing the test after 30 s.
fn open_bounded(spec: CampaignSpec) -> Result<(), CampaignError> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(Campaign::open(&spec).map(drop));
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("opening the campaign did not finish in 30 s")
}

#[test]
fn a_cell_over_its_cap_is_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let big = "x".repeat(MAX_CELL_BYTES + 1);
    let csv = format!("openid,attach\noA,fine\noB,{big}\n");
    let spec = spec(dir.path(), "send-user-product-coupon", &csv, USER_TEMPLATE);
    let err = open_bounded(spec).unwrap_err();
    assert!(
        matches!(err, CampaignError::InputFile(InputError::Invalid(_))),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "(line 3): column attach holds {} bytes, over the cap of {MAX_CELL_BYTES} bytes per cell",
            MAX_CELL_BYTES + 1
        )),
        "{text}"
    );
    assert_no_journal_files(dir.path());
}

#[test]
fn a_row_over_its_cap_is_refused_without_reading_it_all() {
    let dir = tempfile::tempdir().unwrap();
    // One line of 8 MiB with no end: only about the cap is read.
    let csv = format!("openid\n{}", "o".repeat(8 << 20));
    let spec = spec(dir.path(), "send-user-product-coupon", &csv, USER_TEMPLATE);
    let text = open_bounded(spec).unwrap_err().to_string();
    assert!(
        text.contains(&format!(
            "(line 2): the row is longer than the cap of {MAX_ROW_BYTES} bytes per row"
        )),
        "{text}"
    );
    assert_no_journal_files(dir.path());
}

#[test]
fn an_input_that_is_no_regular_file_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = spec(dir.path(), "send-user-product-coupon", "", USER_TEMPLATE);
    spec.input = "/dev/zero".into();
    let text = open_bounded(spec).unwrap_err().to_string();
    assert!(
        text.contains("input /dev/zero is not a regular file"),
        "{text}"
    );
    assert_no_journal_files(dir.path());
}

#[test]
fn an_empty_input_says_it_has_no_header() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path(), "send-user-product-coupon", "", USER_TEMPLATE);
    let text = open_bounded(spec).unwrap_err().to_string();
    assert!(
        text.contains("input.csv is empty: it needs a header line naming the columns"),
        "{text}"
    );
    assert_no_journal_files(dir.path());
}

#[test]
fn a_journal_in_a_missing_directory_is_a_clear_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = spec(
        dir.path(),
        "send-user-product-coupon",
        "openid\noA\n",
        USER_TEMPLATE,
    );
    spec.journal = dir.path().join("missing").join("j.db");
    let err = open_bounded(spec).unwrap_err();
    assert!(matches!(err, CampaignError::Input(_)), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("journal") && text.contains("missing: no such directory"),
        "{text}"
    );
    assert!(!dir.path().join("missing").exists());
}
