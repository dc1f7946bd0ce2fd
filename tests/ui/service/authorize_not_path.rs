use fastflight::prelude::*;

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
pub struct Req {}

#[data_service(authorize = |who, req| true)]
async fn guarded(_req: Req) -> fastflight::Result<BatchStream> {
    Ok(futures::stream::empty().boxed())
}

fn main() {}
