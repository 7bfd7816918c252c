//! insta snapshots of the generated code: the real schema, file by file, and
//! one small fixture schema per construct (tests/fixtures/<construct>/).

use std::path::Path;

use xtask::{emit, schema};

fn generate(dir: &Path) -> Vec<emit::GeneratedFile> {
    let schema = schema::load(dir).unwrap_or_else(|e| panic!("{e}"));
    emit::generate(&schema).unwrap()
}

fn snapshot_name(path: &str) -> String {
    path.trim_start_matches("crates/")
        .replace("/src/generated/", "__")
        .replace(['/', '.'], "_")
}

#[test]
fn real_schema() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for file in generate(&root.join("schema")) {
        insta::assert_snapshot!(
            format!("real__{}", snapshot_name(&file.path)),
            file.contents
        );
    }
}

#[test]
fn fixtures() {
    for construct in [
        "enum",
        "nested_object",
        "path_param",
        "error_table",
        "length_rule",
    ] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(construct);
        let all: String = generate(&dir)
            .iter()
            .map(|f| format!("==> {} <==\n{}\n", f.path, f.contents))
            .collect();
        insta::assert_snapshot!(format!("fixture__{construct}"), all);
    }
}

#[test]
fn generation_is_deterministic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    assert_eq!(
        generate(&root.join("schema")),
        generate(&root.join("schema"))
    );
}
