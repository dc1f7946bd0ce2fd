use fastflight::prelude::*;

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
pub struct Req {}

fn maybe(_who: &Identity, _req: &Req) -> Option<String> {
    None
}

#[data_service(authorize = maybe)]
async fn guarded(_req: Req) -> fastflight::Result<BatchStream> {
    Ok(futures::stream::empty().boxed())
}

fn main() {}
