use fastflight::prelude::*;

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
pub enum Choice {
    A,
    B,
}

fn main() {}
