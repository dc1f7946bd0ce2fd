use fastflight::prelude::*;

#[derive(ArrowRow)]
pub struct Row {
    #[arrow(rename = "a", rename = "b")]
    pub id: i64,
}

fn main() {}
