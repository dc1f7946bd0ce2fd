use fastflight::prelude::*;

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
pub struct Req {}

pub struct Holder;

impl Holder {
    #[data_service]
    async fn associated(_req: Req) -> fastflight::Result<BatchStream> {
        Ok(futures::stream::empty().boxed())
    }
}

fn main() {}
