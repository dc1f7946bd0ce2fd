//! The SQL planner under arbitrary text (`../harness/sql.rs` holds the property, which
//! the integration tests also run).
#![no_main]

#[path = "../harness/sql.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| harness::check(bytes));
