use fastflight::prelude::*;

#[derive(ArrowRow)]
pub struct Marker;

fn main() {}
