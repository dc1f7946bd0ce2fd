use fastflight::prelude::*;

#[derive(ArrowRow)]
pub struct Row {
    #[arrow(dictionary, unit = "ms")]
    pub name: String,
}

fn main() {}
