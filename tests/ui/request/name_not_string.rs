use fastflight::prelude::*;

#[derive(FlightRequest, Serialize, Deserialize)]
#[flight(name = 42)]
pub struct Numbered {
    pub n: u32,
}

fn main() {}
