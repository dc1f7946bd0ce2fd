//! Session options (`SetSessionOptions`, `GetSessionOptions`, `CloseSession`): the
//! default catalog and schema of a caller's statements, as JDBC's `catalog` and
//! `schema` connection properties set them.
//!
//! Nothing is kept on the server: the options travel in a cookie
//! ([`COOKIE`]) that the answer to `SetSessionOptions` sets and the client sends back
//! (ADBC and JDBC keep cookies), so any replica answers. The options are defaults of
//! name resolution only, never a grant: what a caller may call is decided per call.
//!
//! The messages are those of `Flight.proto` (arrow-flight has no types for them).

use std::collections::HashMap;

use base64::Engine as _;

use super::catalog::{Catalog, CATALOG};

/// The cookie that carries a session's options.
pub const COOKIE: &str = "fastflight_session";

/// The option naming the default catalog (only `fastflight` exists).
pub const CATALOG_OPTION: &str = "catalog";
/// The option naming the default schema of unqualified table names.
pub const SCHEMA_OPTION: &str = "schema";

/// The longest value of an option accepted.
pub const MAX_OPTION_BYTES: usize = 256;

/// `SetSessionOptions`' action type.
pub const SET_SESSION_OPTIONS: &str = "SetSessionOptions";
/// `GetSessionOptions`' action type.
pub const GET_SESSION_OPTIONS: &str = "GetSessionOptions";
/// `CloseSession`'s action type.
pub const CLOSE_SESSION: &str = "CloseSession";

pub use messages::*;

/// The messages of the session actions, field for field as `Flight.proto` has them.
#[allow(missing_docs)]
pub mod messages {
    use std::collections::HashMap;

    /// One option's value (`SessionOptionValue`).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SessionOptionValue {
        #[prost(oneof = "OptionValue", tags = "1, 2, 3, 4, 5")]
        pub option_value: Option<OptionValue>,
    }

    /// The kinds of an option's value.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum OptionValue {
        #[prost(string, tag = "1")]
        StringValue(String),
        #[prost(bool, tag = "2")]
        BoolValue(bool),
        #[prost(sfixed64, tag = "3")]
        Int64Value(i64),
        #[prost(double, tag = "4")]
        DoubleValue(f64),
        #[prost(message, tag = "5")]
        StringListValue(StringListValue),
    }

    /// A list of strings as an option's value.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct StringListValue {
        #[prost(string, repeated, tag = "1")]
        pub values: Vec<String>,
    }

    /// `SetSessionOptionsRequest`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SetSessionOptionsRequest {
        #[prost(map = "string, message", tag = "1")]
        pub session_options: HashMap<String, SessionOptionValue>,
    }

    /// `SetSessionOptionsResult`: the options refused, each with why.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SetSessionOptionsResult {
        #[prost(map = "string, message", tag = "1")]
        pub errors: HashMap<String, OptionError>,
    }

    /// Why an option was refused (`SetSessionOptionsResult.Error`).
    #[derive(Clone, Copy, PartialEq, prost::Message)]
    pub struct OptionError {
        #[prost(enumeration = "ErrorValue", tag = "1")]
        pub value: i32,
    }

    /// `SetSessionOptionsResult.ErrorValue`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum ErrorValue {
        Unspecified = 0,
        InvalidName = 1,
        InvalidValue = 2,
        Error = 3,
    }

    /// `GetSessionOptionsRequest`.
    #[derive(Clone, Copy, PartialEq, prost::Message)]
    pub struct GetSessionOptionsRequest {}

    /// `GetSessionOptionsResult`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct GetSessionOptionsResult {
        #[prost(map = "string, message", tag = "1")]
        pub session_options: HashMap<String, SessionOptionValue>,
    }

    /// `CloseSessionRequest`.
    #[derive(Clone, Copy, PartialEq, prost::Message)]
    pub struct CloseSessionRequest {}

    /// `CloseSessionResult`.
    #[derive(Clone, Copy, PartialEq, prost::Message)]
    pub struct CloseSessionResult {
        #[prost(enumeration = "CloseStatus", tag = "1")]
        pub status: i32,
    }

    /// `CloseSessionResult.Status`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum CloseStatus {
        Unspecified = 0,
        Closed = 1,
        Closing = 2,
        NotCloseable = 3,
    }
}

/// A session's options.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Session {
    /// The default catalog.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog: Option<String>,
    /// The default schema of unqualified table names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
}

impl Session {
    /// The session a request's `cookie` header carries (none, or a cookie that is not
    /// one this server set, is the empty session).
    pub fn from_cookies(header: Option<&str>) -> Self {
        let Some(header) = header else {
            return Self::default();
        };
        header
            .split(';')
            .filter_map(|c| c.trim().split_once('='))
            .find(|(name, _)| *name == COOKIE)
            .and_then(|(_, value)| {
                let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(value.trim())
                    .ok()?;
                serde_json::from_slice::<Session>(&bytes).ok()
            })
            .filter(Session::bounded)
            .unwrap_or_default()
    }

    fn bounded(&self) -> bool {
        [&self.catalog, &self.schema]
            .iter()
            .all(|v| v.as_ref().is_none_or(|v| v.len() <= MAX_OPTION_BYTES))
    }

    /// The `set-cookie` value that carries these options.
    pub fn set_cookie(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        format!(
            "{COOKIE}={}; Path=/; HttpOnly",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
        )
    }

    /// The `set-cookie` value that ends a session.
    pub fn clear_cookie() -> String {
        format!("{COOKIE}=; Path=/; Max-Age=0")
    }

    /// Sets the options of `request` that this server knows and the values it accepts
    /// (a catalog that is `fastflight`, a schema of `catalog`); the others are refused,
    /// each with its reason.
    pub fn set(
        &mut self,
        request: SetSessionOptionsRequest,
        catalog: &Catalog,
    ) -> SetSessionOptionsResult {
        let mut errors = HashMap::new();
        let refuse = |errors: &mut HashMap<String, OptionError>, name: String, why: ErrorValue| {
            errors.insert(name, OptionError { value: why as i32 });
        };
        for (name, value) in request.session_options {
            if name != CATALOG_OPTION && name != SCHEMA_OPTION {
                refuse(&mut errors, name, ErrorValue::InvalidName);
                continue;
            }
            let text = match value.option_value {
                Some(OptionValue::StringValue(text)) if text.len() <= MAX_OPTION_BYTES => {
                    Some(text)
                }
                // An option given no value is unset.
                None => None,
                Some(_) => {
                    refuse(&mut errors, name, ErrorValue::InvalidValue);
                    continue;
                }
            };
            if name == CATALOG_OPTION {
                match text {
                    Some(text) if !text.eq_ignore_ascii_case(CATALOG) => {
                        refuse(&mut errors, name, ErrorValue::InvalidValue)
                    }
                    text => self.catalog = text.map(|_| CATALOG.to_owned()),
                }
                continue;
            }
            match text {
                Some(text) => match catalog
                    .schemas()
                    .into_iter()
                    .find(|s| s.eq_ignore_ascii_case(&text))
                {
                    Some(schema) => self.schema = Some(schema.to_owned()),
                    None => refuse(&mut errors, name, ErrorValue::InvalidValue),
                },
                None => self.schema = None,
            }
        }
        SetSessionOptionsResult { errors }
    }

    /// The options as `GetSessionOptions` answers them.
    pub fn get(&self) -> GetSessionOptionsResult {
        let mut options = HashMap::new();
        for (name, value) in [
            (CATALOG_OPTION, &self.catalog),
            (SCHEMA_OPTION, &self.schema),
        ] {
            if let Some(value) = value {
                options.insert(
                    name.to_owned(),
                    SessionOptionValue {
                        option_value: Some(OptionValue::StringValue(value.clone())),
                    },
                );
            }
        }
        GetSessionOptionsResult {
            session_options: options,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_goes_and_comes_back_in_its_cookie_and_a_foreign_one_is_empty() {
        let session = Session {
            catalog: Some("fastflight".into()),
            schema: Some("fastflight.demo".into()),
        };
        let set = session.set_cookie();
        let value = set.split(';').next().unwrap_or_default();
        let header = format!("other=1; {value}; last=2");
        assert_eq!(Session::from_cookies(Some(&header)), session);
        for bad in [
            "fastflight_session=!!!",
            "fastflight_session=e30",
            "fastflight_session",
            "",
        ] {
            assert_eq!(
                Session::from_cookies(Some(bad)),
                Session::default(),
                "{bad}"
            );
        }
        let long = Session {
            catalog: None,
            schema: Some("x".repeat(MAX_OPTION_BYTES + 1)),
        };
        let value = long.set_cookie();
        let value = value.split(';').next().unwrap_or_default();
        assert_eq!(Session::from_cookies(Some(value)), Session::default());
    }
}
