use fastflight::prelude::*;

#[derive(FlightRequest, Serialize, Deserialize)]
#[flight(validate)]
pub struct Unchecked {
    pub n: u32,
}

fn main() {}
