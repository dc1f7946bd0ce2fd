//! One error type for the whole crate, and its mapping to gRPC status codes.

/// A boxed error from user code (a service, a validation hook, a data source).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The result type of fastflight.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong between a ticket and the last record batch.
///
/// Each variant maps to the [`tonic::Code`] a client can act on: see [`Error::code`].
/// Its `Debug` form is its message, so a `main` returning [`Result`] prints
/// `Error: cannot connect to grpc://127.0.0.1:8815: Connection refused (os error 111)`.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The ticket is empty, not JSON, not a JSON object, or has no string `param_type`.
    #[error("invalid ticket: {}", clip(.0))]
    InvalidTicket(String),
    /// A request field is missing or has the wrong type; `path` names the field.
    #[error("invalid request `{param_type}`: {}{}", field_prefix(.path), clip(.message))]
    InvalidField {
        /// The registered name of the request type.
        param_type: String,
        /// The path of the bad field (`rows`, `filter.limit`, `ids[2]`), or `.` for the whole object.
        path: String,
        /// What serde said.
        message: String,
    },
    /// The request's validation hook refused it.
    #[error("invalid request `{param_type}`: {message}")]
    Validation {
        /// The registered name of the request type.
        param_type: String,
        /// What the hook said.
        message: String,
    },
    /// No service is registered for this `param_type`.
    #[error("no service is registered for param_type `{}`; registered: [{}]", clip(.name), .registered.join(", "))]
    UnknownRequest {
        /// The name the ticket asked for.
        name: String,
        /// Every registered name.
        registered: Vec<String>,
    },
    /// The service returned an error.
    #[error("service `{service}` failed: {source}")]
    Service {
        /// The service's handler path.
        service: String,
        /// What the service returned.
        source: BoxError,
    },
    /// The service panicked; the server keeps serving.
    #[error("service `{service}` panicked: {message}")]
    Panic {
        /// The service's handler path.
        service: String,
        /// The panic payload, where it was a string.
        message: String,
    },
    /// A status received from, or meant for, a peer, kept with its own code.
    #[error("{} ({:?}): {}", .0.message(), .0.code(), .0.code().description())]
    Status(Box<tonic::Status>),
    /// An Arrow error (IPC decoding, concatenation, ...).
    #[error("arrow error: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// A connection could not be made or broke.
    #[error("transport error: {}", source_chain(.0))]
    Transport(#[from] tonic::transport::Error),
    /// No connection could be made to a server.
    #[error("cannot connect to {location}: {cause}")]
    Connect {
        /// The location asked for.
        location: String,
        /// Why, as the operating system or the protocol said it (`connection refused`).
        cause: String,
    },
    /// The registry cannot start: duplicate bindings, colliding names, missing state.
    #[error("the service registry cannot start:\n{}", .0.join("\n"))]
    Registry(Vec<String>),
    /// A batch cannot be read as (or built from) rows of a type: a column missing or of
    /// another type, a null in a field that is not an `Option`.
    #[error("rows of `{row}`: {message}")]
    Row {
        /// The row type's name.
        row: String,
        /// What is wrong, naming the field.
        message: String,
    },
    /// A SQL statement that cannot be answered: it does not parse, names no table, or
    /// asks for what is not supported (the message says what, and what is).
    #[error("SQL: {}", clip_at(.0, 2_000))]
    Sql(String),
    /// A bad setting (location, option).
    #[error("configuration error: {0}")]
    Config(String),
    /// An I/O error.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// The messages of an error and its sources, without repeats: tonic's transport error
/// says "transport error" and keeps the cause (`Connection refused`) in its source.
fn source_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.retain(|p| p != "transport error");
    if parts.is_empty() {
        "transport error".to_owned()
    } else {
        parts.join(": ")
    }
}

fn field_prefix(path: &str) -> String {
    if path.is_empty() || path == "." {
        String::new()
    } else {
        format!("field `{}`: ", clip(path))
    }
}

/// The longest piece of a peer's text an error message or a log line repeats.
const CLIP: usize = 200;

/// A peer's text as errors and logs repeat it: control characters escaped (no forged
/// log lines), and cut after `CLIP` (200) characters (no flooded logs or statuses).
///
/// ```
/// # use fastflight::error::clip;
/// assert_eq!(clip("a\nb"), "a\\nb");
/// assert!(clip(&"x".repeat(10_000)).len() < 300);
/// ```
pub fn clip(text: &str) -> String {
    clip_at(text, CLIP)
}

/// [`clip`] after `n` characters: for messages of our own making that quote clipped
/// pieces of the caller's input (a SQL statement's refusal lists tables and fields).
pub(crate) fn clip_at(text: &str, n: usize) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == n {
            out.push_str(&format!("… ({} bytes in all)", text.len()));
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

impl Error {
    /// A failed connection to `location`, with the innermost cause.
    #[cfg(feature = "client")]
    pub(crate) fn connect(location: &str, error: &(dyn std::error::Error + 'static)) -> Self {
        Error::Connect {
            location: location.to_owned(),
            cause: source_chain(error),
        }
    }

    /// Wraps a service's own error, keeping a [`Error`] or [`tonic::Status`] it carries as it is.
    pub fn service(service: &str, error: impl Into<BoxError>) -> Self {
        let error: BoxError = error.into();
        let error = match error.downcast::<Error>() {
            Ok(own) => return *own,
            Err(other) => other,
        };
        match error.downcast::<tonic::Status>() {
            Ok(status) => Error::Status(status),
            Err(source) => Error::Service {
                service: service.to_owned(),
                source,
            },
        }
    }

    /// A status error with the given code and message, for services that want a specific code.
    ///
    /// ```
    /// let e = fastflight::Error::status(tonic::Code::NotFound, "no such table `x`");
    /// assert_eq!(e.code(), tonic::Code::NotFound);
    /// ```
    pub fn status(code: tonic::Code, message: impl Into<String>) -> Self {
        Error::Status(Box::new(tonic::Status::new(code, message)))
    }

    /// An error that is the server's, not the caller's (a replica of its database
    /// restarting, say): clients retry it after a pause, and never count it against the
    /// server's availability. Every other error a service returns is the caller's own:
    /// neither retried nor counted (see [`crate::wire::FAULT_HEADER`]).
    ///
    /// ```
    /// let e = fastflight::Error::server_fault(tonic::Code::Unavailable, "the database is restarting");
    /// assert_eq!(e.code(), tonic::Code::Unavailable);
    /// ```
    pub fn server_fault(code: tonic::Code, message: impl Into<String>) -> Self {
        refusal(code, crate::wire::Fault::Server, message)
    }

    /// The gRPC code this error is sent with.
    pub fn code(&self) -> tonic::Code {
        use tonic::Code;
        match self {
            Error::InvalidTicket(_) | Error::InvalidField { .. } | Error::Validation { .. } => {
                Code::InvalidArgument
            }
            Error::UnknownRequest { .. } => Code::NotFound,
            Error::Status(s) => s.code(),
            Error::Transport(_) | Error::Connect { .. } => Code::Unavailable,
            Error::Config(_) | Error::Sql(_) => Code::InvalidArgument,
            Error::Row { .. } => Code::FailedPrecondition,
            Error::Service { .. }
            | Error::Panic { .. }
            | Error::Arrow(_)
            | Error::Registry(_)
            | Error::Io(_) => Code::Internal,
        }
    }
}

/// A refusal whose fault is said ([`crate::wire::FAULT_HEADER`]), so clients know
/// whether to retry and whether to count it against the server.
pub(crate) fn refusal(
    code: tonic::Code,
    fault: crate::wire::Fault,
    message: impl Into<String>,
) -> Error {
    let mut status = tonic::Status::new(code, message);
    status.metadata_mut().insert(
        crate::wire::FAULT_HEADER,
        tonic::metadata::MetadataValue::from_static(fault.header_value()),
    );
    Error::Status(Box::new(status))
}

impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl From<Error> for tonic::Status {
    fn from(e: Error) -> Self {
        match e {
            Error::Status(s) => *s,
            other => tonic::Status::new(other.code(), other.to_string()),
        }
    }
}

impl From<tonic::Status> for Error {
    fn from(s: tonic::Status) -> Self {
        // A connection that failed under a call is the way's error, not the service's:
        // `Unavailable` (which retries and circuit breakers act on), with its cause.
        if s.code() == tonic::Code::Unknown && s.message() == "transport error" {
            let cause = std::error::Error::source(&s)
                .map(|e| {
                    let mut text = e.to_string();
                    let mut next = e.source();
                    while let Some(inner) = next {
                        text = format!("{text}: {inner}");
                        next = inner.source();
                    }
                    text
                })
                .unwrap_or_default();
            return Error::Status(Box::new(tonic::Status::unavailable(format!(
                "transport error: {cause}"
            ))));
        }
        Error::Status(Box::new(s))
    }
}

impl From<arrow_flight::error::FlightError> for Error {
    fn from(e: arrow_flight::error::FlightError) -> Self {
        use arrow_flight::error::FlightError;
        match e {
            FlightError::Tonic(s) => Error::from(*s),
            FlightError::Arrow(a) => Error::Arrow(a),
            other => Error::Status(Box::new(tonic::Status::internal(other.to_string()))),
        }
    }
}

impl From<Error> for arrow_flight::error::FlightError {
    fn from(e: Error) -> Self {
        arrow_flight::error::FlightError::Tonic(Box::new(e.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_keeps_own_errors_and_statuses() {
        let e = Error::service("s", Error::status(tonic::Code::NotFound, "gone"));
        assert_eq!(e.code(), tonic::Code::NotFound);
        let e = Error::service("s", tonic::Status::permission_denied("no"));
        assert_eq!(e.code(), tonic::Code::PermissionDenied);
        let e = Error::service("s", "plain text");
        assert_eq!(e.code(), tonic::Code::Internal);
        assert!(e.to_string().contains("plain text"), "{e}");
    }

    #[test]
    fn invalid_field_names_the_path() {
        let e = Error::InvalidField {
            param_type: "p".into(),
            path: "rows".into(),
            message: "invalid type".into(),
        };
        assert_eq!(
            e.to_string(),
            "invalid request `p`: field `rows`: invalid type"
        );
        assert_eq!(tonic::Status::from(e).code(), tonic::Code::InvalidArgument);
    }
}
