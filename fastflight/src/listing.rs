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
///     schema_declared: false, blocking: false, partitioned: false, json_schema: serde_json::Value::Null,
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
