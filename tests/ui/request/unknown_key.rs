use fastflight::prelude::*;

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(nmae = "demo.Typo")]
pub struct Typo {
    pub n: u32,
}

fn main() {}
