use fastflight::prelude::*;

#[data_service]
async fn lonely() -> fastflight::Result<BatchStream> {
    Ok(futures::stream::empty().boxed())
}

fn main() {}
