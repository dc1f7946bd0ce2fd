use fastflight::prelude::*;

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(name = 42)]
pub struct Numbered {
    pub n: u32,
}

fn main() {}
