use fastflight::prelude::*;

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(method = "list orders")]
pub struct Orders {}

fn main() {}
