use fastflight::prelude::*;

#[derive(ArrowRow)]
pub struct Row {
    pub id: i64,
    #[arrow(rename = "id")]
    pub other_id: i64,
}

fn main() {}
