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
//! #[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
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
//! // ... and call it with the typed stub `#[derive(FlightRequest)]` wrote (`SquaresClient`).
//! let client = fastflight::Client::connect(&location).await?;
//! let batch = client.squares(Squares { n: 4 }).await?.concat().await?;
//! assert_eq!(batch.num_rows(), 4);
//! # Ok(()) }
//! ```
//!
//! The crate's parts, along the path of one request: [`Client`] (or
//! [`blocking::Client`]) → [`ticket`] (the wire format, [`wire`]) → [`Server`] (gRPC
//! framing) → the dispatch (decode, [`registry`] lookup, deserialise, validate, invoke)
//! → a service ([`service`]) → [`Server`] (Arrow IPC frames) → the client's
//! [`RecordBatchStream`]. `ARCHITECTURE.md` in the repository walks it file by file.

#![warn(missing_docs)]

#[cfg(feature = "server")]
mod audit;
#[cfg(feature = "server")]
pub mod auth;
#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "server")]
mod dispatch;
pub mod error;
#[cfg(feature = "server")]
mod fair;
pub mod format;
#[cfg(any(feature = "client", feature = "server"))]
pub mod ipc;
#[cfg(feature = "server")]
pub mod limits;
pub mod listing;
#[cfg(feature = "server")]
mod proxies;
#[cfg(feature = "server")]
pub mod registry;
pub mod request;
pub mod rows;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "server")]
pub mod service;
pub mod sources;
#[cfg(feature = "flight-sql")]
pub mod sql;
pub mod ticket;
pub mod tls;
pub mod wire;

#[cfg(feature = "rest")]
pub mod rest;

#[cfg(feature = "cli")]
pub mod cli;

pub use arrow;
pub use arrow_flight;
pub use schemars;
pub use tonic;

#[cfg(any(feature = "files", feature = "cli"))]
pub use parquet;

/// Reading a result spread over several endpoints (a partitioned request's parts).
#[cfg(feature = "client")]
pub use client::parts as endpoints;
#[cfg(feature = "client")]
pub use client::{blocking, resilience, trust, Client, RecordBatchStream, RowStream};
pub use error::{BoxError, Error, Result};
#[cfg(feature = "server")]
pub use limits::Limits;
#[cfg(feature = "server")]
pub use registry::Registry;
pub use request::{FieldInfo, FlightRequest, RequestSchema, Validate};
pub use rows::ArrowRow;
#[cfg(feature = "server")]
pub use server::{BoundServer, Server, ServerBuilder};
#[cfg(feature = "server")]
pub use service::{BatchIter, BatchStream, Call, Context, FromCall, State};

/// Derives [`FlightRequest`](trait@FlightRequest) for a serde struct with named fields
/// that also derives `JsonSchema` (re-exported in the [`prelude`], with the
/// `schemars` path its derive names): the JSON Schema clients discover is the type's own.
///
/// - `#[flight(name = "pkg.Name")]` fixes the registered name (the ticket's
///   `param_type`); without it the name is the Rust path of the type
///   (`my_api::requests::Prices`).
/// - `#[flight(validate = path::to::fn)]` runs `fn(&Self) -> Result<(), E: Display>`
///   after decoding; `#[flight(validate)]` runs the type's [`Validate`] impl.
///   A refusal reaches the client as `InvalidArgument` with the message.
/// - `#[flight(method = "orders_of")]` names the client stub's method (below).
/// - Field listings honour `#[serde(rename, rename_all, default, skip)]`; a field is
///   optional when it is an `Option` or has a serde default.
/// - The type derives `JsonSchema` too (without it, the compiler says so on the
///   type); a field of a chrono type (`DateTime<Utc>`, `NaiveDate`) needs fastflight's
///   `chrono` feature, which gives schemars the chrono types (and chrono's own `serde`
///   feature in the crate that names them).
///
/// The derive also writes the typed client stub, next to the type: for `Orders`, a
/// trait `OrdersClient` with one method `orders(&self, request: Orders)` (the type's
/// name in snake_case; `#[flight(method = "...")]` renames it), implemented for
/// [`Client`] (a future of a [`RecordBatchStream`]) and [`blocking::Client`] (an
/// iterator). A crate of request types is thus the whole API a client needs. A
/// method name that one of the clients' own methods already has (`fetch`,
/// `connect`, ...) is a compile error.
///
/// Enums, tuple and unit structs, generic structs and unknown `#[flight]` keys are
/// compile errors on the offending tokens.
///
/// ```
/// use fastflight::prelude::*;
///
/// #[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
/// #[flight(name = "shop.Orders", validate = Orders::check, method = "orders_of")]
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
///
/// // The stub (named by `method`): `client.orders_of(...)` on either client.
/// async fn call(client: &fastflight::Client) -> fastflight::Result<usize> {
///     let batches = client.orders_of(Orders { customer: "ada".into(), limit: None }).await?;
///     Ok(batches.collect().await?.len())
/// }
///
/// // `#[flight(validate)]`: the type's own `Validate`.
/// #[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
/// #[flight(validate)]
/// pub struct Page { pub size: u32 }
///
/// impl fastflight::Validate for Page {
///     fn validate(&self) -> Result<(), String> {
///         if self.size == 0 { Err("field `size` must be at least 1".into()) } else { Ok(()) }
///     }
/// }
/// ```
#[doc(inline)]
pub use fastflight_macros::FlightRequest;

/// Registers a function as the data service of its request type.
///
/// The first argument is the request (a [`FlightRequest`](trait@FlightRequest)); every
/// further argument is any type implementing [`FromCall`], taken from the call:
/// [`Context`], any number of [`State<T>`](State), [`auth::Identity`], or a type of
/// one's own. It returns a stream of batches (`S: Stream<Item = Result<RecordBatch,
/// E2>>`, or `Result<S, E>`), where `E`, `E2` convert into [`BoxError`] (a [`Error`] or
/// [`tonic::Status`] keeps its code):
///
/// ```text
/// #[data_service]            async fn f(req: R, ctx: Context, db: State<Db>) -> Result<S, E>
/// #[data_service]            async fn f(req: R) -> S
/// #[data_service(blocking)]  fn f(req: R, db: State<Db>) -> Result<I, E>      (or -> I)
/// ```
///
/// Any other signature is a compile error that lists the accepted shapes. Binding one
/// request type twice in one module is a compile error; elsewhere the server refuses
/// to start and names both places. `#[data_service]` goes on a free function at
/// module level, not on a method. The typed client stub comes from the request type's
/// `#[derive(FlightRequest)]`, so clients need only the crate of request types; the
/// service may live in another crate than its request type.
///
/// # Attributes
///
/// - `blocking`: a plain `fn` returning an iterator of batches (`I: Iterator<Item =
///   Result<RecordBatch, E2>>`), run batch by batch on the blocking pool, never on the
///   async threads (for rusqlite, files, any blocking source).
/// - `schema = f`: the result's schema (`fn() -> Schema` or `SchemaRef`): GetSchema and
///   GetFlightInfo answer without running the service, and a result of zero rows is
///   typed.
/// - `roles = ["a", "b"]`: a caller needs one of these roles (`PermissionDenied`
///   otherwise; listings hide the service from it); a caller the server does not know is
///   refused with `Unauthenticated`, so a restricted service cannot be called on a
///   server that authenticates nobody.
/// - `authorize = f`: `fn(&Identity, &R) -> bool` or `Result<(), E: Display>`, the
///   service's own rule over the caller and the request, after the roles; its reason
///   reaches the refused caller.
/// - `open_without_auth`: `roles` and `authorize` apply only when the server
///   authenticates its callers; one that authenticates nobody serves the service to
///   anyone.
/// - `partitions = f`: `fn(&R) -> Vec<R>`: GetFlightInfo answers one endpoint per part
///   (at most 1,024), spread over the server and its peers; each part is an ordinary
///   request of the same type.
/// - `ordered`: the parts' results are read in order (with `partitions` only).
///
/// `blocking`, with the state it takes and its client stub:
///
/// ```
/// use fastflight::prelude::*;
/// use fastflight::arrow::array::RecordBatch;
/// # #[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
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
/// // On the client side: `client.orders(...)`, the stub of the request type.
/// fn _stub(client: &fastflight::blocking::Client) -> fastflight::Result<()> {
///     let _batches = client.orders(Orders { customer: "ada".into() })?;
///     Ok(())
/// }
/// ```
///
/// `schema`, `partitions` and `ordered`; `roles`, `authorize` and `open_without_auth`:
///
/// ```
/// use std::sync::Arc;
/// use fastflight::arrow::array::{ArrayRef, Int64Array, RecordBatch};
/// use fastflight::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
/// use fastflight::prelude::*;
///
/// #[derive(FlightRequest, Serialize, Deserialize, JsonSchema, Clone)]
/// pub struct Counts {
///     pub upto: i64,
///     /// Which part this is, of how many (set in the parts of a split request).
///     #[serde(default)]
///     pub part: Option<(i64, i64)>,
/// }
///
/// fn counts_schema() -> SchemaRef {
///     Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]))
/// }
///
/// fn in_four(req: &Counts) -> Vec<Counts> {
///     (0..4).map(|i| Counts { part: Some((i, 4)), ..req.clone() }).collect()
/// }
///
/// fn at_most_a_million(_who: &Identity, req: &Counts) -> Result<(), String> {
///     if req.upto > 1_000_000 { Err("at most 1,000,000 rows".into()) } else { Ok(()) }
/// }
///
/// #[data_service(schema = counts_schema, partitions = in_four, ordered)]
/// async fn counts(req: Counts) -> fastflight::Result<BatchStream> {
///     let (part, of) = req.part.unwrap_or((0, 1));
///     let numbers: Vec<i64> = (0..req.upto).filter(|n| n % of == part).collect();
///     let batch = RecordBatch::try_from_iter([("n", Arc::new(Int64Array::from(numbers)) as ArrayRef)])?;
///     Ok(futures::stream::iter([Ok(batch)]).boxed())
/// }
///
/// #[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
/// pub struct Audit { pub upto: i64 }
///
/// #[data_service(roles = ["analyst"], authorize = may_audit, open_without_auth)]
/// async fn audit(req: Audit, who: Identity) -> fastflight::Result<BatchStream> {
///     let _ = (req.upto, who.name());
///     Ok(futures::stream::empty().boxed())
/// }
///
/// fn may_audit(who: &Identity, req: &Audit) -> bool {
///     who.has_role("auditor") || req.upto < 100
/// }
/// # fn main() {}
/// ```
#[cfg(feature = "server")]
#[doc(inline)]
pub use fastflight_macros::data_service;

/// What a service module needs: the macros, their traits, and stream helpers.
pub mod prelude {
    pub use crate::rows::{ArrowRow, RowBuilder};
    pub use crate::schemars::{self, JsonSchema};
    pub use crate::FlightRequest;
    #[cfg(feature = "server")]
    pub use crate::{auth::Identity, data_service, BatchIter, BatchStream, Context, State};
    pub use futures::{Stream, StreamExt, TryStreamExt};
    pub use serde::{Deserialize, Serialize};
}

/// The guides, as the repository's `docs/` holds them: rendered here for the rustdoc
/// (their examples are doc-tested with the demo, where every feature is on).
#[cfg(doc)]
pub mod guide {
    #[doc = include_str!("../../docs/services.md")]
    pub mod services {}
    #[doc = include_str!("../../docs/demo.md")]
    pub mod demo {}
    #[doc = include_str!("../../docs/postgres.md")]
    pub mod postgres {}
    #[doc = include_str!("../../docs/cli.md")]
    pub mod cli {}
    #[doc = include_str!("../../docs/security.md")]
    pub mod security {}
    #[doc = include_str!("../../docs/deployment.md")]
    pub mod deployment {}
    #[doc = include_str!("../../docs/operations.md")]
    pub mod operations {}
    #[doc = include_str!("../../docs/gateway.md")]
    pub mod gateway {}
    #[doc = include_str!("../../docs/python.md")]
    pub mod python {}
    #[doc = include_str!("../../docs/sql.md")]
    pub mod sql {}
}

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
