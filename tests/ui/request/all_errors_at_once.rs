use fastflight::prelude::*;

// Every mistake is reported, not only the first.
#[derive(FlightRequest, Serialize, Deserialize)]
#[flight(name = "", colour = "blue", method = "fetch")]
pub struct Orders {}

fn main() {}
