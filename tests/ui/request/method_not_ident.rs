use fastflight::prelude::*;

#[derive(FlightRequest, Serialize, Deserialize)]
#[flight(method = "list orders")]
pub struct Orders {}

fn main() {}
