use fastflight::prelude::*;

#[derive(FlightRequest, Serialize, Deserialize)]
pub struct Req {}

#[data_service]
async fn stateful(req: Req, pool: State) -> fastflight::Result<BatchStream> {
    Ok(futures::stream::empty().boxed())
}

fn main() {}
