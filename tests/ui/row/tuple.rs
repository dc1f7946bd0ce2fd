use fastflight::prelude::*;

#[derive(ArrowRow)]
pub struct Pair(i64, i64);

fn main() {}
