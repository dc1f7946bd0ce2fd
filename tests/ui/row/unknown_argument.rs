use fastflight::prelude::*;

#[derive(ArrowRow)]
pub struct Row {
    #[arrow(nullable)]
    pub id: i64,
}

fn main() {}
