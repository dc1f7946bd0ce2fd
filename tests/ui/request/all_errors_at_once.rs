use fastflight::prelude::*;

// Every mistake is reported, not only the first.
#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(name = "", colour = "blue", method = "fetch")]
pub struct Orders {}

fn main() {}
