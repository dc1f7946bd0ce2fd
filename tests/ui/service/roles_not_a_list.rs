use fastflight::prelude::*;

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
pub struct A {}

#[data_service(roles = "analyst")]
async fn a(_req: A) -> fastflight::Result<BatchStream> {
    Ok(futures::stream::empty().boxed())
}

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
pub struct B {}

#[data_service(roles = [])]
async fn b(_req: B) -> fastflight::Result<BatchStream> {
    Ok(futures::stream::empty().boxed())
}

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
pub struct C {}

#[data_service(roles = ["analyst", 7])]
async fn c(_req: C) -> fastflight::Result<BatchStream> {
    Ok(futures::stream::empty().boxed())
}

fn main() {}
