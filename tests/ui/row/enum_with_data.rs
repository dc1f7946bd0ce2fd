use fastflight::prelude::*;

#[derive(ArrowRow)]
pub enum Order {
    Market,
    Limit(f64),
}

fn main() {}
