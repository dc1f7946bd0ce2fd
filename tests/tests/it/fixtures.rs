//! Real files for the source tests, made fresh in a temporary directory per server:
//! a SQLite database with every storage class, CSV and Parquet files, a corrupt
//! Parquet file, and symbolic links inside and outside the root.

use std::path::PathBuf;
use std::sync::Arc;

use fastflight::arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use fastflight::sources::sqlite::rusqlite;

/// Rows of `numbers.csv` and `numbers.parquet`.
pub const FILE_ROWS: i64 = 1_000;

/// The rows of the number files: `id`, `half` = id / 2, `label` = "n{id}".
pub fn numbers(rows: i64) -> RecordBatch {
    RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int64Array::from_iter_values(0..rows)) as ArrayRef,
        ),
        (
            "half",
            Arc::new(Float64Array::from_iter_values(
                (0..rows).map(|i| i as f64 / 2.0),
            )) as ArrayRef,
        ),
        (
            "label",
            Arc::new(StringArray::from_iter_values(
                (0..rows).map(|i| format!("n{i}")),
            )) as ArrayRef,
        ),
    ])
    .unwrap()
}

/// The fixtures' root, in a folder of its own removed when the guard is dropped.
pub fn create() -> (tempfile::TempDir, PathBuf) {
    let folder = crate::support::scratch_dir("fixtures");
    let base = folder.path().to_owned();
    let root = base.join("root");
    std::fs::create_dir_all(root.join("sub")).unwrap();

    let conn = rusqlite::Connection::open(root.join("fixture.sqlite")).unwrap();
    conn.execute_batch(
        "CREATE TABLE kinds (i INTEGER, r REAL, t TEXT, b BLOB, n NUMERIC);
         INSERT INTO kinds VALUES (1, 1.5, 'one', x'0001', 10);
         INSERT INTO kinds VALUES (NULL, NULL, NULL, NULL, NULL);
         INSERT INTO kinds VALUES (-3, 2.0, 'třetí', x'ff', 2.5);
         CREATE TABLE people (name TEXT NOT NULL, secret TEXT NOT NULL);
         INSERT INTO people VALUES ('ada', 's1'), ('grace', 's2');
         CREATE TABLE mixed (v INTEGER);
         INSERT INTO mixed VALUES (1), (2), ('not a number'), (4);
         CREATE TABLE ten (x INTEGER);
         WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s LIMIT 10) INSERT INTO ten SELECT x FROM s;",
    )
    .unwrap();
    drop(conn);

    let batch = numbers(FILE_ROWS);
    let mut csv = fastflight::arrow::csv::WriterBuilder::new()
        .with_header(true)
        .build(std::fs::File::create(root.join("numbers.csv")).unwrap());
    csv.write(&batch).unwrap();
    let mut csv = fastflight::arrow::csv::WriterBuilder::new()
        .with_header(true)
        .build(std::fs::File::create(root.join("sub/empty.csv")).unwrap());
    csv.write(&numbers(0)).unwrap();
    let file = std::fs::File::create(root.join("numbers.parquet")).unwrap();
    let props = fastflight::parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(300))
        .build();
    let mut parquet =
        fastflight::parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(props))
            .unwrap();
    parquet.write(&batch).unwrap();
    parquet.close().unwrap();
    std::fs::write(
        root.join("corrupt.parquet"),
        b"PAR1 this is not really a parquet file PAR1",
    )
    .unwrap();

    // A file outside the root, and links to it and to a file inside.
    std::fs::write(base.join("secret.csv"), "secret\nhunter2\n").unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(base.join("secret.csv"), root.join("link_out.csv")).unwrap();
        // Links inside the root are followed when relative (an absolute one is refused,
        // wherever it points: the root may be moved).
        std::os::unix::fs::symlink("../numbers.csv", root.join("sub/link_in.csv")).unwrap();
        std::os::unix::fs::symlink(root.join("numbers.csv"), root.join("sub/link_abs.csv"))
            .unwrap();
    }
    (folder, root)
}
