use fastflight::prelude::*;

// The listing's JSON Schema comes from the type: it must derive JsonSchema too.
#[derive(FlightRequest, Serialize, Deserialize)]
pub struct Orders {
    pub customer: String,
}

fn main() {}
