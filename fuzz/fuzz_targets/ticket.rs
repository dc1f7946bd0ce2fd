//! The ticket decoder under arbitrary bytes: it never panics, and every outcome is a
//! refusal with InvalidArgument or NotFound, or a valid request (the same property
//! `cargo test` checks with proptest in `fastflight/src/ticket.rs`).
#![no_main]

use fastflight::prelude::*;
use libfuzzer_sys::fuzz_target;

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(name = "fuzz.Probe", validate = Probe::check)]
pub struct Probe {
    pub rows: u64,
    pub label: Option<String>,
    pub tags: Vec<String>,
}

impl Probe {
    fn check(&self) -> Result<(), String> {
        if self.rows == 13 {
            Err("field `rows` must not be 13".into())
        } else {
            Ok(())
        }
    }
}

fuzz_target!(|bytes: &[u8]| {
    let outcome = fastflight::ticket::decode(bytes).and_then(|raw| {
        if raw.param_type != Probe::NAME {
            return Err(fastflight::Error::status(
                fastflight::tonic::Code::NotFound,
                "unknown",
            ));
        }
        fastflight::ticket::into_request::<Probe>(raw.fields)
    });
    match outcome {
        Ok(probe) => assert_ne!(probe.rows, 13),
        Err(e) => assert!(matches!(
            e.code(),
            fastflight::tonic::Code::InvalidArgument | fastflight::tonic::Code::NotFound
        )),
    }
});
