use fastflight::prelude::*;

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
pub struct Req {}

// Every mistake is reported, not only the first.
#[data_service(fast, schema = 3)]
fn both_wrong<T>(req: &Req) -> fastflight::Result<BatchStream> {
    Ok(futures::stream::empty().boxed())
}

fn main() {}
