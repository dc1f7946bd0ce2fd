//! Compile errors of both macros, each checked against its expected message
//! (`request/*.stderr`, `service/*.stderr`, `row/*.stderr`). Only compile errors here: trybuild then
//! checks its second build of the dependencies instead of compiling them, which keeps
//! a cold `cargo test` short. Programs that must compile and run are modules of the
//! integration tests (`tests/tests/it/{hygiene,three_shapes,extractors}.rs`).
//!
//! The messages are the compiler's (made with rustc 1.95); after a compiler upgrade,
//! check that only the wording changed, then `TRYBUILD=overwrite cargo test -p fastflight-ui-tests`.

#[test]
fn macro_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("request/*.rs");
    t.compile_fail("service/*.rs");
    t.compile_fail("row/*.rs");
}
