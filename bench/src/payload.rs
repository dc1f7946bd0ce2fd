//! The benchmark payload: `id: int64, value: float64, name: utf8` (16 chars), in
//! batches of 65,536 rows, built in memory before any timing.

use std::sync::Arc;

use fastflight::arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringBuilder};
use fastflight::arrow::datatypes::{DataType, Field, Schema, SchemaRef};

pub const BATCH_ROWS: usize = 65_536;

pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("value", DataType::Float64, false),
        Field::new("name", DataType::Utf8, false),
    ]))
}

/// Rows `start..start + len`, the same numbers as the pyarrow server makes.
pub fn batch(start: u64, len: usize) -> RecordBatch {
    let ids = Int64Array::from_iter_values((start..start + len as u64).map(|i| i as i64));
    let values = Float64Array::from_iter_values(
        (start..start + len as u64).map(|i| ((i * 2_654_435_761) % 1_000_003) as f64 / 1_000_003.0),
    );
    let mut names = StringBuilder::with_capacity(len, len * 16);
    for i in start..start + len as u64 {
        names.append_value(format!("row-{i:012}"));
    }
    RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(ids) as ArrayRef,
            Arc::new(values),
            Arc::new(names.finish()),
        ],
    )
    .expect("payload columns match the schema")
}

/// The whole payload of `rows` rows.
pub fn build(rows: usize) -> Vec<RecordBatch> {
    (0..rows)
        .step_by(BATCH_ROWS)
        .map(|start| batch(start as u64, BATCH_ROWS.min(rows - start)))
        .collect()
}

/// The size of the payload as one Arrow IPC stream: the bytes every system moves.
pub fn ipc_bytes(batches: &[RecordBatch]) -> u64 {
    let mut buffer = Vec::new();
    {
        let mut writer =
            fastflight::arrow::ipc::writer::StreamWriter::try_new(&mut buffer, &schema())
                .expect("IPC writer");
        for batch in batches {
            writer.write(batch).expect("IPC write");
        }
        writer.finish().expect("IPC finish");
    }
    buffer.len() as u64
}
