use fastflight::prelude::*;

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
pub struct Req {}

#[data_service]
async fn first(req: Req) -> fastflight::Result<BatchStream> {
    Ok(futures::stream::empty().boxed())
}

#[data_service]
async fn second(req: Req) -> fastflight::Result<BatchStream> {
    Ok(futures::stream::empty().boxed())
}

fn main() {}
