use fastflight::prelude::*;

#[derive(FlightRequest, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
}

fn main() {}
