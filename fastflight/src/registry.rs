//! The service registry: one [`ServiceEntry`] per `#[data_service]`, collected at
//! start-up, checked once, and the single path from ticket bytes to a stream.

use std::any::TypeId;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, OnceLock};

use arrow::datatypes::{Schema, SchemaRef};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use serde_json::{Map, Value};

use crate::error::panic_message;
use crate::service::{catch_panics, BatchStream, Context, States};
use crate::{ticket, Error, FieldInfo, Result};

/// Deserialises the fields, takes the states and starts the handler.
pub type Invoke =
    fn(Map<String, Value>, Context, &States) -> Result<BoxFuture<'static, Result<BatchStream>>>;

/// One registered service, written by `#[data_service]`.
#[derive(Debug)]
pub struct ServiceEntry {
    /// The request type's registered name (`param_type`).
    pub request_name: &'static str,
    /// The request type as written at the service.
    pub request_type: &'static str,
    /// The request type's identity.
    pub request_id: fn() -> TypeId,
    /// The request type's fields.
    pub request_fields: fn() -> &'static [FieldInfo],
    /// The handler's path.
    pub handler: &'static str,
    /// Where the service is declared (`file:line`).
    pub location: &'static str,
    /// The `State<T>` types the service takes: identity and name.
    pub states: fn() -> Vec<(TypeId, &'static str)>,
    /// The declared result schema, if any.
    pub schema: Option<fn() -> SchemaRef>,
    /// Whether the service runs on a blocking thread.
    pub blocking: bool,
    /// Deserialises and validates a request without running the service.
    pub check: fn(Map<String, Value>) -> Result<()>,
    /// The entry point.
    pub invoke: Invoke,
}

inventory::collect!(ServiceEntry);

/// A service as listings describe it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ServiceInfo {
    /// The registered request name (`param_type`).
    pub name: String,
    /// The request type as written at the service.
    pub request_type: String,
    /// The handler's path.
    pub handler: String,
    /// The request's fields.
    pub fields: Vec<FieldDescription>,
    /// Whether the service declares its result schema.
    pub schema_declared: bool,
    /// Whether the service runs on a blocking thread.
    pub blocking: bool,
}

/// One request field in a [`ServiceInfo`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldDescription {
    /// The field's name on the wire.
    pub name: String,
    /// The field's Rust type.
    #[serde(rename = "type")]
    pub ty: String,
    /// False when the field may be left out.
    pub required: bool,
    /// The value a left-out field takes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
}

impl ServiceEntry {
    /// This entry as listings describe it.
    pub fn info(&self) -> ServiceInfo {
        ServiceInfo {
            name: self.request_name.to_owned(),
            request_type: self.request_type.to_owned(),
            handler: self.handler.to_owned(),
            fields: (self.request_fields)()
                .iter()
                .map(|f| FieldDescription {
                    name: f.name.to_owned(),
                    ty: f.ty.to_owned(),
                    required: f.required,
                    default: f.default.map(|default| default()),
                })
                .collect(),
            schema_declared: self.schema.is_some(),
            blocking: self.blocking,
        }
    }
}

/// The checked set of services of this binary.
#[derive(Debug)]
pub struct Registry {
    entries: Vec<&'static ServiceEntry>,
    by_name: HashMap<&'static str, &'static ServiceEntry>,
}

/// A request decoded, validated and started, whose first batch is not yet awaited.
pub struct Prepared {
    /// The service that answers.
    pub entry: &'static ServiceEntry,
    future: BoxFuture<'static, Result<BatchStream>>,
}

/// A running result: its schema, known before the first batch, and its batches.
pub struct ResultStream {
    /// The schema every batch has.
    pub schema: SchemaRef,
    /// The batches.
    pub batches: BatchStream,
}

impl Registry {
    /// The registry of every `#[data_service]` linked into this binary, checked once.
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
    pub fn from_entries(entries: impl IntoIterator<Item = &'static ServiceEntry>) -> Result<Self> {
        let mut entries: Vec<&'static ServiceEntry> = entries.into_iter().collect();
        entries.sort_by(|a, b| {
            a.request_name
                .cmp(b.request_name)
                .then(a.location.cmp(b.location))
        });
        let mut problems = Vec::new();
        let mut by_type: HashMap<TypeId, &'static ServiceEntry> = HashMap::new();
        let mut by_name: HashMap<&'static str, &'static ServiceEntry> = HashMap::new();
        for entry in &entries {
            if let Some(first) = by_type.insert((entry.request_id)(), entry) {
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
            if let Some(first) = by_name.insert(entry.request_name, entry) {
                problems.push(format!(
                    "two request types share the name `{}`: `{}` (service `{}` at {}) and `{}` (service `{}` at {}); give one another name with #[flight(name = \"...\")]",
                    entry.request_name,
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

    /// Refuses to start when a service takes a `State<T>` the builder never got.
    pub fn check_states(&self, states: &States) -> Result<()> {
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
    pub fn entries(&self) -> &[&'static ServiceEntry] {
        &self.entries
    }

    /// The registered request names, in order.
    pub fn names(&self) -> Vec<String> {
        self.entries
            .iter()
            .map(|e| e.request_name.to_owned())
            .collect()
    }

    /// The service for a request name, or `NotFound` listing the registered names.
    pub fn lookup(&self, name: &str) -> Result<&'static ServiceEntry> {
        self.by_name
            .get(name)
            .copied()
            .ok_or_else(|| Error::UnknownRequest {
                name: name.to_owned(),
                registered: self.names(),
            })
    }

    /// Decode → lookup → deserialise → validate → start the handler.
    pub fn prepare(&self, ticket: &[u8], ctx: Context, states: &States) -> Result<Prepared> {
        let (entry, fields) = self.resolve(ticket)?;
        Self::start(entry, fields, ctx, states)
    }

    /// Decode → lookup: the service of a ticket, and the request's fields.
    fn resolve(&self, ticket: &[u8]) -> Result<(&'static ServiceEntry, Map<String, Value>)> {
        let raw = ticket::decode(ticket)?;
        Ok((self.lookup(&raw.param_type)?, raw.fields))
    }

    /// Deserialise → validate → start the handler.
    fn start(
        entry: &'static ServiceEntry,
        fields: Map<String, Value>,
        ctx: Context,
        states: &States,
    ) -> Result<Prepared> {
        let future = (entry.invoke)(fields, ctx, states)?;
        Ok(Prepared { entry, future })
    }

    /// The result schema of a request: the declared one after decoding and validating
    /// the request (the service does not run), or else that of the first batch.
    pub async fn schema(&self, ticket: &[u8], ctx: Context, states: &States) -> Result<SchemaRef> {
        let (entry, fields) = self.resolve(ticket)?;
        if let Some(schema) = entry.schema {
            (entry.check)(fields)?;
            return Ok(schema());
        }
        Ok(Self::start(entry, fields, ctx, states)?
            .open()
            .await?
            .schema)
    }
}

impl Prepared {
    /// Awaits the handler, then the first batch unless a schema is declared, so
    /// the schema is known before any batch; a result of zero rows gets the
    /// declared schema, or an empty one.
    pub async fn open(self) -> Result<ResultStream> {
        let entry = self.entry;
        let batches = AssertUnwindSafe(self.future)
            .catch_unwind()
            .await
            .map_err(|payload| Error::Panic {
                service: entry.handler.to_owned(),
                message: panic_message(payload.as_ref()),
            })??;
        let mut batches = catch_panics(entry.handler, batches);
        if let Some(schema) = entry.schema {
            let schema = schema();
            return Ok(ResultStream {
                batches: check_schema(entry.handler, Arc::clone(&schema), batches),
                schema,
            });
        }
        match batches.next().await {
            None => Ok(ResultStream {
                schema: Arc::new(Schema::empty()),
                batches: futures::stream::empty().boxed(),
            }),
            Some(Err(e)) => Err(e),
            Some(Ok(first)) => {
                let schema = first.schema();
                let rest = check_schema(entry.handler, Arc::clone(&schema), batches);
                Ok(ResultStream {
                    schema,
                    batches: futures::stream::once(async { Ok(first) })
                        .chain(rest)
                        .boxed(),
                })
            }
        }
    }
}

/// Ends the stream with an error at the first batch whose schema is not the stream's.
fn check_schema(service: &'static str, schema: SchemaRef, batches: BatchStream) -> BatchStream {
    batches
        .map(move |item| match item {
            Ok(batch) if !Arc::ptr_eq(&batch.schema(), &schema) && *batch.schema() != *schema => {
                Err(Error::Service {
                    service: service.to_owned(),
                    source: format!(
                        "a batch has schema {:?}, but the stream's schema is {:?}",
                        batch.schema(),
                        schema
                    )
                    .into(),
                })
            }
            other => other,
        })
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_a() -> TypeId {
        TypeId::of::<u8>()
    }
    fn id_b() -> TypeId {
        TypeId::of::<u16>()
    }
    fn no_fields() -> &'static [FieldInfo] {
        &[]
    }
    fn no_states() -> Vec<(TypeId, &'static str)> {
        Vec::new()
    }
    fn wants_string() -> Vec<(TypeId, &'static str)> {
        vec![(TypeId::of::<String>(), "String")]
    }
    fn check(_: Map<String, Value>) -> Result<()> {
        Ok(())
    }
    fn invoke(
        _: Map<String, Value>,
        _: Context,
        _: &States,
    ) -> Result<BoxFuture<'static, Result<BatchStream>>> {
        Ok(async { Ok(futures::stream::empty().boxed()) }.boxed())
    }

    const fn entry(
        name: &'static str,
        id: fn() -> TypeId,
        handler: &'static str,
        location: &'static str,
        states: fn() -> Vec<(TypeId, &'static str)>,
    ) -> ServiceEntry {
        ServiceEntry {
            request_name: name,
            request_type: name,
            request_id: id,
            request_fields: no_fields,
            handler,
            location,
            states,
            schema: None,
            blocking: false,
            check,
            invoke,
        }
    }

    static A1: ServiceEntry = entry("a", id_a, "crate::one", "src/one.rs:3", no_states);
    static A2: ServiceEntry = entry("a2", id_a, "crate::two", "src/two.rs:9", no_states);
    static B_SAME_NAME: ServiceEntry =
        entry("a", id_b, "crate::three", "src/three.rs:1", no_states);
    static B: ServiceEntry = entry("b", id_b, "crate::four", "src/four.rs:4", wants_string);

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
}
