use fastflight::prelude::*;

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(validate)]
pub struct Unchecked {
    pub n: u32,
}

fn main() {}
