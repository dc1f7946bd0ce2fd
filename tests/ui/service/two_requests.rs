use fastflight::prelude::*;

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
pub struct A {}
#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
pub struct B {}

#[data_service]
async fn both(a: A, b: B) -> fastflight::Result<BatchStream> {
    Ok(futures::stream::empty().boxed())
}

fn main() {}
