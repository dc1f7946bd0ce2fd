use fastflight::prelude::*;

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(validate = check)]
pub struct Checked {
    pub n: u32,
}

fn check(n: u32) -> bool {
    n > 0
}

fn main() {}
