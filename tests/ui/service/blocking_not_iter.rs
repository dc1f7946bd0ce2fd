use fastflight::prelude::*;

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
pub struct Req {}

#[data_service(blocking)]
fn number(req: Req) -> u64 {
    7
}

fn main() {}
