use fastflight::prelude::*;

#[derive(ArrowRow)]
pub struct Row {
    #[arrow(skip)]
    pub cache: u8,
}

fn main() {}
