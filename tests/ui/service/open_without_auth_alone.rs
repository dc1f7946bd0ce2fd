use fastflight::prelude::*;

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
pub struct Req {}

#[data_service(open_without_auth)]
async fn open(_req: Req) -> fastflight::Result<BatchStream> {
    Ok(futures::stream::empty().boxed())
}

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
pub struct Other {}

#[data_service(roles = ["sql"], open_without_auth, open_without_auth)]
async fn twice(_req: Other) -> fastflight::Result<BatchStream> {
    Ok(futures::stream::empty().boxed())
}

fn main() {}
