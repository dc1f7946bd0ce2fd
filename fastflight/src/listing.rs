//! Services as listings describe them: [`ServiceInfo`] (the `list_services` action,
//! the CLI's `services`, the gateway's `/services`), with the JSON Schema of each
//! request.

use serde_json::{json, Map, Value};

/// A service as listings describe it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
    /// The declared result schema (a typed service's row type, or `schema = fn`'s) as
    /// JSON: `{"fields": [{"name", "type", "nullable"}]}` ([`schema_json`]); null when
    /// none is declared.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub result_schema: Value,
    /// Whether the service runs on a blocking thread.
    pub blocking: bool,
    /// Whether GetFlightInfo splits a request into several endpoints (partitions).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub partitioned: bool,
    /// The JSON Schema of the request ([`FlightRequest::request_schema`](crate::FlightRequest::request_schema));
    /// null in listings of servers that send none.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub json_schema: Value,
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

/// The JSON Schema of the JSON object a request is sent as: the one the listing carries,
/// or (from a server that sends none) one made of the field names, any value each, with
/// the required ones and the defaults.
///
/// ```
/// # use fastflight::listing::{FieldDescription, ServiceInfo};
/// let info = ServiceInfo {
///     name: "demo.Range".into(), request_type: "Range".into(), handler: "range".into(),
///     fields: vec![FieldDescription { name: "n".into(), ty: "u64".into(), required: true, default: None }],
///     schema_declared: false, result_schema: serde_json::Value::Null, blocking: false, partitioned: false, json_schema: serde_json::Value::Null,
/// };
/// let schema = fastflight::listing::request_schema(&info);
/// assert_eq!(schema["properties"]["param_type"]["const"], "demo.Range");
/// assert_eq!(schema["required"], serde_json::json!(["param_type", "n"]));
/// ```
pub fn request_schema(info: &ServiceInfo) -> Value {
    if !info.json_schema.is_null() {
        return info.json_schema.clone();
    }
    let mut properties = Map::new();
    properties.insert(
        crate::wire::PARAM_TYPE.to_owned(),
        json!({"type": "string", "const": info.name}),
    );
    let mut required = vec![Value::String(crate::wire::PARAM_TYPE.to_owned())];
    for field in &info.fields {
        let mut schema = Map::new();
        schema.insert(
            "description".to_owned(),
            format!("Rust type `{}`", field.ty).into(),
        );
        if let Some(default) = &field.default {
            schema.insert("default".to_owned(), default.clone());
        }
        properties.insert(field.name.clone(), Value::Object(schema));
        if field.required {
            required.push(Value::String(field.name.clone()));
        }
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": info.name,
        "type": "object",
        "properties": properties,
        "required": required,
    })
}

/// An Arrow schema as listings give it: each field's name, type (as Arrow writes it:
/// `Int64`, `Timestamp(µs, "UTC")`, `List(Int32)`) and nullability, nested fields under
/// `fields`.
///
/// ```
/// use fastflight::arrow::datatypes::{DataType, Field, Schema};
///
/// let schema = Schema::new(vec![Field::new("id", DataType::Int64, false)]);
/// let json = fastflight::listing::schema_json(&schema);
/// assert_eq!(json["fields"][0]["name"], "id");
/// assert_eq!(json["fields"][0]["type"], "Int64");
/// assert_eq!(json["fields"][0]["nullable"], false);
/// ```
pub fn schema_json(schema: &arrow::datatypes::Schema) -> Value {
    fn fields<'a>(fields: impl Iterator<Item = &'a arrow::datatypes::FieldRef>) -> Value {
        Value::Array(fields.map(|f| field(f)).collect())
    }
    fn field(f: &arrow::datatypes::Field) -> Value {
        use arrow::datatypes::DataType;
        let mut out = serde_json::Map::new();
        out.insert("name".into(), Value::from(f.name().as_str()));
        out.insert("type".into(), Value::from(f.data_type().to_string()));
        out.insert("nullable".into(), Value::from(f.is_nullable()));
        match f.data_type() {
            DataType::Struct(children) => {
                out.insert("fields".into(), fields(children.iter()));
            }
            DataType::List(item) | DataType::LargeList(item) => {
                out.insert("item".into(), field(item));
            }
            _ => {}
        }
        Value::Object(out)
    }
    serde_json::json!({ "fields": fields(schema.fields().iter()) })
}
