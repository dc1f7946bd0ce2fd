use fastflight::prelude::*;

#[derive(ArrowRow)]
pub struct Row {
    #[arrow(with = Upper, dictionary)]
    pub name: String,
}

fn main() {}
