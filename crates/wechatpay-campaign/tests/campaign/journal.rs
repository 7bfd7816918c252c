//! Opening campaigns, without a server: the journal's binding to its input and
//! template, invalid rows, request numbers that survive a lost journal.

use crate::common;

use common::{spec, users, USER_TEMPLATE};
use wechatpay_campaign::{report, Campaign, CampaignError, ReportFormat};

fn request_numbers(journal: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    report(journal, ReportFormat::Json, &mut out).unwrap();
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out).unwrap();
    rows.iter()
        .map(|r| r["request_no"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_journal_refuses_another_input_template_or_operation() {
    let dir = tempfile::tempdir().unwrap();
    let base = spec(
        dir.path(),
        "send-user-product-coupon",
        &users("oBound", 3),
        USER_TEMPLATE,
    );
    drop(Campaign::open(&base).unwrap());

    let mut other_template = base.clone();
    other_template.template = USER_TEMPLATE
        .replace("1000000013001", "1000000013002")
        .into_bytes();
    let err = Campaign::open(&other_template).unwrap_err();
    assert!(matches!(err, CampaignError::Binding(_)), "{err}");
    let text = err.to_string();
    assert!(
        text.contains(
            "belongs to another campaign: it was created with template template.json (sha256 "
        ),
        "{text}"
    );
    assert!(text.contains("Nothing was sent"), "{text}");

    std::fs::write(&base.input, users("oBound", 4)).unwrap();
    let err = Campaign::open(&base).unwrap_err();
    assert!(
        err.to_string().contains("it was created with input"),
        "{err}"
    );

    std::fs::write(&base.input, users("oBound", 3)).unwrap();
    let mut other_operation = base.clone();
    other_operation.operation = wechatpay_endpoints::find("pre-send-user-product-coupon").unwrap();
    let err = Campaign::open(&other_operation).unwrap_err();
    assert!(
        err.to_string()
            .contains("it sends send-user-product-coupon, not pre-send-user-product-coupon"),
        "{err}"
    );
    // The original files still open it.
    assert!(!Campaign::open(&base).unwrap().created());
}

#[test]
fn invalid_rows_are_reported_by_row_line_and_field_and_no_journal_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let csv = "openid,attach\noGood,fine\n,missing openid\noNewline,\"two\nlines\"\noBad,"
        .to_owned()
        + &"x".repeat(151)
        + "\n";
    let spec = spec(dir.path(), "send-user-product-coupon", &csv, USER_TEMPLATE);
    let err = Campaign::open(&spec).unwrap_err();
    let CampaignError::InvalidRows { problems, total } = &err else {
        panic!("{err}")
    };
    assert_eq!(*total, 3);
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(text[0], "row 2 (line 3): openid: is required");
    assert!(text[1].starts_with("row 3 (line 4): attach: "), "{text:?}");
    assert_eq!(
        text[2],
        "row 4 (line 6): attach: must be at most 150 characters long, got 151"
    );
    assert!(err.to_string().starts_with(
        "3 problem(s) in the input; nothing was sent:\n  row 2 (line 3): openid: is required"
    ));
    assert!(!spec.journal.exists(), "no journal is left behind");

    // A column that is no request field is a header problem.
    std::fs::write(&spec.input, "openid,nickname\no1,x\n").unwrap();
    let err = Campaign::open(&spec).unwrap_err();
    assert!(
        err.to_string()
            .contains("header (line 1): nickname: not a field of SendUserProductCouponRequest"),
        "{err}"
    );

    // The request number may not be shared through the template, nor repeated in a column.
    let mut shared = spec.clone();
    std::fs::write(&shared.input, users("o", 2)).unwrap();
    shared.template =
        br#"{"product_coupon_id":"1","stock_id":"2","appid":"wx3","send_request_no":"SAME01"}"#
            .to_vec();
    let err = Campaign::open(&shared).unwrap_err();
    assert!(
        err.to_string()
            .contains("template.json sets send_request_no, which must differ per row"),
        "{err}"
    );
    std::fs::write(
        &spec.input,
        "openid,send_request_no\noA,NUM001\noB,NUM002\noC,NUM001\n",
    )
    .unwrap();
    let err = Campaign::open(&spec).unwrap_err();
    assert!(
        err.to_string().contains("row 3 (line 4): send_request_no: \"NUM001\" is also the number of row 1; each row needs its own"),
        "{err}"
    );
    assert!(!spec.journal.exists());

    // send-product-coupon's numbers are unique per stock and user: the same
    // number for two users is two requests.
    let merchant = common::spec(
        dir.path(),
        "send-product-coupon",
        "openid,out_request_no\noA,N1\noB,N1\n",
        r#"{"appid":"wx1","stock_id":"1","coupon_type":"NORMAL"}"#,
    );
    assert!(Campaign::open(&merchant).unwrap().created());
}

#[test]
fn derived_numbers_are_valid_and_survive_a_lost_journal() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(
        dir.path(),
        "send-user-product-coupon",
        &users("oLost", 25),
        USER_TEMPLATE,
    );
    drop(Campaign::open(&spec).unwrap());
    let numbers = request_numbers(&spec.journal);
    assert_eq!(numbers.len(), 25);
    let tag = &numbers[0][..14];
    for (i, n) in numbers.iter().enumerate() {
        assert_eq!(n.len(), 24);
        assert!(n.chars().all(|c| c.is_ascii_alphanumeric()), "{n}");
        assert_eq!(&n[..14], tag, "one campaign tag");
        assert_eq!(n[14..], format!("{:010}", i + 1));
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", spec.journal.display()));
    }
    drop(Campaign::open(&spec).unwrap());
    assert_eq!(
        request_numbers(&spec.journal),
        numbers,
        "the same files give the same numbers"
    );

    // Another template is another campaign: other numbers.
    let mut other = spec.clone();
    other.template = USER_TEMPLATE
        .replace("wx233544546545989", "wx233544546545988")
        .into_bytes();
    other.journal = dir.path().join("other.db");
    drop(Campaign::open(&other).unwrap());
    assert_ne!(request_numbers(&other.journal)[0], numbers[0]);
}

#[test]
fn a_template_reformatted_without_changing_its_json_resumes_with_the_same_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let base = spec(
        dir.path(),
        "send-user-product-coupon",
        &users("oReformat", 3),
        USER_TEMPLATE,
    );
    drop(Campaign::open(&base).unwrap());
    let numbers = request_numbers(&base.journal);

    // Same JSON: other whitespace, other key order.
    let mut reformatted = base.clone();
    reformatted.template = b"{\n  \"appid\" : \"wx233544546545989\",\n  \"stock_id\": \"1000000013001\",\n\t\"product_coupon_id\":\"1000000013\"\n}\n".to_vec();
    let campaign = Campaign::open(&reformatted).expect("the same JSON is the same campaign");
    assert!(!campaign.created());
    // The journal keeps the hash it was created with (request numbers derive from it).
    assert_eq!(
        campaign.binding().template,
        USER_TEMPLATE,
        "the binding is not rewritten"
    );
    drop(campaign);
    assert_eq!(request_numbers(&base.journal), numbers);

    // Another value is another campaign, and the refusal says what a new journal costs.
    let mut changed = base.clone();
    changed.template = USER_TEMPLATE
        .replace("wx233544546545989", "wx1")
        .into_bytes();
    let text = Campaign::open(&changed).unwrap_err().to_string();
    for needle in [
        "its JSON differs at appid",
        "a new --journal is a new campaign: it sends every row again under new request numbers",
    ] {
        assert!(text.contains(needle), "{needle:?} not in {text}");
    }
}
