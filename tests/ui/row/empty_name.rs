use fastflight::prelude::*;

#[derive(ArrowRow)]
pub struct Row {
    #[arrow(rename = "")]
    pub id: i64,
}

fn main() {}
