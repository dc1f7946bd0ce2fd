use fastflight::prelude::*;

#[derive(ArrowRow)]
pub struct Row {
    pub id: i64,
    pub lookup: std::collections::HashMap<String, i64>,
}

fn main() {}
