use fastflight::prelude::*;

#[derive(FlightRequest, Serialize, Deserialize)]
pub enum Choice {
    A,
    B,
}

fn main() {}
