use fastflight::prelude::*;

#[derive(ArrowRow)]
pub struct Wrapped<T> {
    pub value: T,
}

fn main() {}
