//! A blocking client for code without an async runtime, like `reqwest::blocking`.
//!
//! ```no_run
//! # use fastflight::prelude::*;
//! # #[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
//! # pub struct Numbers { pub n: u64 }
//! let client = fastflight::blocking::Client::connect("grpc://127.0.0.1:8815")?;
//! for batch in client.fetch(Numbers { n: 10 })? {
//!     println!("{} rows", batch?.num_rows());
//! }
//! # Ok::<(), fastflight::Error>(())
//! ```

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use futures::StreamExt;

use crate::listing::ServiceInfo;
use crate::request::{FetchRequest, FetchRows};
use crate::rows::ArrowRow;
use crate::{Error, FlightRequest, Result};

/// The blocking client: the async [`crate::Client`] driven by a runtime of its own.
///
/// Do not call it from inside an async runtime; use [`crate::Client`] there.
#[derive(Clone)]
pub struct Client {
    runtime: Arc<tokio::runtime::Runtime>,
    inner: crate::Client,
}

impl Client {
    /// Connects to `grpc://host:port` (or `grpc+tls://`, trusting the public roots).
    pub fn connect(location: &str) -> Result<Self> {
        Self::connect_with(crate::Client::builder(location))
    }

    /// Connects with options: TLS, credentials (see [`crate::Client::builder`]).
    ///
    /// ```no_run
    /// # fn run() -> fastflight::Result<()> {
    /// let client = fastflight::blocking::Client::connect_with(
    ///     fastflight::Client::builder("grpc+tls://127.0.0.1:8815")
    ///         .tls(fastflight::tls::ClientTls::new().ca_file("ca.pem")?)
    ///         .basic("ada", "s3cret"),
    /// )?;
    /// # Ok(()) }
    /// ```
    pub fn connect_with(builder: super::ClientBuilder) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(Error::Io)?;
        let inner = runtime.block_on(builder.connect())?;
        Ok(Self {
            runtime: Arc::new(runtime),
            inner,
        })
    }

    /// Sends `authorization: Bearer <token>` with every call (see
    /// [`crate::Client::with_bearer`]).
    pub fn with_bearer(mut self, token: &str) -> Result<Self> {
        self.inner = self.inner.with_bearer(token)?;
        Ok(self)
    }

    /// Trades `user` and `password` for a token with the Handshake, renewed before it
    /// expires (see [`crate::Client::authenticate_basic`]).
    pub fn authenticate_basic(mut self, user: &str, password: &str) -> Result<Self> {
        self.inner = self
            .runtime
            .block_on(self.inner.authenticate_basic(user, password))?;
        Ok(self)
    }

    /// Sends a header with every call of this client (see
    /// [`crate::Client::with_header`]); for one call, use a clone.
    pub fn with_header(mut self, name: &str, value: &str) -> Result<Self> {
        self.inner = self.inner.with_header(name, value)?;
        Ok(self)
    }

    /// Gives every call of this client a deadline (see [`crate::Client::with_timeout`]).
    pub fn with_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.inner = self.inner.with_timeout(timeout);
        self
    }

    /// Fetches a typed request; the iterator yields batches as they arrive.
    pub fn fetch<R: FlightRequest>(&self, request: R) -> Result<RecordBatchIter> {
        let stream = self.runtime.block_on(self.inner.fetch(request))?;
        Ok(self.iter(stream))
    }

    /// Fetches raw ticket bytes.
    pub fn fetch_ticket(&self, ticket: impl Into<Bytes>) -> Result<RecordBatchIter> {
        let stream = self.runtime.block_on(self.inner.fetch_ticket(ticket))?;
        Ok(self.iter(stream))
    }

    /// The result of a SQL statement (see [`crate::Client::sql`]).
    pub fn sql(&self, statement: &str) -> Result<RecordBatchIter> {
        let stream = self.runtime.block_on(self.inner.sql(statement))?;
        Ok(self.iter(stream))
    }

    /// The services the server offers.
    pub fn list_services(&self) -> Result<Vec<ServiceInfo>> {
        self.runtime.block_on(self.inner.list_services())
    }

    fn iter(&self, stream: crate::RecordBatchStream) -> RecordBatchIter {
        RecordBatchIter {
            runtime: Arc::clone(&self.runtime),
            stream,
        }
    }
}

/// The batches of one result, as an iterator.
pub struct RecordBatchIter {
    runtime: Arc<tokio::runtime::Runtime>,
    stream: crate::RecordBatchStream,
}

impl RecordBatchIter {
    /// The schema of every batch.
    pub fn schema(&self) -> SchemaRef {
        self.stream.schema()
    }

    /// All batches, in order.
    pub fn collect_batches(self) -> Result<Vec<RecordBatch>> {
        self.collect()
    }

    /// All batches concatenated into one.
    pub fn concat(self) -> Result<RecordBatch> {
        let schema = self.schema();
        let batches: Vec<RecordBatch> = self.collect::<Result<_>>()?;
        Ok(arrow::compute::concat_batches(&schema, &batches)?)
    }
}

impl Iterator for RecordBatchIter {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        self.runtime.block_on(self.stream.next())
    }
}

impl RecordBatchIter {
    /// The result read as rows `T`, its schema checked against `T`'s first
    /// ([`crate::RecordBatchStream::rows`]).
    pub fn rows<T: ArrowRow>(self) -> Result<RowIter<T>> {
        Ok(RowIter {
            runtime: self.runtime,
            rows: self.stream.rows::<T>()?,
        })
    }
}

/// The rows of one result, as an iterator of `Result<T>`.
pub struct RowIter<T: ArrowRow> {
    runtime: Arc<tokio::runtime::Runtime>,
    rows: crate::RowStream<T>,
}

impl<T: ArrowRow> std::fmt::Debug for RowIter<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowIter").field("rows", &self.rows).finish()
    }
}

impl<T: ArrowRow> RowIter<T> {
    /// The result's schema (as the server sent it).
    pub fn schema(&self) -> SchemaRef {
        self.rows.schema()
    }

    /// Every row, in order.
    pub fn collect_vec(self) -> Result<Vec<T>> {
        self.collect()
    }
}

impl<T: ArrowRow> Iterator for RowIter<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Self::Item> {
        self.runtime.block_on(self.rows.next())
    }
}

impl FetchRows for Client {
    type Rows<T: ArrowRow> = Result<RowIter<T>>;

    fn fetch_rows<R: FlightRequest, T: ArrowRow>(&self, request: R) -> Self::Rows<T> {
        self.fetch(request)?.rows::<T>()
    }
}

impl FetchRequest for Client {
    type Output = Result<RecordBatchIter>;

    fn fetch_request<R: FlightRequest>(&self, request: R) -> Self::Output {
        self.fetch(request)
    }
}
