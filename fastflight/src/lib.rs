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
pub mod format;
pub mod json_schema;
mod location;
pub mod registry;
pub mod request;
pub mod server;
pub mod service;
mod socket;
pub mod sources;
mod stream_log;
pub mod ticket;

#[cfg(feature = "rest")]
pub mod rest;

#[cfg(feature = "cli")]
pub mod cli;

pub use arrow;
pub use arrow_flight;
pub use tonic;

#[cfg(any(feature = "files", feature = "cli"))]
pub use parquet;

pub use client::{Client, RecordBatchStream};
pub use error::{BoxError, Error, Result};
pub use request::{FieldInfo, FlightRequest, Validate};
pub use server::{BoundServer, Server, ServerBuilder};
pub use service::{BatchIter, BatchStream, Context, State};

/// Derives [`FlightRequest`](trait@FlightRequest) for a serde struct with named fields.
///
/// - `#[flight(name = "pkg.Name")]` fixes the registered name (the ticket's
///   `param_type`); without it the name is the Rust path of the type
///   (`my_api::requests::Prices`).
/// - `#[flight(validate = path::to::fn)]` runs `fn(&Self) -> Result<(), E: Display>`
///   after decoding; `#[flight(validate)]` runs the type's [`Validate`] impl.
///   A refusal reaches the client as `InvalidArgument` with the message.
/// - Field listings honour `#[serde(rename, rename_all, default, skip)]`; a field is
///   optional when it is an `Option` or has a serde default.
///
/// Enums, tuple and unit structs, generic structs and unknown `#[flight]` keys are
/// compile errors on the offending tokens.
///
/// ```
/// use fastflight::prelude::*;
///
/// #[derive(FlightRequest, Serialize, Deserialize)]
/// #[flight(name = "shop.Orders", validate = Orders::check)]
/// pub struct Orders {
///     pub customer: String,
///     #[serde(default)]
///     pub limit: Option<u32>,
/// }
///
/// impl Orders {
///     fn check(&self) -> Result<(), String> {
///         if self.customer.is_empty() { Err("field `customer` must not be empty".into()) } else { Ok(()) }
///     }
/// }
///
/// assert_eq!(Orders::NAME, "shop.Orders");
/// assert!(!Orders::fields()[1].required);
/// ```
#[doc(inline)]
pub use fastflight_macros::FlightRequest;

/// Registers a function as the data service of its request type.
///
/// Accepted shapes (the request argument is required; `Context` and any number of
/// `State<T>` are optional, in any order):
///
/// ```text
/// #[data_service]            async fn f(req: R, ctx: Context, db: State<Db>) -> Result<S, E>
/// #[data_service]            async fn f(req: R) -> S
/// #[data_service(blocking)]  fn f(req: R, db: State<Db>) -> Result<I, E>      (or -> I)
/// #[data_service(schema = my_schema)]  ... declares the result schema
/// ```
///
/// where `S: Stream<Item = Result<RecordBatch, E2>>`, `I: Iterator<Item = Result<RecordBatch, E2>>`,
/// and `E`, `E2` convert into [`BoxError`] (a [`Error`] or [`tonic::Status`] keeps its code).
/// A blocking service runs on a blocking thread and feeds the stream through a bounded
/// channel. A declared schema (`fn() -> Schema` or `SchemaRef`) answers GetSchema and
/// GetFlightInfo without running the service, and types results of zero rows.
///
/// The macro also writes a typed client stub: a trait `<FnName>Client` (here
/// `OrdersClient`) with a method named like the function, implemented for
/// [`Client`] (async) and [`blocking::Client`].
///
/// Any other signature is a compile error that lists the accepted shapes. Binding one
/// request type twice in one module is a compile error; elsewhere the server refuses
/// to start and names both places.
///
/// ```
/// use fastflight::prelude::*;
/// use fastflight::arrow::array::RecordBatch;
/// # #[derive(FlightRequest, Serialize, Deserialize)]
/// # pub struct Orders { pub customer: String }
/// pub struct Db { pub url: String }
///
/// #[data_service(blocking)]
/// fn orders(req: Orders, db: State<Db>) -> Result<std::vec::IntoIter<fastflight::Result<RecordBatch>>, String> {
///     if db.url.is_empty() {
///         return Err(format!("no database for {}", req.customer));
///     }
///     Ok(Vec::new().into_iter())
/// }
///
/// // On the client side: `client.orders(Orders { customer: "ada".into() })`.
/// fn _stub(client: &fastflight::blocking::Client) -> fastflight::Result<()> {
///     let _batches = client.orders(Orders { customer: "ada".into() })?;
///     Ok(())
/// }
/// ```
#[doc(inline)]
pub use fastflight_macros::data_service;

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

    /// A field default as JSON (null where it cannot be written).
    pub fn json_value<T: serde::Serialize>(value: T) -> Value {
        serde_json::to_value(value).unwrap_or(Value::Null)
    }

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
