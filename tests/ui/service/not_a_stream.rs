use fastflight::prelude::*;

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
pub struct Req {}

#[data_service]
async fn number(req: Req) -> Result<u64, String> {
    Ok(7)
}

fn main() {}
