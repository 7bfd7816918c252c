//! trybuild pins the models' public API against this crate alone (no
//! endpoints, no HTTP): what a downstream crate must be able to write
//! (ui/pass) and the misuse that must not compile (ui/fail).

#[test]
fn public_api() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
