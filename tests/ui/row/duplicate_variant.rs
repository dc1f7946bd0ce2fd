use fastflight::prelude::*;

#[derive(ArrowRow)]
pub enum Side {
    Buy,
    #[arrow(rename = "Buy")]
    Purchase,
}

fn main() {}
