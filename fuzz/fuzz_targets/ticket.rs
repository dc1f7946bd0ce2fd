//! The ticket decoder under arbitrary bytes (`../harness/ticket.rs` holds the property,
//! which the integration tests also run).
#![no_main]

#[path = "../harness/ticket.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| harness::check(bytes));
