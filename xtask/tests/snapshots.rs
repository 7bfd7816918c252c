//! insta snapshots of the generated code: one small fixture schema per
//! construct (tests/fixtures/<construct>/). The real schema's output is not
//! pinned here: it is checked in under crates/*/src/generated and guarded by
//! `codegen --check` (and `generated_code_is_fresh`), so no generated text is
//! pinned twice.

use std::path::Path;

use xtask::{emit, schema};

fn generate(dir: &Path) -> Vec<emit::GeneratedFile> {
    let schema = schema::load(dir).unwrap_or_else(|e| panic!("{e}"));
    emit::generate(&schema).unwrap()
}

#[test]
fn fixtures() {
    for construct in [
        "enum",
        "nested_object",
        "path_param",
        "error_table",
        "length_rule",
        "pagination",
        "multipart",
        "notifications",
        "rules",
        "follow_up",
        "partner_twin",
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
