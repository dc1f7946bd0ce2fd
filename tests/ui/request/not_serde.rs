use fastflight::FlightRequest;

#[derive(FlightRequest)]
pub struct NotSerde {
    pub n: u32,
}

fn main() {}
