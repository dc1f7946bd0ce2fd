use fastflight::prelude::*;

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
pub struct Req {}

pub struct Pool(std::rc::Rc<u8>);

#[data_service]
async fn stateful(req: Req, pool: State<Pool>) -> fastflight::Result<BatchStream> {
    Ok(futures::stream::empty().boxed())
}

fn main() {}
