use fastflight::prelude::*;

#[derive(ArrowRow)]
#[arrow(rename_all = "Title Case")]
pub struct Row {
    pub id: i64,
}

fn main() {}
