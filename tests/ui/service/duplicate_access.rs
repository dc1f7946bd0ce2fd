use fastflight::prelude::*;

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
pub struct Req {}

fn open(_who: &Identity, _req: &Req) -> bool {
    true
}

#[data_service(roles = ["a"], roles = ["b"], authorize = open, authorize = open)]
async fn twice(_req: Req) -> fastflight::Result<BatchStream> {
    Ok(futures::stream::empty().boxed())
}

fn main() {}
