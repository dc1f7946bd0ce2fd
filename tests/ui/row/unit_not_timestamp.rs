use fastflight::prelude::*;

#[derive(ArrowRow)]
pub struct Row {
    #[arrow(unit = "ns")]
    pub day: chrono::NaiveDate,
}

fn main() {}
