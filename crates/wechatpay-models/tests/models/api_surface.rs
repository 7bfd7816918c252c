//! trybuild pins the misuse of the models' public API that must not compile
//! (ui/fail). What must compile is the `downstream` module: a test crate is a
//! downstream crate already, and with compile-fail cases only trybuild checks
//! (`cargo check`) instead of building, which keeps its nested build short.

#[test]
fn misuse_does_not_compile() {
    trybuild::TestCases::new().compile_fail("tests/ui/fail/*.rs");
}
