use fastflight::prelude::*;

#[derive(ArrowRow)]
pub struct Trade {
    pub id: i64,
}

#[derive(ArrowRow)]
pub struct Quote {
    pub bid: f64,
}

#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
#[flight(rows = Trade)]
pub struct Trades {}

#[data_service]
async fn trades(req: Trades) -> impl Stream<Item = Quote> {
    futures::stream::empty()
}

fn main() {}
