//! The [`FlightRequest`] trait: a request type's registered name, its fields and its validation.

/// A typed request: what a ticket decodes into before a service sees it.
///
/// Implement it with `#[derive(FlightRequest)]`; the derive writes the registered
/// name (the Rust path of the type, or `#[flight(name = "...")]`), the field
/// description and the validation hook.
///
/// ```
/// use fastflight::prelude::*;
///
/// #[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
/// #[flight(name = "demo.Greeting", validate = check)]
/// pub struct Greeting {
///     pub name: String,
///     pub times: Option<u32>,
/// }
///
/// fn check(g: &Greeting) -> Result<(), String> {
///     if g.name.is_empty() { Err("name must not be empty".into()) } else { Ok(()) }
/// }
///
/// assert_eq!(<Greeting as FlightRequest>::NAME, "demo.Greeting");
/// let ticket = fastflight::ticket::encode(&Greeting { name: "ada".into(), times: None }).unwrap();
/// let json: serde_json::Value = serde_json::from_slice(&ticket).unwrap();
/// assert_eq!(json["param_type"], "demo.Greeting");
/// assert_eq!(json["name"], "ada");
///
/// let schema = Greeting::request_schema();
/// assert_eq!(schema["properties"]["param_type"]["const"], "demo.Greeting");
/// assert_eq!(schema["properties"]["name"]["type"], "string");
/// assert_eq!(schema["required"], serde_json::json!(["param_type", "name"]));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a FlightRequest",
    label = "not a FlightRequest",
    note = "add `#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]` to the struct"
)]
pub trait FlightRequest:
    serde::Serialize + serde::de::DeserializeOwned + RequestSchema + Send + 'static
{
    /// The registered name: the `param_type` of every ticket for this request.
    const NAME: &'static str;

    /// The request's fields, for service listings.
    fn fields() -> &'static [FieldInfo];

    /// Checks a decoded request before the service runs; an `Err` is sent as `InvalidArgument`.
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }

    /// The JSON Schema (draft 2020-12) of the ticket: the type's own schema (from its
    /// `JsonSchema` derive, which follows its serde attributes) with the `param_type`
    /// key added, required and fixed to [`FlightRequest::NAME`].
    fn request_schema() -> serde_json::Value {
        let mut schema = Self::root_schema();
        if let Some(object) = schema.as_object_mut() {
            object.insert("title".to_owned(), Self::NAME.into());
            let properties = object
                .entry("properties")
                .or_insert_with(|| serde_json::json!({}));
            if let Some(properties) = properties.as_object_mut() {
                properties.insert(
                    crate::wire::PARAM_TYPE.to_owned(),
                    serde_json::json!({"type": "string", "const": Self::NAME}),
                );
            }
            let required = object
                .entry("required")
                .or_insert_with(|| serde_json::json!([]));
            if let Some(required) = required.as_array_mut() {
                required.insert(0, crate::wire::PARAM_TYPE.into());
            }
        }
        schema.to_value()
    }
}

/// A request type's JSON Schema, which listings carry: any type deriving schemars'
/// `JsonSchema` has it. Without the derive, the compiler says what to write, on the
/// request type; a `chrono` field needs fastflight's `chrono` feature (which turns on
/// schemars' `chrono04`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no JSON Schema, which the listing of a FlightRequest carries",
    label = "add `JsonSchema` to its derive",
    note = "write `#[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]`; a field of a chrono type needs fastflight's `chrono` feature"
)]
pub trait RequestSchema {
    /// The type's own JSON Schema, as its `JsonSchema` derive writes it.
    fn root_schema() -> schemars::Schema;
}

// Not recommended in errors: the compiler then names `RequestSchema` (and says what to
// write) rather than `JsonSchema` and a list of the types that have one.
#[diagnostic::do_not_recommend]
impl<T: schemars::JsonSchema> RequestSchema for T {
    fn root_schema() -> schemars::Schema {
        schemars::SchemaGenerator::default().into_root_schema_for::<T>()
    }
}

/// A validation hook as a trait, used by `#[flight(validate)]` without a path.
///
/// ```
/// use fastflight::prelude::*;
///
/// #[derive(FlightRequest, Serialize, Deserialize, JsonSchema)]
/// #[flight(validate)]
/// pub struct Range { pub start: i64, pub end: i64 }
///
/// impl fastflight::Validate for Range {
///     fn validate(&self) -> Result<(), String> {
///         if self.start <= self.end { Ok(()) } else { Err("start must not exceed end".into()) }
///     }
/// }
///
/// assert!(FlightRequest::validate(&Range { start: 2, end: 1 }).is_err());
/// ```
pub trait Validate {
    /// `Err` with a message naming the bad field refuses the request.
    fn validate(&self) -> Result<(), String>;
}

/// One field of a request, as listings show it.
#[derive(Debug, Clone, Copy)]
pub struct FieldInfo {
    /// The field's name on the wire.
    pub name: &'static str,
    /// The field's Rust type, as written.
    pub ty: &'static str,
    /// False when the field may be left out (an `Option`, or `#[serde(default)]`).
    pub required: bool,
    /// The value a left-out field takes, as JSON.
    pub default: Option<fn() -> serde_json::Value>,
}

/// Clients the typed stubs of `#[derive(FlightRequest)]` work with: the async one (a
/// future of a stream) and the blocking one (an iterator).
#[doc(hidden)]
pub trait FetchRequest {
    /// What a fetch gives: a future of a stream, or (blocking) an iterator.
    type Output;
    /// Fetches a typed request.
    fn fetch_request<R: FlightRequest>(&self, request: R) -> Self::Output;
}

/// The row type a request declares (`#[flight(rows = T)]`), written by
/// `#[derive(FlightRequest)]`: [`AnyRows`] when it declares none. `#[data_service]`
/// checks that its service yields those rows.
#[doc(hidden)]
pub trait DeclaredRows {
    /// [`AnyRows`], or [`RowsOf<T>`].
    type Rows;
}

/// A request that declares no row type: its service may return anything.
#[doc(hidden)]
pub struct AnyRows;

/// A request that declares rows `T`.
#[doc(hidden)]
pub struct RowsOf<T>(std::marker::PhantomData<T>);

/// How a client fetches a request's result as rows (the typed stubs of requests with
/// `#[flight(rows = T)]`): a future of a [`RowStream`](crate::client::RowStream), or
/// (blocking) an iterator of rows.
pub trait FetchRows {
    /// What a fetch of rows `T` gives.
    type Rows<T: crate::rows::ArrowRow>;
    /// Fetches a typed request, its result read as rows `T` (the schema checked first).
    fn fetch_rows<R: FlightRequest, T: crate::rows::ArrowRow>(&self, request: R) -> Self::Rows<T>;
}
