use fastflight::prelude::*;

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
pub struct Req {}

#[data_service(blocking)]
async fn confused(req: Req) -> Vec<fastflight::Result<fastflight::arrow::array::RecordBatch>> {
    Vec::new()
}

fn main() {}
