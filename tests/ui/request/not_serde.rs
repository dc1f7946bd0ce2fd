use fastflight::prelude::*;

#[derive(FlightRequest, JsonSchema)]
pub struct NotSerde {
    pub n: u32,
}

fn main() {}
