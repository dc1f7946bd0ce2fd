use fastflight::prelude::*;

#[derive(ArrowRow)]
pub struct Row {
    #[arrow(unit = "minutes")]
    pub at: i64,
}

fn main() {}
