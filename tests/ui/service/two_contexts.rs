use fastflight::prelude::*;

#[derive(FlightRequest, Serialize, Deserialize)]
pub struct Req {}

#[data_service]
async fn twice(req: Req, a: Context, b: Context) -> fastflight::Result<BatchStream> {
    Ok(futures::stream::empty().boxed())
}

fn main() {}
