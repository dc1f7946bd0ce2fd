//! Paths used by the code the macros write; not a public API.
//!
//! The parts for `#[derive(FlightRequest)]` are always here; those for
//! `#[data_service]` come with the `server` feature.

pub use crate::request::{
    AnyRows, DeclaredRows, FetchRequest, FetchRows, FieldInfo, FlightRequest, RowsOf, Validate,
};
pub use crate::{BoxError, Error, Result};
pub use serde;
pub use serde_json::{Map, Value};

#[cfg(feature = "server")]
pub use server_side::*;

/// A field default as JSON (null where it cannot be written).
pub fn json_value<T: serde::Serialize>(value: T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Fetches a request's rows through any client, for the typed stubs of requests with
/// `#[flight(rows = T)]`.
pub fn fetch_rows<C: FetchRows + ?Sized, R: FlightRequest, T: crate::rows::ArrowRow>(
    client: &C,
    request: R,
) -> C::Rows<T> {
    client.fetch_rows::<R, T>(request)
}

/// Fetches a request through any client, for the typed stubs.
pub fn fetch<C: FetchRequest + ?Sized, R: FlightRequest>(client: &C, request: R) -> C::Output {
    client.fetch_request(request)
}

#[cfg(feature = "server")]
mod server_side {
    use super::{BoxError, DeclaredRows, Error, FlightRequest, Result};
    pub use crate::auth::Identity;
    pub use crate::registry::{Decoded, RequestType, ServiceEntry};
    pub use crate::rows::batcher::Batching;
    pub use crate::service::{
        run_blocking, BatchIter, BatchStream, Call, Context, FromCall, IntoBatchIter,
        IntoBatchStream, States, Yields,
    };
    pub use arrow::datatypes::SchemaRef;
    pub use bytes::Bytes;
    pub use core::any::TypeId;
    pub use futures::future::BoxFuture;
    pub use inventory;

    /// The request type of a service, as the registry knows it: the one place where a
    /// service's first argument must be a `FlightRequest`.
    pub fn request_type<R: FlightRequest>() -> RequestType {
        RequestType::of::<R>()
    }

    /// The decoded request, as the dispatch hands it to the service's entry.
    pub fn request<R: 'static>(decoded: Decoded) -> Result<R> {
        decoded.downcast::<R>().map(|r| *r).map_err(|_| {
            Error::status(
                tonic::Code::Internal,
                "a request reached a service of another request type",
            )
        })
    }

    /// A service's `authorize` function applied to the caller and the decoded request:
    /// the one place where it must be `fn(&Identity, &Request) -> impl Allowed`.
    pub fn authorize<R: 'static, O: crate::auth::Allowed>(
        who: &Identity,
        decoded: &Decoded,
        authorize: fn(&Identity, &R) -> O,
    ) -> Result<()> {
        let request = decoded.downcast_ref::<R>().ok_or_else(|| {
            Error::status(
                tonic::Code::Internal,
                "a request reached a service of another request type",
            )
        })?;
        authorize(who, request).allowed().map_err(|reason| {
            Error::status(
                tonic::Code::PermissionDenied,
                format!(
                    "`{}` may not make this call: {}",
                    crate::error::clip(who.name()),
                    crate::error::clip(&reason)
                ),
            )
        })
    }

    /// A service's `partitions` function applied to the decoded request: the tickets of
    /// its parts. The one place where it must be `fn(&Request) -> Vec<Request>`.
    pub fn partitions<R: FlightRequest>(
        decoded: &Decoded,
        split: fn(&R) -> Vec<R>,
    ) -> Result<Vec<Bytes>> {
        let request = decoded.downcast_ref::<R>().ok_or_else(|| {
            Error::status(
                tonic::Code::Internal,
                "a request reached a service of another request type",
            )
        })?;
        split(request)
            .iter()
            .map(|part| crate::ticket::encode(part))
            .collect()
    }

    /// A service's further argument: how it is taken from the call, and the `State<T>` it
    /// needs. The one place where a further argument must be `FromCall`, so a wrong type
    /// gives one error.
    pub fn argument<T: FromCall>() -> Argument<T> {
        Argument {
            take: |ctx, states| T::from_call(&Call::new(ctx, states)),
            state: T::required_state,
        }
    }

    /// See [`argument`].
    pub struct Argument<T> {
        /// Takes the argument from the call.
        pub take: fn(&Context, &States) -> Result<T>,
        /// The state it needs.
        pub state: fn() -> Option<(TypeId, &'static str)>,
    }

    /// A service's plain stream.
    pub fn stream_of<M, S: IntoBatchStream<M>>(
        service: &'static str,
        batching: Batching,
        s: S,
    ) -> Result<BatchStream> {
        Ok(s.into_batch_stream(service, batching))
    }

    /// A service's `Result` of a stream.
    pub fn stream_of_result<M, S: IntoBatchStream<M>, E: Into<BoxError>>(
        service: &'static str,
        batching: Batching,
        r: core::result::Result<S, E>,
    ) -> Result<BatchStream> {
        r.map(|s| s.into_batch_stream(service, batching))
            .map_err(|e| Error::service(service, e))
    }

    /// A blocking service's plain iterator.
    pub fn iter_of<M, I: IntoBatchIter<M>>(
        service: &'static str,
        batching: Batching,
        i: I,
    ) -> Result<BatchIter> {
        Ok(i.into_batch_iter(service, batching))
    }

    /// A blocking service's `Result` of an iterator.
    pub fn iter_of_result<M, I: IntoBatchIter<M>, E: Into<BoxError>>(
        service: &'static str,
        batching: Batching,
        r: core::result::Result<I, E>,
    ) -> Result<BatchIter> {
        r.map(|i| i.into_batch_iter(service, batching))
            .map_err(|e| Error::service(service, e))
    }

    /// The schema a service's return type declares (a row type's), read from the type
    /// of the function's result alone: `call` is never called.
    pub fn schema_of_stream<R: DeclaredRows, M, S, F, Fut>(_call: F) -> Option<SchemaRef>
    where
        F: FnOnce() -> Fut,
        Fut: core::future::Future<Output = S>,
        S: IntoBatchStream<M>,
        R::Rows: Yields<M>,
    {
        S::declared_schema()
    }

    /// [`schema_of_stream`] of a service returning a `Result` of a stream.
    pub fn schema_of_stream_result<R: DeclaredRows, M, S, E, F, Fut>(_call: F) -> Option<SchemaRef>
    where
        F: FnOnce() -> Fut,
        Fut: core::future::Future<Output = core::result::Result<S, E>>,
        S: IntoBatchStream<M>,
        R::Rows: Yields<M>,
    {
        S::declared_schema()
    }

    /// [`schema_of_stream`] of a blocking service.
    pub fn schema_of_iter<R: DeclaredRows, M, I, F>(_call: F) -> Option<SchemaRef>
    where
        F: FnOnce() -> I,
        I: IntoBatchIter<M>,
        R::Rows: Yields<M>,
    {
        I::declared_schema()
    }

    /// [`schema_of_stream`] of a blocking service returning a `Result` of an iterator.
    pub fn schema_of_iter_result<R: DeclaredRows, M, I, E, F>(_call: F) -> Option<SchemaRef>
    where
        F: FnOnce() -> core::result::Result<I, E>,
        I: IntoBatchIter<M>,
        R::Rows: Yields<M>,
    {
        I::declared_schema()
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
