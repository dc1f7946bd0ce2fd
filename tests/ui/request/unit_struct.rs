use fastflight::prelude::*;

#[derive(FlightRequest, Serialize, Deserialize)]
pub struct Unit;

fn main() {}
