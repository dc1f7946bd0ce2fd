use fastflight::prelude::*;

pub struct Plain {
    pub n: u32,
}

#[data_service]
async fn plain(req: Plain) -> fastflight::Result<BatchStream> {
    Ok(futures::stream::empty().boxed())
}

fn main() {}
