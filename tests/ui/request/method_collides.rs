use fastflight::prelude::*;

// The stub would be `client.fetch(...)`, hidden behind `Client::fetch`.
#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
pub struct Fetch {}

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(method = "connect")]
pub struct Orders {}

fn main() {}
