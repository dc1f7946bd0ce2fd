//! # fastflight
//!
//! Typed Apache Arrow Flight data services. Write request structs and functions
//! that return a stream of [`RecordBatch`](arrow::record_batch::RecordBatch)es; two
//! macros turn them into a Flight server, a typed client and a command line.
//!
//! ```
//! use fastflight::prelude::*;
//! use fastflight::arrow::array::{Int64Array, RecordBatch};
//! use std::sync::Arc;
//!
//! /// The request: its JSON form is the Flight ticket.
//! #[derive(FlightRequest, Serialize, Deserialize)]
//! #[flight(name = "example.Squares")]
//! pub struct Squares {
//!     pub n: i64,
//! }
//!
//! /// The service: one column of squares, in one batch.
//! #[data_service]
//! async fn squares(req: Squares) -> fastflight::Result<BatchStream> {
//!     let values = Int64Array::from_iter_values((0..req.n).map(|i| i * i));
//!     let batch = RecordBatch::try_from_iter([("square", Arc::new(values) as _)])?;
//!     Ok(futures::stream::iter([Ok(batch)]).boxed())
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> fastflight::Result<()> {
//! // Serve every #[data_service] of this binary on a free port ...
//! let server = fastflight::Server::builder().location("grpc://127.0.0.1:0").bind().await?;
//! let location = server.location();
//! tokio::spawn(server.serve());
//!
//! // ... and call it with the typed stub the macro wrote.
//! let client = fastflight::Client::connect(&location).await?;
//! let batch = client.squares(Squares { n: 4 }).await?.concat().await?;
//! assert_eq!(batch.num_rows(), 4);
//! # Ok(()) }
//! ```
//!
//! The crate's parts, along the path of one request:
//! [`ticket`] (the wire format) → [`registry`] (lookup, deserialise, validate) →
//! a service ([`service`]) → [`Server`] (Flight encoding) → [`Client`] /
//! [`blocking::Client`].

#![warn(missing_docs)]

pub mod blocking;
pub mod client;
pub mod error;
mod location;
pub mod registry;
pub mod request;
pub mod server;
pub mod service;
pub mod ticket;

#[cfg(feature = "cli")]
pub mod cli;

pub use arrow;
pub use arrow_flight;
pub use tonic;

pub use client::{Client, RecordBatchStream};
pub use error::{BoxError, Error, Result};
pub use request::{FieldInfo, FlightRequest, Validate};
pub use server::{BoundServer, Server, ServerBuilder};
pub use service::{BatchIter, BatchStream, Context, State};

pub use fastflight_macros::{data_service, FlightRequest};

/// What a service module needs: the macros, their traits, and stream helpers.
pub mod prelude {
    pub use crate::{data_service, BatchIter, BatchStream, Context, FlightRequest, State};
    pub use futures::{Stream, StreamExt, TryStreamExt};
    pub use serde::{Deserialize, Serialize};
}

/// Paths used by the code the macros write; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::client::FetchRequest;
    pub use crate::registry::ServiceEntry;
    pub use crate::request::{FieldInfo, FlightRequest, Validate};
    pub use crate::service::{
        run_blocking, BatchIter, BatchStream, Context, IntoBatchIter, IntoBatchStream, State,
        States,
    };
    pub use crate::{BoxError, Error, Result};
    pub use arrow::datatypes::SchemaRef;
    pub use core::any::TypeId;
    pub use futures::future::BoxFuture;
    pub use inventory;
    pub use serde;
    pub use serde_json::{Map, Value};

    /// Deserialises and validates a request.
    pub fn prepare<R: FlightRequest>(fields: Map<String, Value>) -> Result<R> {
        crate::ticket::into_request(fields)
    }

    /// A state value for a service.
    pub fn state<T: Send + Sync + 'static>(states: &States) -> Result<State<T>> {
        states.get::<T>()
    }

    /// A service's plain stream.
    pub fn stream_of<S: IntoBatchStream>(service: &'static str, s: S) -> Result<BatchStream> {
        Ok(s.into_batch_stream(service))
    }

    /// A service's `Result` of a stream.
    pub fn stream_of_result<S: IntoBatchStream, E: Into<BoxError>>(
        service: &'static str,
        r: core::result::Result<S, E>,
    ) -> Result<BatchStream> {
        r.map(|s| s.into_batch_stream(service))
            .map_err(|e| Error::service(service, e))
    }

    /// A blocking service's plain iterator.
    pub fn iter_of<I: IntoBatchIter>(service: &'static str, i: I) -> Result<BatchIter> {
        Ok(i.into_batch_iter(service))
    }

    /// A blocking service's `Result` of an iterator.
    pub fn iter_of_result<I: IntoBatchIter, E: Into<BoxError>>(
        service: &'static str,
        r: core::result::Result<I, E>,
    ) -> Result<BatchIter> {
        r.map(|i| i.into_batch_iter(service))
            .map_err(|e| Error::service(service, e))
    }

    /// Boxes a service's future.
    pub fn boxed<F>(f: F) -> BoxFuture<'static, Result<BatchStream>>
    where
        F: core::future::Future<Output = Result<BatchStream>> + Send + 'static,
    {
        Box::pin(f)
    }

    /// Boxes a blocking service's stream as a ready future.
    pub fn ready(s: BatchStream) -> BoxFuture<'static, Result<BatchStream>> {
        Box::pin(core::future::ready(Ok(s)))
    }
}
