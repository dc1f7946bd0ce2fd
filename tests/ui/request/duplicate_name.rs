use fastflight::prelude::*;

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(name = "a.One", name = "a.Two")]
pub struct Twice {
    pub n: u32,
}

fn main() {}
