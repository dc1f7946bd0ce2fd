use fastflight::prelude::*;

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
pub struct A {}

#[data_service(partitions = "by_day")]
async fn a(_req: A) -> fastflight::Result<BatchStream> {
    Ok(futures::stream::empty().boxed())
}

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
pub struct B {}

#[data_service(ordered)]
async fn b(_req: B) -> fastflight::Result<BatchStream> {
    Ok(futures::stream::empty().boxed())
}

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
pub struct C {}

fn halves(_req: &C) -> Vec<C> {
    Vec::new()
}

#[data_service(partitions = halves, partitions = halves, ordered, ordered)]
async fn c(_req: C) -> fastflight::Result<BatchStream> {
    Ok(futures::stream::empty().boxed())
}

fn main() {}
