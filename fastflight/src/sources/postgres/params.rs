//! A request's JSON parameters bound to a statement: each checked against the type the
//! statement gives it, never spliced into the SQL text.

use bytes::BytesMut;
use tokio_postgres::types::{IsNull, Kind, ToSql, Type};
use tonic::Code;

use crate::{Error, Result};

/// A JSON request parameter, checked against the type the statement gives it.
#[derive(Debug)]
pub(super) struct JsonParam(Param);

#[derive(Debug)]
pub(super) enum Param {
    Null,
    Bool(bool),
    I16(i16),
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
    Text(String),
}

impl JsonParam {
    pub(super) fn new(i: usize, value: &serde_json::Value, ty: &Type) -> Result<Self> {
        use serde_json::Value as J;
        let bad = |what: &str| {
            Error::status(
                Code::InvalidArgument,
                format!(
                    "field `params[{i}]`: {what} (parameter ${} is `{}`)",
                    i + 1,
                    ty.name()
                ),
            )
        };
        let int = |n: &serde_json::Number| n.as_i64().ok_or_else(|| bad("not an integer"));
        let param = match (value, base(ty)) {
            (J::Null, _) => Param::Null,
            (J::Bool(b), t) if t == Type::BOOL => Param::Bool(*b),
            (J::Number(n), t) if t == Type::INT2 => {
                Param::I16(i16::try_from(int(n)?).map_err(|_| bad("out of the range of int2"))?)
            }
            (J::Number(n), t) if t == Type::INT4 => {
                Param::I32(i32::try_from(int(n)?).map_err(|_| bad("out of the range of int4"))?)
            }
            (J::Number(n), t) if t == Type::INT8 => Param::I64(int(n)?),
            (J::Number(n), t) if t == Type::FLOAT4 => {
                Param::F32(n.as_f64().unwrap_or(f64::NAN) as f32)
            }
            (J::Number(n), t) if t == Type::FLOAT8 => Param::F64(n.as_f64().unwrap_or(f64::NAN)),
            (J::String(s), t) if is_text(&t) => Param::Text(s.clone()),
            (J::Number(n), t) if is_text(&t) => Param::Text(n.to_string()),
            (J::Array(_) | J::Object(_), _) => {
                return Err(bad("arrays and objects are not parameters"))
            }
            _ => {
                return Err(bad(&format!(
                    "a JSON {} does not fit; cast the parameter in the query (`${}::text`)",
                    json_kind(value),
                    i + 1
                )))
            }
        };
        Ok(Self(param))
    }
}

pub(super) fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// The type under a domain.
pub(super) fn base(ty: &Type) -> Type {
    match ty.kind() {
        Kind::Domain(inner) => base(inner),
        _ => ty.clone(),
    }
}

pub(super) fn is_text(ty: &Type) -> bool {
    [
        Type::TEXT,
        Type::VARCHAR,
        Type::BPCHAR,
        Type::NAME,
        Type::UNKNOWN,
    ]
    .contains(ty)
}

impl ToSql for JsonParam {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match &self.0 {
            Param::Null => Ok(IsNull::Yes),
            Param::Bool(v) => v.to_sql(ty, out),
            Param::I16(v) => v.to_sql(ty, out),
            Param::I32(v) => v.to_sql(ty, out),
            Param::I64(v) => v.to_sql(ty, out),
            Param::F32(v) => v.to_sql(ty, out),
            Param::F64(v) => v.to_sql(ty, out),
            Param::Text(v) => v.as_str().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}
