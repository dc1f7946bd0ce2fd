//! The ticket decoder's property under arbitrary bytes: it never panics, and every
//! outcome is a refusal with InvalidArgument or NotFound, or a valid request. The fuzz
//! target `ticket` runs it under libFuzzer; the integration tests compile it and run it
//! over a corpus of their own, so it is built on every CI run.

use fastflight::prelude::*;

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

/// Decodes `bytes` as a ticket of [`Probe`] and checks the outcome.
pub fn check(bytes: &[u8]) {
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
}
