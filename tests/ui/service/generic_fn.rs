use fastflight::prelude::*;

#[data_service]
async fn any<R: FlightRequest>(req: R) -> fastflight::Result<BatchStream> {
    Ok(futures::stream::empty().boxed())
}

fn main() {}
