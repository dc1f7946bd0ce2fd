//! Services as listings describe them: [`ServiceInfo`] (the `list_services` action,
//! the CLI's `services`, the gateway's `/services`), and the JSON Schema of a request.

use serde_json::{json, Map, Value};

#[cfg(feature = "server")]
use crate::registry::ServiceEntry;

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

#[cfg(feature = "server")]
impl ServiceInfo {
    /// A registered service as listings describe it.
    pub(crate) fn of(entry: &ServiceEntry) -> ServiceInfo {
        ServiceInfo {
            name: entry.name().to_owned(),
            request_type: entry.request_type.to_owned(),
            handler: entry.handler.to_owned(),
            fields: (entry.request)()
                .fields
                .iter()
                .map(|f| FieldDescription {
                    name: f.name.to_owned(),
                    ty: f.ty.to_owned(),
                    required: f.required,
                    default: f.default.map(|default| default()),
                })
                .collect(),
            schema_declared: entry.schema.is_some(),
            blocking: entry.blocking,
        }
    }
}

/// The JSON Schema (draft 2020-12) of the JSON object a request is sent as.
///
/// ```
/// # use fastflight::listing::{FieldDescription, ServiceInfo};
/// let info = ServiceInfo {
///     name: "demo.Range".into(), request_type: "Range".into(), handler: "range".into(),
///     fields: vec![FieldDescription { name: "n".into(), ty: "u64".into(), required: true, default: None }],
///     schema_declared: false, blocking: false,
/// };
/// let schema = fastflight::listing::request_schema(&info);
/// assert_eq!(schema["properties"]["n"]["type"], "integer");
/// assert_eq!(schema["properties"]["param_type"]["const"], "demo.Range");
/// assert_eq!(schema["required"][0], "param_type");
/// ```
pub fn request_schema(info: &ServiceInfo) -> Value {
    let mut properties = Map::new();
    properties.insert(
        "param_type".to_owned(),
        json!({"type": "string", "const": info.name}),
    );
    let mut required = vec![Value::String("param_type".to_owned())];
    for field in &info.fields {
        let mut schema = type_schema(&field.ty);
        if let (Some(default), Value::Object(map)) = (&field.default, &mut schema) {
            map.insert("default".to_owned(), default.clone());
        }
        properties.insert(field.name.clone(), schema);
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

/// The schema of a Rust type as written (`Option<Vec<String>>`, `u64`, ...).
pub fn type_schema(ty: &str) -> Value {
    let ty = ty.trim();
    if let Some(inner) = generic_arg(ty, "Option") {
        let mut schema = type_schema(inner);
        if let Value::Object(map) = &mut schema {
            match map.get("type").cloned() {
                Some(Value::String(t)) => {
                    map.insert("type".to_owned(), json!([t, "null"]));
                }
                _ => return json!({"anyOf": [schema, {"type": "null"}]}),
            }
        }
        return schema;
    }
    for list in ["Vec", "VecDeque", "HashSet", "BTreeSet"] {
        if let Some(inner) = generic_arg(ty, list) {
            return json!({"type": "array", "items": type_schema(inner)});
        }
    }
    if let Some(inner) = ty.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        let item = inner.split(';').next().unwrap_or(inner);
        return json!({"type": "array", "items": type_schema(item)});
    }
    for map in ["HashMap", "BTreeMap"] {
        if let Some(inner) = generic_arg(ty, map) {
            let value = inner.split_once(',').map(|(_, v)| v).unwrap_or("");
            return json!({"type": "object", "additionalProperties": type_schema(value)});
        }
    }
    let last = ty.rsplit("::").next().unwrap_or(ty);
    match last {
        "String" | "str" | "&str" | "char" | "PathBuf" => json!({"type": "string"}),
        "bool" => json!({"type": "boolean"}),
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => json!({"type": "integer", "minimum": 0}),
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => json!({"type": "integer"}),
        "f32" | "f64" => json!({"type": "number"}),
        _ => json!({"description": format!("Rust type `{ty}`")}),
    }
}

/// `inner` of `Name<inner>` (also with a path prefix such as `std::vec::Vec<...>`).
fn generic_arg<'a>(ty: &'a str, name: &str) -> Option<&'a str> {
    let open = ty.find('<')?;
    let head = ty[..open].trim();
    let head = head.rsplit("::").next().unwrap_or(head);
    (head == name && ty.ends_with('>')).then(|| ty[open + 1..ty.len() - 1].trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types() {
        assert_eq!(
            type_schema("Option<u64>"),
            json!({"type": ["integer", "null"], "minimum": 0})
        );
        assert_eq!(
            type_schema("std::vec::Vec<String>"),
            json!({"type": "array", "items": {"type": "string"}})
        );
        assert_eq!(
            type_schema("HashMap<String, f64>"),
            json!({"type": "object", "additionalProperties": {"type": "number"}})
        );
        assert_eq!(type_schema("[i32; 3]")["items"]["type"], "integer");
        assert!(type_schema("serde_json::Value")["description"].is_string());
        assert_eq!(type_schema("Option<Value>")["anyOf"][1]["type"], "null");
    }
}
