use fastflight::prelude::*;

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
pub struct Req {
    pub days: u32,
}

fn by_day(req: &Req) -> Vec<u32> {
    (0..req.days).collect()
}

#[data_service(partitions = by_day)]
async fn spread(_req: Req) -> fastflight::Result<BatchStream> {
    Ok(futures::stream::empty().boxed())
}

fn main() {}
