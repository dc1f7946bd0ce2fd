use fastflight::prelude::*;

// The stub would be `client.fetch(...)`, hidden behind `Client::fetch`.
#[derive(FlightRequest, Serialize, Deserialize)]
pub struct Fetch {}

#[derive(FlightRequest, Serialize, Deserialize)]
#[flight(method = "connect")]
pub struct Orders {}

fn main() {}
