use fastflight::prelude::*;

#[derive(ArrowRow)]
pub struct Row {
    pub id: i64,
    #[arrow(skip, rename = "x")]
    pub cache: u8,
}

fn main() {}
