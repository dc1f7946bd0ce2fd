use fastflight::prelude::*;

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
pub struct Req {}

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
pub struct Other {}

fn for_other(_who: &Identity, _req: &Other) -> bool {
    true
}

#[data_service(authorize = for_other)]
async fn guarded(_req: Req) -> fastflight::Result<BatchStream> {
    Ok(futures::stream::empty().boxed())
}

fn main() {}
