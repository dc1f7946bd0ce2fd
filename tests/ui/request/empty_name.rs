use fastflight::prelude::*;

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(name = "  ")]
pub struct Blank {
    pub n: u32,
}

fn main() {}
