use fastflight::prelude::*;

#[derive(ArrowRow)]
pub struct Row {
    #[arrow(dictionary)]
    pub id: i64,
}

fn main() {}
