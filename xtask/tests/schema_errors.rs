//! The broken-schema corpus: every file under `tests/broken/` is a schema
//! endpoint file with one mistake and a first line `# expect: <message>`.
//! Each must fail with that message (file, path inside it, reason) and the
//! generator must write nothing.

use std::fs;
use std::path::{Path, PathBuf};

use xtask::codegen::{self, Mode};

fn broken_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/broken")
}

fn real_api_yaml() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema/api.yaml")
}

/// A scratch workspace root holding `schema/api.yaml` and the given endpoint files.
fn scratch_root(name: &str, endpoint_files: &[(&str, &str)]) -> PathBuf {
    let root = std::env::temp_dir().join(format!("xtask-broken-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(root.join("schema/endpoints")).unwrap();
    fs::copy(real_api_yaml(), root.join("schema/api.yaml")).unwrap();
    for (file, text) in endpoint_files {
        fs::write(root.join("schema/endpoints").join(file), text).unwrap();
    }
    root
}

fn assert_fails_without_writing(root: &Path, expected: &str) {
    let message = codegen::run(root, Mode::Write).expect_err("a broken schema must fail");
    assert!(
        message.contains(expected),
        "expected {expected:?} in:\n{message}"
    );
    assert!(message.ends_with("nothing was written"), "{message}");
    assert!(
        !root.join("crates").exists(),
        "files were written for a broken schema"
    );
}

#[test]
fn every_broken_file_fails_with_its_named_error() {
    let mut cases = 0;
    let mut entries: Vec<_> = fs::read_dir(broken_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let text = fs::read_to_string(&path).unwrap();
        let expected = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{} must start with '# expect: <message>'", path.display()));
        let file_name = path.file_name().unwrap().to_str().unwrap();
        let root = scratch_root(file_name, &[(file_name, &text)]);
        assert_fails_without_writing(&root, expected);
        fs::remove_dir_all(&root).unwrap();
        cases += 1;
    }
    assert!(cases >= 27, "the corpus shrank to {cases} files");
}

#[test]
fn a_type_defined_in_two_files_names_both() {
    let one = fs::read_to_string(broken_dir().join("bad_method.yaml"))
        .unwrap()
        .replace("method: SEND", "method: POST");
    let two = one.replace("name: BrokenDemo\n", "name: OtherDemo\n");
    let root = scratch_root("two-files", &[("a.yaml", &one), ("b.yaml", &two)]);
    assert_fails_without_writing(
        &root,
        "schema/endpoints/b.yaml: types.BrokenDemoRequest: type BrokenDemoRequest is already defined in schema/endpoints/a.yaml",
    );
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_missing_api_file_is_named() {
    let root = scratch_root("no-api", &[]);
    fs::remove_file(root.join("schema/api.yaml")).unwrap();
    assert_fails_without_writing(&root, "schema/api.yaml: cannot read");
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn the_fixed_base_file_is_valid() {
    // Guards the corpus itself: without its one mistake, a case must load.
    let text = fs::read_to_string(broken_dir().join("bad_method.yaml"))
        .unwrap()
        .replace("method: SEND", "method: POST");
    let root = scratch_root("fixed", &[("fixed.yaml", &text)]);
    let outcome = codegen::run(&root, Mode::Write).expect("the base file is valid");
    assert!(outcome.total > 0);
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn operations_whose_paths_could_collide_are_refused() {
    let one = fs::read_to_string(broken_dir().join("bad_method.yaml"))
        .unwrap()
        .replace("method: SEND", "method: POST");
    // Same method, and `{who}` can be "users": routing would depend on file order.
    let two = one
        .replace("name: BrokenDemo\n", "name: OtherDemo\n")
        .replace("BrokenDemoRequest", "OtherDemoRequest")
        .replace("BrokenDemoResponse", "OtherDemoResponse")
        .replace(
            "path: /brand/demo/users/{openid}/items",
            "path: /brand/demo/{openid}/x/items",
        );
    let root = scratch_root("overlap", &[("a.yaml", &one), ("b.yaml", &two)]);
    assert_fails_without_writing(
        &root,
        "schema/endpoints/b.yaml: endpoint.path: POST /brand/demo/{openid}/x/items can match the same paths as /brand/demo/users/{openid}/items (schema/endpoints/a.yaml)",
    );
    fs::remove_dir_all(&root).unwrap();
}

/// The base file as the operation `broken-demo`, naming two pages.
fn listed_demo() -> String {
    fs::read_to_string(broken_dir().join("bad_method.yaml"))
        .unwrap()
        .replace("method: SEND", "method: POST")
        .replace(
            "summary: Broken on purpose.}",
            "summary: Broken on purpose., pages: [official 4015736390, partner 4015781575, mirror]}",
        )
}

const DEMO_SOURCES: &str = r#"operations:
  - id: broken-demo
    title: 坏示例
    official:
      - { id: 4015736390, url: "https://pay.weixin.qq.com/doc/brand/4015736390" }
    partner:
      - { id: 4015781575, url: "https://pay.weixin.qq.com/doc/v3/partner/4015781575" }
"#;

/// Runs codegen on `broken-demo.yaml` with `sources` as `schema/sources.yaml`.
fn with_sources(name: &str, sources: &str) -> (PathBuf, Result<String, String>) {
    let root = scratch_root(name, &[("broken-demo.yaml", &listed_demo())]);
    fs::write(root.join("schema/sources.yaml"), sources).unwrap();
    let result = codegen::run(&root, Mode::Write).map(|o| format!("{} files", o.total));
    (root, result)
}

#[test]
fn the_sources_list_matches_the_endpoint_files() {
    let (root, result) = with_sources("sources-ok", DEMO_SOURCES);
    result.expect("a list that matches the endpoint files is valid");
    fs::remove_dir_all(&root).unwrap();

    let cases: [(&str, String, &[&str]); 5] = [
        (
            "sources-url",
            DEMO_SOURCES.replace("doc/brand/4015736390", "doc/brand/4015736391"),
            &["schema/sources.yaml: operations[0].official[0].url: \"https://pay.weixin.qq.com/doc/brand/4015736391\" is not the URL of official page 4015736390: https://pay.weixin.qq.com/doc/brand/4015736390"],
        ),
        (
            "sources-unlisted-page",
            DEMO_SOURCES.replace("    partner:\n      - { id: 4015781575, url: \"https://pay.weixin.qq.com/doc/v3/partner/4015781575\" }\n", "    partner: []\n"),
            &["schema/endpoints/broken-demo.yaml: source.pages[1]: partner 4015781575 is not listed in schema/sources.yaml"],
        ),
        (
            "sources-unnamed-page",
            DEMO_SOURCES.replace("id: 4015736390, url: \"https://pay.weixin.qq.com/doc/brand/4015736390\"", "id: 4015736403, url: \"https://pay.weixin.qq.com/doc/brand/4015736403\""),
            &[
                "schema/sources.yaml: operations[0].official[0]: schema/endpoints/broken-demo.yaml does not name official 4015736403 in source.pages",
                "schema/endpoints/broken-demo.yaml: source.pages[0]: official 4015736390 is not listed in schema/sources.yaml",
            ],
        ),
        (
            "sources-other-operation",
            DEMO_SOURCES.replace("id: broken-demo", "id: other-demo") + "  - id: other-demo\n    title: x\n    official: []\n    partner: []\n",
            &[
                "schema/sources.yaml: operations[0].id: no endpoint file defines operation other-demo (expected schema/endpoints/other-demo.yaml)",
                "schema/sources.yaml: operations[1].id: other-demo is listed twice",
                "schema/sources.yaml: operations: operation broken-demo (schema/endpoints/broken-demo.yaml) is not listed",
            ],
        ),
        (
            "sources-unknown-key",
            DEMO_SOURCES.to_owned() + "  - id: x\n    title: x\n    official: []\n    partners: []\n",
            &["schema/sources.yaml: operations[1].partners: unknown field `partners`"],
        ),
    ];
    for (name, sources, expected) in cases {
        let (root, result) = with_sources(name, &sources);
        let message = result.expect_err(name);
        for e in expected {
            assert!(message.contains(e), "{name}: expected {e:?} in:\n{message}");
        }
        assert!(message.ends_with("nothing was written"), "{message}");
        assert!(!root.join("crates").exists(), "{name}: files were written");
        fs::remove_dir_all(&root).unwrap();
    }

    // A title that differs from the file's is named with both.
    let (root, result) = with_sources(
        "sources-title",
        &DEMO_SOURCES.replace("title: 坏示例", "title: 好示例"),
    );
    let message = result.unwrap_err();
    assert!(
        message.contains("schema/sources.yaml: operations[0].title: \"好示例\" is not the title in schema/endpoints/broken-demo.yaml (\"坏示例\")"),
        "{message}"
    );
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_shared_row_repeating_a_code_needs_a_key() {
    // The generated constant of a shared row is named by its key, never by its position:
    // a repeated code without one would be the second `PARAM_ERROR`.
    let base = fs::read_to_string(broken_dir().join("bad_method.yaml"))
        .unwrap()
        .replace("method: SEND", "method: POST");
    let root = scratch_root("shared-key", &[("demo.yaml", &base)]);
    let api = root.join("schema/api.yaml");
    let text = fs::read_to_string(&api).unwrap();
    let unkeyed = text.replace("    key: page_size_out_of_range\n", "");
    assert_ne!(text, unkeyed, "api.yaml's keyed PARAM_ERROR row moved");
    fs::write(&api, &unkeyed).unwrap();
    assert_fails_without_writing(
        &root,
        "schema/api.yaml: brand_common_errors[6].key: the constant PARAM_ERROR is already another row's",
    );
    let bad_key = text.replace("key: page_size_out_of_range", "key: Page-Size");
    fs::write(&api, bad_key).unwrap();
    assert_fails_without_writing(&root, "\"Page-Size\" is not a key");
    fs::remove_dir_all(&root).unwrap();
}

const DEMO_PARTNER: &str = r#"source: {doc: partner.md, title: 服务商, summary: Twins.}
family:
  auth: partner
  name_prefix: Partner
  brand_path_prefix: /brand/demo
  path_prefix: /v3/partner/demo
  supported_merchants: [普通服务商]
  brand_field: {name: brand_id, type: string, required: true, min_length: 1, description: The brand., example: "120344"}
  reply_field:
    field: {name: brand_id, type: string, required: false, description: The brand.}
    types: [BrokenDemoResponse]
common_errors: []
twins:
  - {of: broken-demo, brand_field: body, pages: [4015781575], rate_limit: 20/s}
"#;

/// Runs codegen on `broken-demo.yaml` (a POST) with `partner` as `schema/partner.yaml`.
fn with_partner(name: &str, partner: &str) -> (PathBuf, Result<String, String>) {
    let demo = fs::read_to_string(broken_dir().join("bad_method.yaml"))
        .unwrap()
        .replace("method: SEND", "method: POST");
    let root = scratch_root(name, &[("broken-demo.yaml", &demo)]);
    fs::write(root.join("schema/partner.yaml"), partner).unwrap();
    let result = codegen::run(&root, Mode::Write).map(|o| format!("{} files", o.total));
    (root, result)
}

#[test]
fn partner_twins_expand_from_their_declaration_and_bad_ones_are_named() {
    let (root, result) = with_partner("partner-ok", DEMO_PARTNER);
    result.expect("a valid twin declaration");
    let twin = fs::read_to_string(
        root.join("crates/wechatpay-endpoints/src/generated/partner/partner_broken_demo.rs"),
    )
    .unwrap();
    assert!(
        twin.contains("\"/v3/partner/demo/users/{openid}/items\""),
        "{twin}"
    );
    assert!(twin.contains("brand_field: Some(\"brand_id\")"), "{twin}");
    let request = fs::read_to_string(
        root.join("crates/wechatpay-models/src/generated/partner_broken_demo_request.rs"),
    )
    .unwrap();
    assert!(request.contains("pub brand_id: String"), "{request}");
    // The reply type carries the reply field.
    let reply = fs::read_to_string(
        root.join("crates/wechatpay-models/src/generated/broken_demo_response.rs"),
    )
    .unwrap();
    assert!(reply.contains("pub brand_id: Option<String>"), "{reply}");
    fs::remove_dir_all(&root).unwrap();

    let cases: [(&str, String, &str); 6] = [
        (
            "partner-reply-type-unknown",
            DEMO_PARTNER.replace("types: [BrokenDemoResponse]", "types: [NoSuchType]"),
            "schema/partner.yaml: family.reply_field.types[0]: NoSuchType is not an object type of the schema",
        ),
        (
            "partner-reply-field-required",
            DEMO_PARTNER.replace("required: false, description: The brand.}", "required: true, description: The brand.}"),
            "schema/partner.yaml: family.reply_field.field.required: must be false",
        ),
        (
            "partner-unknown-of",
            DEMO_PARTNER.replace("of: broken-demo", "of: no-such-op"),
            "schema/partner.yaml: twins[0].of: \"no-such-op\" is not an operation of endpoints/",
        ),
        (
            "partner-query-on-post",
            DEMO_PARTNER.replace("brand_field: body", "brand_field: query"),
            "schema/partner.yaml: twins[0].brand_field: broken-demo is a POST: the field goes in the body",
        ),
        (
            "partner-bad-placement",
            DEMO_PARTNER.replace("brand_field: body", "brand_field: header"),
            "schema/partner.yaml: twins[0].brand_field: \"header\" is not body, query or none",
        ),
        (
            "partner-wrong-prefix",
            DEMO_PARTNER.replace("brand_path_prefix: /brand/demo", "brand_path_prefix: /brand/other"),
            "schema/partner.yaml: twins[0].of: broken-demo's path /brand/demo/users/{openid}/items does not start with /brand/other",
        ),
    ];
    for (name, partner, expected) in cases {
        let (root, result) = with_partner(name, &partner);
        let message = result.expect_err(name);
        assert!(
            message.contains(expected),
            "{name}: expected {expected:?} in:\n{message}"
        );
        assert!(message.ends_with("nothing was written"), "{message}");
        assert!(!root.join("crates").exists(), "{name}: files were written");
        fs::remove_dir_all(&root).unwrap();
    }
}
