//! What a service takes besides its request: the call's [`Context`], the values given
//! to the server builder ([`State`]), and any type of one's own that is [`FromCall`].

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::{Error, Result};

/// What a service may know of its call: request metadata, the peer, and a cancellation signal.
///
/// Take it as a parameter of a `#[data_service]` function:
///
/// ```
/// use fastflight::prelude::*;
/// # #[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
/// # pub struct Who {}
///
/// #[data_service]
/// async fn who(_req: Who, ctx: Context) -> fastflight::Result<BatchStream> {
///     let user = ctx.header("x-user").unwrap_or("anonymous").to_owned();
///     # let _ = user;
///     Ok(futures::stream::empty().boxed())
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Context {
    inner: Arc<ContextInner>,
}

#[derive(Debug)]
struct ContextInner {
    metadata: tonic::metadata::MetadataMap,
    peer: Option<SocketAddr>,
    identity: Option<crate::auth::Identity>,
    cancel: CancellationToken,
}

impl Context {
    /// A context with the given metadata and peer, and a fresh cancellation signal.
    pub fn new(metadata: tonic::metadata::MetadataMap, peer: Option<SocketAddr>) -> Self {
        Self {
            inner: Arc::new(ContextInner {
                metadata,
                peer,
                identity: None,
                cancel: CancellationToken::new(),
            }),
        }
    }

    /// A context of the same caller for one more call on its behalf: cancelled with
    /// this one, and on its own when that call ends.
    #[cfg_attr(not(feature = "flight-sql"), allow(dead_code))]
    pub(crate) fn child(&self) -> Self {
        Self {
            inner: Arc::new(ContextInner {
                metadata: self.inner.metadata.clone(),
                peer: self.inner.peer,
                identity: self.inner.identity.clone(),
                cancel: self.inner.cancel.child_token(),
            }),
        }
    }

    /// A context of a caller the server authenticated.
    pub(crate) fn of(
        metadata: tonic::metadata::MetadataMap,
        peer: Option<SocketAddr>,
        identity: Option<crate::auth::Identity>,
    ) -> Self {
        Self {
            inner: Arc::new(ContextInner {
                metadata,
                peer,
                identity,
                cancel: CancellationToken::new(),
            }),
        }
    }

    /// The caller, when the server authenticates its callers.
    pub fn identity(&self) -> Option<&crate::auth::Identity> {
        self.inner.identity.as_ref()
    }

    /// Whose fair share the call's resources count toward.
    pub(crate) fn share_key(&self) -> Option<crate::fair::ShareKey> {
        crate::fair::ShareKey::of(self.identity().map(|i| i.name()), self.peer())
    }

    /// The caller, as log lines name it.
    #[cfg_attr(not(feature = "rest"), allow(dead_code))]
    pub(crate) fn who(&self) -> crate::audit::Who<'_> {
        crate::audit::Who {
            peer: self.peer(),
            user: self.identity().map(|i| i.name()),
        }
    }

    /// The caller, as a stream keeps it for its last log line.
    pub(crate) fn caller(&self) -> crate::audit::Caller {
        crate::audit::Caller::new(self.peer(), self.identity().map(|i| i.name()))
    }

    /// The request's gRPC metadata (HTTP/2 headers).
    pub fn metadata(&self) -> &tonic::metadata::MetadataMap {
        &self.inner.metadata
    }

    /// One ASCII header value, if present and printable.
    pub fn header(&self, key: &str) -> Option<&str> {
        self.inner.metadata.get(key).and_then(|v| v.to_str().ok())
    }

    /// The caller's address, where the transport knows it.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.inner.peer
    }

    /// True once the caller is gone (stream dropped, connection closed, server stopping).
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancel.is_cancelled()
    }

    /// Completes when the caller is gone.
    pub async fn cancelled(&self) {
        self.inner.cancel.cancelled().await
    }

    /// The cancellation token itself, to hand to other tasks.
    pub fn cancellation_token(&self) -> CancellationToken {
        self.inner.cancel.clone()
    }
}

/// Shared state handed to the server builder with `.state(value)`, taken by a service as a parameter.
///
/// A `State<T>` dereferences to `T`; [`State::shared`] gives the `Arc` itself.
///
/// ```
/// use fastflight::prelude::*;
/// # #[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
/// # pub struct Count {}
/// pub struct Settings { pub greeting: String }
///
/// #[data_service]
/// async fn count(_req: Count, settings: State<Settings>) -> fastflight::Result<BatchStream> {
///     let _greeting: &str = &settings.greeting;
///     Ok(futures::stream::empty().boxed())
/// }
///
/// let _server = fastflight::Server::builder().state(Settings { greeting: "hi".into() });
/// ```
pub struct State<T: ?Sized>(Arc<T>);

impl<T: ?Sized> State<T> {
    /// The shared value's `Arc`, to keep beyond the call (an associated function, so
    /// that it never hides a method of `T`).
    pub fn shared(this: &Self) -> Arc<T> {
        Arc::clone(&this.0)
    }
}

impl<T: ?Sized> Clone for State<T> {
    fn clone(&self) -> Self {
        State(Arc::clone(&self.0))
    }
}

impl<T: ?Sized> Deref for State<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// What a service's further arguments are taken from: the call's [`Context`] and the
/// values given to the server builder.
pub struct Call<'a> {
    context: &'a Context,
    states: &'a States,
}

impl<'a> Call<'a> {
    #[doc(hidden)]
    pub fn new(context: &'a Context, states: &'a States) -> Self {
        Self { context, states }
    }

    /// The call's context: metadata, peer, cancellation.
    pub fn context(&self) -> &Context {
        self.context
    }

    /// The value of type `T` given to the server builder, or an error naming the type.
    pub fn state<T: Send + Sync + 'static>(&self) -> Result<State<T>> {
        self.states.get::<T>()
    }
}

/// An argument a `#[data_service]` may take after its request: the macro takes each
/// further argument with `FromCall::from_call`, whatever its type is called, so a type
/// of one's own can be an argument too.
///
/// ```
/// use fastflight::prelude::*;
/// use fastflight::{Call, FromCall};
/// # #[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
/// # pub struct Report {}
///
/// /// The caller's tenant, from the `x-tenant` header.
/// pub struct Tenant(pub String);
///
/// impl FromCall for Tenant {
///     fn from_call(call: &Call<'_>) -> fastflight::Result<Self> {
///         match call.context().header("x-tenant") {
///             Some(t) => Ok(Tenant(t.to_owned())),
///             None => Err(fastflight::Error::status(tonic::Code::InvalidArgument, "header `x-tenant` is missing")),
///         }
///     }
/// }
///
/// #[data_service]
/// async fn report(_req: Report, tenant: Tenant) -> fastflight::Result<BatchStream> {
///     let _ = tenant.0;
///     Ok(futures::stream::empty().boxed())
/// }
/// # use fastflight::tonic;
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an argument of a #[data_service]",
    label = "not `FromCall`",
    note = "a #[data_service] takes its request (a FlightRequest) as the first argument; every further argument implements `fastflight::FromCall`, as `Context`, `State<T>` and `Identity` do"
)]
pub trait FromCall: Sized {
    /// The `State<T>` this argument needs from the server builder (type and name),
    /// checked when the server starts.
    fn required_state() -> Option<(TypeId, &'static str)> {
        None
    }

    /// Takes the argument from the call; an `Err` refuses the call with its code.
    fn from_call(call: &Call<'_>) -> Result<Self>;
}

/// The caller, when the server authenticates its callers; `Unauthenticated` otherwise,
/// so a service that takes its caller is never reached anonymously.
impl FromCall for crate::auth::Identity {
    fn from_call(call: &Call<'_>) -> Result<Self> {
        call.context().identity().cloned().ok_or_else(|| {
            crate::auth::unauthenticated(
                "this service needs to know its caller, and this server authenticates nobody (configure an authenticator)",
            )
        })
    }
}

impl FromCall for Context {
    fn from_call(call: &Call<'_>) -> Result<Self> {
        Ok(call.context.clone())
    }
}

impl<T: Send + Sync + 'static> FromCall for State<T> {
    fn required_state() -> Option<(TypeId, &'static str)> {
        Some((TypeId::of::<T>(), std::any::type_name::<T>()))
    }

    fn from_call(call: &Call<'_>) -> Result<Self> {
        call.states.get::<T>()
    }
}

/// The values given to the server builder, by type.
#[doc(hidden)]
#[derive(Clone, Default)]
pub struct States {
    map: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl States {
    /// Adds (or replaces) the value of type `T`.
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        self.map.insert(TypeId::of::<T>(), Arc::new(value));
    }

    /// Whether a value of this type was given.
    pub fn contains(&self, id: TypeId) -> bool {
        self.map.contains_key(&id)
    }

    /// The value of type `T`, or an error naming the type.
    pub fn get<T: Send + Sync + 'static>(&self) -> Result<State<T>> {
        self.map
            .get(&TypeId::of::<T>())
            .and_then(|v| Arc::clone(v).downcast::<T>().ok())
            .map(State)
            .ok_or_else(|| {
                Error::Config(format!(
                    "no State<{}> was given to the server builder",
                    std::any::type_name::<T>()
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_found_by_type() {
        let mut states = States::default();
        states.insert(41_u32);
        assert_eq!(*states.get::<u32>().unwrap(), 41);
        let e = states.get::<String>().err().unwrap();
        assert!(
            e.to_string().contains("State<alloc::string::String>"),
            "{e}"
        );
    }
}
