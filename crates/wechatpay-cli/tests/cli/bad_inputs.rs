//! Bad inputs to `wechatpay call`: each is a clear message naming the field
//! or file, exit code 3, and nothing reaches the sandbox.

use crate::common;

use common::{cli, keys_dir, outcome, Sandbox};

const VALIDATION_EXIT: i32 = 3;

#[test]
fn bad_inputs_name_the_field_or_file_and_send_nothing() {
    let sb = Sandbox::start(&keys_dir("bad-inputs"), &[]);
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        format!("@{}", path.display())
    };
    let good = r#"{"openid":"o1","appid":"wx1","stock_id":"12312354","out_request_no":"BAD_1","coupon_type":"NORMAL"}"#;
    let missing = format!("@{}", dir.path().join("missing.json").display());
    let cases: Vec<(&str, &str, String, Vec<&str>)> = vec![
        ("unknown operation", "send-everything", good.to_owned(), vec!["unknown operation id \"send-everything\"; `wechatpay describe` lists the"]),
        ("mistyped operation", "GET_STOK", good.to_owned(), vec!["unknown operation id \"GET_STOK\"; did you mean get-stock?"]),
        ("missing body file", "send-product-coupon", missing.clone(), vec!["cannot read body file", "missing.json"]),
        (
            "invalid UTF-8",
            "send-product-coupon",
            file("latin1.json", b"{\"openid\":\"o\xe9\"}"),
            vec!["latin1.json", "invalid UTF-8 at byte 12"],
        ),
        (
            "raw control character",
            "send-product-coupon",
            file("bell.json", b"{\"openid\":\"o\x07\"}"),
            vec!["bell.json", "control character U+0007 at line 1, column 13"],
        ),
        (
            "escaped control character",
            "send-product-coupon",
            file("escaped.json", br#"{"openid":"o1","appid":"wx1","stock_id":"S\u0007","out_request_no":"BAD_2","coupon_type":"NORMAL"}"#),
            vec!["stock_id: control character"],
        ),
        (
            "duplicate keys",
            "send-product-coupon",
            file("dup.json", br#"{"openid":"o1","stock_id":"a","stock_id":"b"}"#),
            vec!["dup.json", "duplicate key `stock_id`"],
        ),
        (
            "over-long value",
            "send-product-coupon",
            format!(r#"{{"openid":"o1","appid":"{}","stock_id":"S1","out_request_no":"BAD_3","coupon_type":"NORMAL"}}"#, "w".repeat(33)),
            vec!["appid: must be at most 32 characters long, got 33"],
        ),
        (
            "empty required string",
            "send-user-product-coupon",
            r#"{"openid":"o1","product_coupon_id":"","stock_id":"S","appid":"wx","send_request_no":"BAD_4_ok"}"#.to_owned(),
            vec!["product_coupon_id: is required and must not be empty"],
        ),
        (
            "missing path parameter",
            "send-user-product-coupon",
            r#"{"product_coupon_id":"P","stock_id":"S","appid":"wx","send_request_no":"BAD_5_ok"}"#.to_owned(),
            vec!["openid: is required"],
        ),
        (
            "wrong type",
            "send-product-coupon",
            r#"{"openid":"o1","appid":"wx1","stock_id":["S1"],"out_request_no":"BAD_6","coupon_type":"NORMAL"}"#.to_owned(),
            vec!["stock_id: expected a string, got an array"],
        ),
        (
            "not an object",
            "send-product-coupon",
            "[1,2]".to_owned(),
            vec!["(body): must be a JSON object"],
        ),
        ("not JSON", "send-product-coupon", "{oops".to_owned(), vec!["--body: key must be a string"]),
        ("empty body", "send-product-coupon", file("empty.json", b""), vec!["empty.json: is empty"]),
        // Messages that used to mislead (issue 18, item 14).
        ("a bare -", "send-product-coupon", "-".to_owned(), vec!["--body -: to read the body from standard input write --body @-"]),
        (
            "integer past i64",
            "list-stocks",
            r#"{"product_coupon_id":"1000000013","page_size":9223372036854775808}"#.to_owned(),
            vec!["page_size: 9223372036854775808 is out of range: integers here are 64-bit signed"],
        ),
        (
            "integer written as 4.0",
            "list-stocks",
            r#"{"product_coupon_id":"1000000013","page_size":4.0}"#.to_owned(),
            vec!["page_size: write the integer without a decimal point or exponent: 4, not 4.0"],
        ),
        (
            "integer with a fraction",
            "list-stocks",
            r#"{"product_coupon_id":"1000000013","page_size":4.5}"#.to_owned(),
            vec!["page_size: expected an integer, got 4.5, which has a fraction"],
        ),
        (
            "a page token too long for a URL",
            "list-stocks",
            format!(r#"{{"product_coupon_id":"1000000013","page_token":"{}"}}"#, "t".repeat(100_000)),
            vec!["longer than the 65,534 bytes a request URL can hold"],
        ),
    ];
    for (class, operation, body, needles) in cases {
        let mut args = vec![
            "call".to_owned(),
            operation.to_owned(),
            "--body".to_owned(),
            body,
        ];
        args.extend(sb.cli_flags());
        let (code, stdout, stderr) = outcome(&cli(&args, &[]));
        assert_eq!(code, VALIDATION_EXIT, "{class}: {stderr}");
        assert!(stdout.is_empty(), "{class}: {stdout}");
        assert!(stderr.contains("validation error"), "{class}: {stderr}");
        for needle in needles {
            assert!(
                stderr.contains(needle),
                "{class}: {needle:?} not in {stderr}"
            );
        }
        assert!(!stderr.contains("panicked"), "{class}: {stderr}");
        assert_eq!(
            sb.request_count(),
            0,
            "{class}: a request reached the sandbox"
        );
    }

    // An upload whose --body meta contradicts its --file: bad input (exit 3), found
    // before any setting is read.
    let image = dir.path().join("logo.png");
    std::fs::write(&image, b"\x89PNG\r\n\x1a\nbad-input-image").unwrap();
    let args = [
        "call",
        "upload-image",
        "--file",
        &image.display().to_string(),
        "--body",
        &format!(r#"{{"filename":"logo.png","sha256":"{}"}}"#, "0".repeat(64)),
    ];
    let (code, _, stderr) = outcome(&cli(&args, &[]));
    assert_eq!(code, VALIDATION_EXIT, "{stderr}");
    assert!(
        stderr.contains("does not match --file logo.png"),
        "{stderr}"
    );

    // The counter does count: a valid call reaches the sandbox once.
    let mut args = vec![
        "call".to_owned(),
        "send-product-coupon".to_owned(),
        "--body".to_owned(),
        good.to_owned(),
    ];
    args.extend(sb.cli_flags());
    let (code, _, stderr) = outcome(&cli(&args, &[]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(sb.request_count(), 1);
}
