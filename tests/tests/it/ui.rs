//! Compile errors of both macros, each checked against its expected message
//! (`tests/ui/**/*.stderr`), and programs that must compile.

#[test]
fn macro_errors_and_passes() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/request/*.rs");
    t.compile_fail("ui/service/*.rs");
    t.pass("ui/pass/*.rs");
}
