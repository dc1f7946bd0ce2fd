use fastflight::prelude::*;

#[derive(FlightRequest, Serialize, Deserialize)]
pub struct Tuple(u32, String);

fn main() {}
