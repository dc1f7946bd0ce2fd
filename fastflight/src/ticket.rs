//! The ticket codec: a JSON object whose `param_type` key names the request type.
//!
//! A Flight ticket, a `FlightDescriptor` command and a gateway request body are
//! the same bytes.

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::{Error, FlightRequest, Result};

/// The key that names the request type (defined with the rest of the wire contract).
pub use crate::wire::PARAM_TYPE;

/// Encodes a request as ticket bytes: its fields plus `param_type`.
pub fn encode<R: FlightRequest>(request: &R) -> Result<Bytes> {
    let value = serde_json::to_value(request)
        .map_err(|e| Error::Config(format!("request `{}` cannot be encoded: {e}", R::NAME)))?;
    let Value::Object(mut fields) = value else {
        return Err(Error::Config(format!(
            "request `{}` does not serialise to a JSON object",
            R::NAME
        )));
    };
    fields.insert(PARAM_TYPE.to_owned(), Value::String(R::NAME.to_owned()));
    serde_json::to_vec(&fields)
        .map(Bytes::from)
        .map_err(|e| Error::Config(format!("request `{}` cannot be encoded: {e}", R::NAME)))
}

/// Whether `bytes` may be a ticket of this codec (a JSON object, whitespace aside),
/// rather than another protocol's message (a packed Flight SQL command).
///
/// ```
/// assert!(fastflight::ticket::is_json_object(b" {\"param_type\": \"x\"}"));
/// assert!(!fastflight::ticket::is_json_object(&[0x0a, 0x01]));
/// ```
pub fn is_json_object(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_none_or(|&b| b == b'{')
}

/// A ticket split into its request name and its other fields.
#[derive(Debug, Clone, PartialEq)]
pub struct RawTicket {
    /// The `param_type`.
    pub param_type: String,
    /// The other keys.
    pub fields: Map<String, Value>,
}

/// Splits ticket bytes into name and fields; refuses anything but a JSON object with a string `param_type`.
pub fn decode(bytes: &[u8]) -> Result<RawTicket> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::InvalidTicket(
            "the ticket is empty; expected a JSON object with a `param_type` key".into(),
        ));
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| Error::InvalidTicket(format!("the ticket is not valid JSON: {e}")))?;
    let Value::Object(mut fields) = value else {
        return Err(Error::InvalidTicket(format!(
            "the ticket must be a JSON object, got {}",
            kind(&value)
        )));
    };
    match fields.remove(PARAM_TYPE) {
        Some(Value::String(param_type)) => Ok(RawTicket { param_type, fields }),
        Some(other) => Err(Error::InvalidTicket(format!(
            "`param_type` must be a string, got {}",
            kind(&other)
        ))),
        None => Err(Error::InvalidTicket(
            "the ticket has no `param_type` key naming the request type".into(),
        )),
    }
}

/// Deserialises the fields into the typed request and runs its validation hook.
pub fn into_request<R: FlightRequest>(fields: Map<String, Value>) -> Result<R> {
    let request: R = serde_path_to_error::deserialize(Value::Object(fields)).map_err(|e| {
        Error::InvalidField {
            param_type: R::NAME.to_owned(),
            path: e.path().to_string(),
            message: e.into_inner().to_string(),
        }
    })?;
    request.validate().map_err(|message| Error::Validation {
        param_type: R::NAME.to_owned(),
        message,
    })?;
    Ok(request)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FieldInfo;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
    struct Probe {
        rows: u64,
        label: Option<String>,
        inner: Inner,
    }
    #[derive(Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
    struct Inner {
        limit: u32,
    }
    impl FlightRequest for Probe {
        const NAME: &'static str = "test.Probe";
        fn fields() -> &'static [FieldInfo] {
            &[]
        }
        fn validate(&self) -> std::result::Result<(), String> {
            if self.rows == 13 {
                Err("rows must not be 13".into())
            } else {
                Ok(())
            }
        }
    }

    fn round(bytes: &[u8]) -> Result<Probe> {
        let raw = decode(bytes)?;
        assert_eq!(raw.param_type, "test.Probe");
        into_request(raw.fields)
    }

    #[test]
    fn encode_then_decode_round_trips() {
        let p = Probe {
            rows: 5,
            label: Some("x".into()),
            inner: Inner { limit: 2 },
        };
        let bytes = encode(&p).unwrap();
        let json: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(json["param_type"], "test.Probe");
        assert_eq!(json["rows"], 5);
        assert_eq!(round(&bytes).unwrap(), p);
    }

    #[test]
    fn bad_tickets_are_invalid_arguments_with_reasons() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "empty"),
            (b"  ", "empty"),
            (b"not json", "not valid JSON"),
            (b"[1,2]", "must be a JSON object, got an array"),
            (b"{\"rows\": 1}", "no `param_type`"),
            (b"{\"param_type\": 7}", "must be a string, got a number"),
        ];
        for (bytes, want) in cases {
            let e = decode(bytes).unwrap_err();
            assert_eq!(e.code(), tonic::Code::InvalidArgument);
            assert!(e.to_string().contains(want), "{e} should contain {want}");
        }
    }

    #[test]
    fn field_errors_name_the_field_path() {
        let e =
            round(br#"{"param_type":"test.Probe","rows":"many","inner":{"limit":1}}"#).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidField { path, .. } if path == "rows"),
            "{e}"
        );
        let e = round(br#"{"param_type":"test.Probe","rows":1,"inner":{"limit":-1}}"#).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidField { path, .. } if path == "inner.limit"),
            "{e}"
        );
        let e = round(br#"{"param_type":"test.Probe","inner":{"limit":1}}"#).unwrap_err();
        assert!(e.to_string().contains("missing field `rows`"), "{e}");
        assert_eq!(e.code(), tonic::Code::InvalidArgument);
    }

    #[test]
    fn validation_runs_after_decoding() {
        let e = round(br#"{"param_type":"test.Probe","rows":13,"inner":{"limit":1}}"#).unwrap_err();
        assert!(matches!(e, Error::Validation { .. }));
        assert!(e.to_string().contains("rows must not be 13"), "{e}");
    }

    /// Whatever bytes a peer sends as a ticket: no panic, and the outcome is a refusal
    /// with InvalidArgument (not a ticket, a bad field) or NotFound (an unknown name), or
    /// a valid request.
    mod arbitrary_tickets {
        use super::*;
        use proptest::prelude::*;

        /// The path a server takes: decode, look the name up, decode the fields.
        fn outcome(bytes: &[u8]) -> std::result::Result<Probe, Error> {
            let raw = decode(bytes)?;
            if raw.param_type != "test.Probe" {
                return Err(Error::UnknownRequest {
                    name: raw.param_type,
                    registered: vec!["test.Probe".into()],
                });
            }
            into_request::<Probe>(raw.fields)
        }

        fn check(bytes: &[u8]) {
            match outcome(bytes) {
                Ok(probe) => assert_ne!(probe.rows, 13, "validation ran"),
                Err(e) => assert!(
                    matches!(
                        e.code(),
                        tonic::Code::InvalidArgument | tonic::Code::NotFound
                    ),
                    "{e}"
                ),
            }
        }

        fn json() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                any::<f64>().prop_map(Value::from),
                "[a-z\\n\"\\\\]{0,12}".prop_map(Value::String),
                Just(Value::String("test.Probe".into())),
            ];
            leaf.prop_recursive(4, 48, 6, |inner| {
                prop_oneof![
                    proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                    proptest::collection::btree_map(
                        prop_oneof![
                            Just("param_type".to_owned()),
                            Just("rows".to_owned()),
                            Just("label".to_owned()),
                            Just("inner".to_owned()),
                            Just("limit".to_owned()),
                            "[a-z_]{1,8}",
                        ],
                        inner,
                        0..6
                    )
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2_000))]

            #[test]
            fn any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
                check(&bytes);
            }

            #[test]
            fn any_json(value in json()) {
                check(&serde_json::to_vec(&value).unwrap());
            }

            #[test]
            fn near_valid_requests(
                rows in any::<i64>(),
                label in proptest::option::of("[a-z]{0,8}"),
                limit in any::<i64>(),
                extra in "[a-z]{1,6}",
            ) {
                let ticket = serde_json::json!({
                    "param_type": "test.Probe",
                    "rows": rows,
                    "label": label,
                    "inner": {"limit": limit},
                    extra: 1,
                });
                check(&serde_json::to_vec(&ticket).unwrap());
            }
        }
    }
}
