use fastflight::prelude::*;

#[derive(ArrowRow)]
pub struct Row {
    #[arrow(scale = 2)]
    pub price: f64,
    #[arrow(scale = 40)]
    pub other: f64,
}

fn main() {}
