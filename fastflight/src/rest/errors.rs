//! A refusal as the gateway answers it: a JSON body and the HTTP status of its code.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::Error;

/// An error as the gateway answers it: `{"error": {"code", "message"}}` and a matching status.
pub(super) struct ApiError(pub(super) Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

/// The HTTP status for a gRPC code.
pub fn http_status(code: tonic::Code) -> StatusCode {
    use tonic::Code;
    match code {
        Code::Ok => StatusCode::OK,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

pub(super) fn error_body(e: &Error) -> serde_json::Value {
    let message = match e {
        Error::Status(status) => status.message().to_owned(),
        other => other.to_string(),
    };
    json!({"error": {"code": format!("{:?}", e.code()), "message": message}})
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (http_status(self.0.code()), Json(error_body(&self.0))).into_response();
        if self.0.code() == tonic::Code::Unauthenticated {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static(
                    r#"Bearer realm="fastflight", Basic realm="fastflight""#,
                ),
            );
        }
        response
    }
}

pub(super) async fn not_found() -> ApiError {
    ApiError(Error::status(
        tonic::Code::NotFound,
        "no such route; the gateway answers POST {prefix}/stream, GET {prefix}/registered_data_types, GET {prefix}/services, GET /health, /health/live, /health/ready and /metrics",
    ))
}
