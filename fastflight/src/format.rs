//! Output formats of results: Arrow IPC stream, CSV, newline-delimited JSON, a text
//! table, and (feature `cli`) Parquet. One writer per result, batch by batch.

use std::io::Write;
use std::sync::{Arc, Mutex};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::Result;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[non_exhaustive]
pub enum Format {
    /// A text table, for people.
    Table,
    /// Comma-separated values with a header line.
    Csv,
    /// One JSON object per row and line (NDJSON).
    Json,
    /// An Arrow IPC stream.
    Arrow,
    /// A Parquet file (written with the `cli` or `files` feature).
    Parquet,
}

impl Format {
    /// The HTTP media type.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Table => "text/plain; charset=utf-8",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/x-ndjson",
            Format::Arrow => "application/vnd.apache.arrow.stream",
            Format::Parquet => "application/vnd.apache.parquet",
        }
    }

    /// The streaming format an HTTP `Accept` header asks for: Arrow by default and for
    /// `*/*`, CSV for `text/csv`, NDJSON for `application/x-ndjson`; `None` when it
    /// accepts none of them.
    pub fn from_accept(accept: Option<&str>) -> Option<Format> {
        let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
            return Some(Format::Arrow);
        };
        let mut any = false;
        for item in accept.split(',') {
            let mut parts = item.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            // `q=0` says "not this one".
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            if refused {
                continue;
            }
            match media.as_str() {
                "application/vnd.apache.arrow.stream" => return Some(Format::Arrow),
                "text/csv" => return Some(Format::Csv),
                "application/x-ndjson" | "application/ndjson" | "application/jsonl" => {
                    return Some(Format::Json)
                }
                "*/*" | "application/*" => any = true,
                _ => {}
            }
        }
        any.then_some(Format::Arrow)
    }
}

/// Writes the batches of one result in a format.
pub trait BatchWriter: Send {
    /// Writes one batch.
    fn write(&mut self, batch: &RecordBatch) -> Result<()>;
    /// Ends the output (Arrow's end-of-stream marker, Parquet's footer) and flushes it.
    fn finish(self: Box<Self>) -> Result<()>;
}

/// A writer for `format` whose output starts at once (Arrow's schema, CSV's header).
pub fn writer<W: Write + Send + 'static>(
    format: Format,
    schema: &SchemaRef,
    out: W,
) -> Result<Box<dyn BatchWriter>> {
    Ok(match format {
        Format::Arrow => Box::new(ArrowWriter(arrow::ipc::writer::StreamWriter::try_new(
            out, schema,
        )?)),
        Format::Csv => {
            let mut csv = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(out);
            csv.write(&RecordBatch::new_empty(SchemaRef::clone(schema)))?;
            Box::new(CsvWriter(csv))
        }
        Format::Json => Box::new(JsonWriter(
            arrow::json::WriterBuilder::new()
                .with_explicit_nulls(true)
                .build::<_, arrow::json::writer::LineDelimited>(out),
        )),
        Format::Table => Box::new(TableWriter {
            out,
            schema: SchemaRef::clone(schema),
            wrote: false,
        }),
        #[cfg(any(feature = "cli", feature = "files"))]
        Format::Parquet => Box::new(ParquetWriter(
            parquet::arrow::ArrowWriter::try_new(out, SchemaRef::clone(schema), None)
                .map_err(|e| crate::Error::Config(format!("cannot write Parquet: {e}")))?,
        )),
        #[cfg(not(any(feature = "cli", feature = "files")))]
        Format::Parquet => {
            drop(out);
            return Err(crate::Error::Config(
                "Parquet output needs fastflight's `cli` or `files` feature".into(),
            ));
        }
    })
}

struct ArrowWriter<W: Write>(arrow::ipc::writer::StreamWriter<W>);

impl<W: Write + Send> BatchWriter for ArrowWriter<W> {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        Ok(self.0.write(batch)?)
    }
    fn finish(mut self: Box<Self>) -> Result<()> {
        self.0.finish()?;
        Ok(self.0.get_mut().flush()?)
    }
}

struct CsvWriter<W: Write>(arrow::csv::Writer<W>);

impl<W: Write + Send> BatchWriter for CsvWriter<W> {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        Ok(self.0.write(batch)?)
    }
    fn finish(self: Box<Self>) -> Result<()> {
        Ok(self.0.into_inner().flush()?)
    }
}

struct JsonWriter<W: Write>(arrow::json::Writer<W, arrow::json::writer::LineDelimited>);

impl<W: Write + Send> BatchWriter for JsonWriter<W> {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        Ok(self.0.write(batch)?)
    }
    fn finish(mut self: Box<Self>) -> Result<()> {
        self.0.finish()?;
        Ok(self.0.get_mut().flush()?)
    }
}

struct TableWriter<W: Write> {
    out: W,
    schema: SchemaRef,
    wrote: bool,
}

impl<W: Write + Send> BatchWriter for TableWriter<W> {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let table = arrow::util::pretty::pretty_format_batches(std::slice::from_ref(batch))?;
        writeln!(self.out, "{table}")?;
        self.wrote = true;
        Ok(())
    }
    fn finish(mut self: Box<Self>) -> Result<()> {
        if !self.wrote {
            let empty = RecordBatch::new_empty(SchemaRef::clone(&self.schema));
            let table = arrow::util::pretty::pretty_format_batches(&[empty])?;
            writeln!(self.out, "{table}")?;
        }
        Ok(self.out.flush()?)
    }
}

#[cfg(any(feature = "cli", feature = "files"))]
struct ParquetWriter<W: Write + Send>(parquet::arrow::ArrowWriter<W>);

#[cfg(any(feature = "cli", feature = "files"))]
impl<W: Write + Send> BatchWriter for ParquetWriter<W> {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.0
            .write(batch)
            .map_err(|e| crate::Error::Config(format!("cannot write Parquet: {e}")))
    }
    fn finish(self: Box<Self>) -> Result<()> {
        self.0
            .close()
            .map(drop)
            .map_err(|e| crate::Error::Config(format!("cannot write Parquet: {e}")))
    }
}

/// A `Write` whose bytes are taken out chunk by chunk, to stream a writer's output.
#[doc(hidden)]
#[derive(Clone, Default)]
pub struct ChunkSink(Arc<Mutex<Vec<u8>>>);

impl ChunkSink {
    /// The bytes written since the last call.
    pub fn take(&self) -> bytes::Bytes {
        let mut buffer = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        bytes::Bytes::from(std::mem::take(&mut *buffer))
    }
}

impl Write for ChunkSink {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let mut buffer = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        buffer.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};

    fn batch() -> RecordBatch {
        RecordBatch::try_from_iter([
            ("id", Arc::new(Int64Array::from(vec![1, 2])) as _),
            (
                "name",
                Arc::new(StringArray::from(vec![Some("a,b"), None])) as _,
            ),
        ])
        .unwrap()
    }

    fn render(format: Format, batches: &[RecordBatch]) -> Vec<u8> {
        let sink = ChunkSink::default();
        let mut w = writer(format, &batch().schema(), sink.clone()).unwrap();
        for b in batches {
            w.write(b).unwrap();
        }
        w.finish().unwrap();
        sink.take().to_vec()
    }

    #[test]
    fn csv_has_one_header_and_quotes() {
        let text = String::from_utf8(render(Format::Csv, &[batch(), batch()])).unwrap();
        assert_eq!(text, "id,name\n1,\"a,b\"\n2,\n1,\"a,b\"\n2,\n");
        let empty = String::from_utf8(render(Format::Csv, &[])).unwrap();
        assert_eq!(empty, "id,name\n");
    }

    #[test]
    fn json_lines_keep_nulls() {
        let text = String::from_utf8(render(Format::Json, &[batch()])).unwrap();
        assert_eq!(
            text,
            "{\"id\":1,\"name\":\"a,b\"}\n{\"id\":2,\"name\":null}\n"
        );
    }

    #[test]
    fn arrow_stream_reads_back() {
        let bytes = render(Format::Arrow, &[batch(), batch()]);
        let reader = arrow::ipc::reader::StreamReader::try_new(&bytes[..], None).unwrap();
        let batches: Vec<_> = reader.map(|b| b.unwrap()).collect();
        assert_eq!(batches, [batch(), batch()]);
    }

    #[test]
    fn table_shows_an_empty_result_with_its_header() {
        let text = String::from_utf8(render(Format::Table, &[])).unwrap();
        assert!(text.contains("| id | name |"), "{text}");
    }

    #[test]
    fn accept_headers() {
        assert_eq!(Format::from_accept(None), Some(Format::Arrow));
        assert_eq!(Format::from_accept(Some("*/*")), Some(Format::Arrow));
        assert_eq!(
            Format::from_accept(Some("text/csv;q=0.9, */*")),
            Some(Format::Csv)
        );
        assert_eq!(
            Format::from_accept(Some("application/x-ndjson")),
            Some(Format::Json)
        );
        assert_eq!(Format::from_accept(Some("application/xml")), None);
        // q=0 refuses a type.
        assert_eq!(Format::from_accept(Some("text/csv;q=0")), None);
        assert_eq!(
            Format::from_accept(Some("text/csv; q=0.0, application/x-ndjson")),
            Some(Format::Json)
        );
    }

    /// Timestamps with a zone print in every text format (arrow's `chrono-tz`).
    #[test]
    fn zoned_timestamps_print_in_every_text_format() {
        use arrow::array::TimestampMicrosecondArray;
        // 2026-01-02T03:04:05Z
        let ts = TimestampMicrosecondArray::from(vec![1_767_323_045_000_000]).with_timezone("UTC");
        let zoned = RecordBatch::try_from_iter([("ts", Arc::new(ts) as _)]).unwrap();
        for format in [Format::Csv, Format::Json, Format::Table] {
            let sink = ChunkSink::default();
            let mut w = writer(format, &zoned.schema(), sink.clone()).unwrap();
            w.write(&zoned).unwrap();
            w.finish().unwrap();
            let text = String::from_utf8(sink.take().to_vec()).unwrap();
            assert!(text.contains("2026-01-02T03:04:05"), "{format:?}: {text}");
        }
    }
}
