use fastflight::prelude::*;

#[derive(ArrowRow)]
pub enum Nothing {}

fn main() {}
