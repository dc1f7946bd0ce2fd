use fastflight::prelude::*;

#[derive(ArrowRow)]
#[arrow(rename = "rows")]
pub struct Row {
    pub id: i64,
}

fn main() {}
