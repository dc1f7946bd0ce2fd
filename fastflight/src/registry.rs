//! The service registry: one [`ServiceEntry`] per `#[data_service]`, collected at
//! start-up with `inventory`, checked once, and looked up by request name. A
//! [`Registry`] is a value: [`Registry::global`] holds every linked service, and
//! [`Registry::select`] / [`Registry::under`] make subsets for a server to serve.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::OnceLock;

use arrow::datatypes::SchemaRef;
use futures::future::BoxFuture;
use serde_json::{Map, Value};

use crate::listing::{FieldDescription, ServiceInfo};
use crate::service::{BatchStream, Context, States};
use crate::{Error, FieldInfo, Result};

/// Takes the decoded request and the further arguments, and starts the handler.
#[doc(hidden)]
pub type Invoke = fn(Decoded, Context, &States) -> Result<BoxFuture<'static, Result<BatchStream>>>;

/// A request decoded into its type, before the service's entry takes it back.
#[doc(hidden)]
pub type Decoded = Box<dyn Any + Send>;

/// A service's `partitions` function over the decoded request: the tickets of its parts.
pub type Split = fn(&Decoded) -> Result<Vec<bytes::Bytes>>;

/// What the registry knows of a request type, from its `FlightRequest` impl.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct RequestType {
    /// The registered name (`param_type`).
    pub name: &'static str,
    /// The type's identity.
    pub id: TypeId,
    /// The type's fields.
    pub fields: &'static [FieldInfo],
    /// Deserialises and validates the fields into the typed request.
    pub decode: fn(Map<String, Value>) -> Result<Decoded>,
    /// The JSON Schema of the request.
    pub json_schema: fn() -> Value,
}

impl RequestType {
    /// The request type `R` as the registry knows it.
    pub fn of<R: crate::FlightRequest>() -> Self {
        RequestType {
            name: R::NAME,
            id: TypeId::of::<R>(),
            fields: R::fields(),
            decode: |fields| {
                crate::ticket::into_request::<R>(fields).map(|r| Box::new(r) as Decoded)
            },
            json_schema: R::request_schema,
        }
    }
}

/// One registered service, written by `#[data_service]`.
#[doc(hidden)]
#[derive(Debug)]
pub struct ServiceEntry {
    /// The request type.
    pub request: fn() -> RequestType,
    /// The request type as written at the service.
    pub request_type: &'static str,
    /// The handler's path.
    pub handler: &'static str,
    /// Where the service is declared (`file:line`).
    pub location: &'static str,
    /// The `State<T>` types the service's arguments need: identity and name.
    pub states: fn() -> Vec<(TypeId, &'static str)>,
    /// The declared result schema, if any: `schema = fn`'s, or the row type's of a
    /// service yielding rows.
    pub schema: fn() -> Option<SchemaRef>,
    /// Whether the service runs on a blocking thread.
    pub blocking: bool,
    /// The roles of which a caller needs one (`#[data_service(roles = [..])]`); empty:
    /// any caller.
    pub roles: &'static [&'static str],
    /// The service's `authorize` function over the caller and the decoded request.
    pub authorize: Option<fn(&crate::auth::Identity, &Decoded) -> Result<()>>,
    /// Whether `roles` and `authorize` apply only when the server authenticates its
    /// callers (`#[data_service(open_without_auth)]`).
    pub open_without_auth: bool,
    /// The service's `partitions` function: the tickets of a request's parts.
    pub partitions: Option<Split>,
    /// Whether the parts' results are read in order.
    pub ordered: bool,
    /// The entry point.
    pub invoke: Invoke,
}

inventory::collect!(ServiceEntry);

impl ServiceEntry {
    /// The request type's registered name (`param_type`).
    pub fn name(&self) -> &'static str {
        (self.request)().name
    }

    /// Whether `who` may see the service listed: it needs none of the roles, or `who`
    /// has one (an anonymous caller, of a server that authenticates nobody, sees the
    /// services `open_without_auth` too).
    pub fn visible_to(&self, who: Option<&crate::auth::Identity>) -> bool {
        self.roles.is_empty()
            || (who.is_none() && self.open_without_auth)
            || who.is_some_and(|who| self.roles.iter().any(|r| who.has_role(r)))
    }

    /// Whether `who` may make this call with `request`: its roles, then its `authorize`
    /// function. Restricted services refuse callers the server does not know, unless
    /// the server authenticates nobody (`authenticating` false) and the service is
    /// `open_without_auth`.
    pub(crate) fn admit(
        &self,
        who: Option<&crate::auth::Identity>,
        request: &Decoded,
        authenticating: bool,
    ) -> Result<()> {
        if self.roles.is_empty() && self.authorize.is_none() {
            return Ok(());
        }
        if self.open_without_auth && !authenticating {
            return Ok(());
        }
        let who = who.ok_or_else(|| {
            Error::status(
                tonic::Code::Unauthenticated,
                format!(
                    "`{}` is for callers the server knows, and this call carries no identity",
                    self.name()
                ),
            )
        })?;
        if !self.visible_to(Some(who)) {
            return Err(Error::status(
                tonic::Code::PermissionDenied,
                format!(
                    "`{}` may not call `{}`: it needs one of the roles {}",
                    crate::error::clip(who.name()),
                    self.name(),
                    self.roles.join(", ")
                ),
            ));
        }
        match self.authorize {
            Some(authorize) => authorize(who, request),
            None => Ok(()),
        }
    }

    /// This service as listings describe it.
    pub(crate) fn info(&self) -> ServiceInfo {
        let request = (self.request)();
        let schema = (self.schema)();
        ServiceInfo {
            name: request.name.to_owned(),
            request_type: self.request_type.to_owned(),
            handler: self.handler.to_owned(),
            fields: request
                .fields
                .iter()
                .map(|f| FieldDescription {
                    name: f.name.to_owned(),
                    ty: f.ty.to_owned(),
                    required: f.required,
                    default: f.default.map(|default| default()),
                })
                .collect(),
            schema_declared: schema.is_some(),
            result_schema: schema
                .as_deref()
                .map(crate::listing::schema_json)
                .unwrap_or_default(),
            blocking: self.blocking,
            partitioned: self.partitions.is_some(),
            json_schema: (request.json_schema)(),
        }
    }
}

/// A checked set of services: no request type bound twice, no name used twice.
#[derive(Debug, Clone)]
pub struct Registry {
    entries: Vec<&'static ServiceEntry>,
    by_name: HashMap<&'static str, &'static ServiceEntry>,
}

impl Registry {
    /// The registry of every `#[data_service]` linked into this binary, checked once.
    ///
    /// A service in a library crate is linked only when the binary uses that crate:
    /// write `use my_services as _;` in the binary when nothing else names it.
    pub fn global() -> Result<&'static Registry> {
        static GLOBAL: OnceLock<std::result::Result<Registry, Vec<String>>> = OnceLock::new();
        GLOBAL
            .get_or_init(|| {
                Registry::from_entries(inventory::iter::<ServiceEntry>).map_err(|e| match e {
                    Error::Registry(problems) => problems,
                    other => vec![other.to_string()],
                })
            })
            .as_ref()
            .map_err(|problems| Error::Registry(problems.clone()))
    }

    /// Builds a registry from the given entries, refusing a request type bound
    /// to two services and two request types sharing one name.
    #[doc(hidden)]
    pub fn from_entries(entries: impl IntoIterator<Item = &'static ServiceEntry>) -> Result<Self> {
        let mut entries: Vec<&'static ServiceEntry> = entries.into_iter().collect();
        entries.sort_by(|a, b| a.name().cmp(b.name()).then(a.location.cmp(b.location)));
        let mut problems = Vec::new();
        let mut by_type: HashMap<TypeId, &'static ServiceEntry> = HashMap::new();
        let mut by_name: HashMap<&'static str, &'static ServiceEntry> = HashMap::new();
        for entry in &entries {
            if let Some(first) = by_type.insert((entry.request)().id, entry) {
                problems.push(format!(
                    "request type `{}` is bound to two services: `{}` at {} and `{}` at {}",
                    entry.request_type,
                    first.handler,
                    first.location,
                    entry.handler,
                    entry.location
                ));
                continue;
            }
            if let Some(first) = by_name.insert(entry.name(), entry) {
                problems.push(format!(
                    "two request types share the name `{}`: `{}` (service `{}` at {}) and `{}` (service `{}` at {}); give one another name with #[flight(name = \"...\")]",
                    entry.name(),
                    first.request_type,
                    first.handler,
                    first.location,
                    entry.request_type,
                    entry.handler,
                    entry.location
                ));
            }
        }
        if problems.is_empty() {
            Ok(Registry { entries, by_name })
        } else {
            Err(Error::Registry(problems))
        }
    }

    /// The services of the given request names; an unknown name is an error that
    /// lists the registered ones.
    ///
    /// ```no_run
    /// # async fn run() -> fastflight::Result<()> {
    /// use fastflight::registry::Registry;
    /// let echo_only = Registry::global()?.select(["fastflight.demo_services.echo_demo.EchoParams"])?;
    /// fastflight::Server::builder().registry(echo_only).serve().await
    /// # }
    /// ```
    pub fn select<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Result<Registry> {
        let mut chosen: Vec<&'static ServiceEntry> = Vec::new();
        for name in names {
            let entry = self.lookup(name)?;
            if !chosen.iter().any(|e| std::ptr::eq(*e, entry)) {
                chosen.push(entry);
            }
        }
        Registry::from_entries(chosen)
    }

    /// The services whose handler lives in the module `prefix` or below it:
    /// `under("my_server::orders")` keeps `my_server::orders::list` and
    /// `my_server::orders::v2::list`, not `my_server::orders_old::list`.
    pub fn under(&self, prefix: &str) -> Registry {
        let prefix = prefix.trim_end_matches(':');
        let entries: Vec<&'static ServiceEntry> = self
            .entries
            .iter()
            .copied()
            .filter(|e| {
                e.handler
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with("::"))
            })
            .collect();
        let by_name = entries.iter().map(|e| (e.name(), *e)).collect();
        Registry { entries, by_name }
    }

    /// Refuses to start when a service takes a `State<T>` the builder never got.
    pub(crate) fn check_states(&self, states: &States) -> Result<()> {
        let problems: Vec<String> = self
            .entries
            .iter()
            .flat_map(|entry| {
                (entry.states)()
                    .into_iter()
                    .filter(|(id, _)| !states.contains(*id))
                    .map(move |(_, name)| {
                        format!(
                            "service `{}` at {} takes State<{}>, but the server builder was given none: add `.state(...)` with a value of that type",
                            entry.handler, entry.location, name
                        )
                    })
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Registry(problems))
        }
    }

    /// The services, ordered by request name.
    #[doc(hidden)]
    pub fn entries(&self) -> &[&'static ServiceEntry] {
        &self.entries
    }

    /// How many services there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there is no service; see [`Registry::global`] for the usual cause.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The registered request names, in order.
    pub fn names(&self) -> Vec<String> {
        self.entries.iter().map(|e| e.name().to_owned()).collect()
    }

    /// The services as listings describe them, in order.
    pub fn services(&self) -> Vec<ServiceInfo> {
        self.entries.iter().map(|e| e.info()).collect()
    }

    /// The services `who` may see (see [`ServiceEntry::visible_to`]).
    pub fn services_for(&self, who: Option<&crate::auth::Identity>) -> Vec<ServiceInfo> {
        self.entries
            .iter()
            .filter(|e| e.visible_to(who))
            .map(|e| e.info())
            .collect()
    }

    /// The service for a request name, or `NotFound` listing the registered names.
    pub(crate) fn lookup(&self, name: &str) -> Result<&'static ServiceEntry> {
        self.by_name
            .get(name)
            .copied()
            .ok_or_else(|| Error::UnknownRequest {
                name: name.to_owned(),
                registered: self.names(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::{FutureExt, StreamExt};

    fn request(name: &'static str, id: TypeId) -> RequestType {
        RequestType {
            name,
            id,
            fields: &[],
            decode: |_| Ok(Box::new(())),
            json_schema: || Value::Null,
        }
    }
    fn a() -> RequestType {
        request("a", TypeId::of::<u8>())
    }
    fn a2() -> RequestType {
        request("a2", TypeId::of::<u8>())
    }
    fn b_same_name() -> RequestType {
        request("a", TypeId::of::<u16>())
    }
    fn b() -> RequestType {
        request("b", TypeId::of::<u16>())
    }
    fn no_states() -> Vec<(TypeId, &'static str)> {
        Vec::new()
    }
    fn wants_string() -> Vec<(TypeId, &'static str)> {
        vec![(TypeId::of::<String>(), "String")]
    }
    fn invoke(
        _: Box<dyn Any + Send>,
        _: Context,
        _: &States,
    ) -> Result<BoxFuture<'static, Result<BatchStream>>> {
        Ok(async { Ok(futures::stream::empty().boxed()) }.boxed())
    }

    const fn entry(
        request: fn() -> RequestType,
        handler: &'static str,
        location: &'static str,
        states: fn() -> Vec<(TypeId, &'static str)>,
    ) -> ServiceEntry {
        ServiceEntry {
            request,
            request_type: "R",
            handler,
            location,
            states,
            schema: || None,
            blocking: false,
            roles: &[],
            open_without_auth: false,
            authorize: None,
            partitions: None,
            ordered: false,
            invoke,
        }
    }

    static A1: ServiceEntry = entry(a, "crate::one", "src/one.rs:3", no_states);
    static A2: ServiceEntry = entry(a2, "crate::two", "src/two.rs:9", no_states);
    static B_SAME_NAME: ServiceEntry =
        entry(b_same_name, "crate::three", "src/three.rs:1", no_states);
    static B: ServiceEntry = entry(b, "crate::four", "src/four.rs:4", wants_string);

    #[test]
    fn a_type_bound_twice_names_both_places() {
        let e = Registry::from_entries([&A1, &A2]).unwrap_err().to_string();
        assert!(e.contains("bound to two services"), "{e}");
        assert!(
            e.contains("src/one.rs:3") && e.contains("src/two.rs:9"),
            "{e}"
        );
    }

    #[test]
    fn two_types_with_one_name_name_both_places() {
        let e = Registry::from_entries([&A1, &B_SAME_NAME])
            .unwrap_err()
            .to_string();
        assert!(e.contains("share the name `a`"), "{e}");
        assert!(
            e.contains("src/one.rs:3") && e.contains("src/three.rs:1"),
            "{e}"
        );
    }

    #[test]
    fn missing_state_is_named() {
        let registry = Registry::from_entries([&A1, &B]).unwrap();
        let e = registry
            .check_states(&States::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("State<String>") && e.contains("src/four.rs:4"),
            "{e}"
        );
        let mut states = States::default();
        states.insert(String::from("x"));
        registry.check_states(&states).unwrap();
    }

    #[test]
    fn unknown_names_list_the_registered_ones() {
        let registry = Registry::from_entries([&A1, &B]).unwrap();
        let e = registry.lookup("zzz").unwrap_err();
        assert_eq!(e.code(), tonic::Code::NotFound);
        assert!(e.to_string().contains("[a, b]"), "{e}");
        assert_eq!(registry.lookup("b").unwrap().handler, "crate::four");
    }

    #[test]
    fn subsets_by_name_and_by_module() {
        let registry = Registry::from_entries([&A1, &B]).unwrap();
        let only_b = registry.select(["b"]).unwrap();
        assert_eq!(only_b.names(), ["b"]);
        let e = registry.select(["b", "nope"]).unwrap_err();
        assert_eq!(e.code(), tonic::Code::NotFound);
        assert_eq!(registry.under("crate").len(), 2);
        assert_eq!(
            registry.under("crate::one").len(),
            0,
            "a handler is not its own module"
        );
        assert_eq!(registry.under("cra").len(), 0, "prefixes end at `::`");
        // The states checked are those of the services served.
        only_b.check_states(&States::default()).unwrap_err();
        registry
            .select(["a"])
            .unwrap()
            .check_states(&States::default())
            .unwrap();
    }
}
