//! `GET {prefix}/registered_data_types` and `GET {prefix}/services`: the services a
//! caller may see.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::json;

use super::errors::ApiError;
use super::{authorization, Gateway};
use crate::listing::ServiceInfo;
use crate::Result;

/// The services a gateway caller may see.
async fn listed(
    gateway: &Gateway,
    identity: Option<axum::Extension<crate::auth::Identity>>,
    headers: &HeaderMap,
    caller: SocketAddr,
) -> Result<Vec<ServiceInfo>> {
    let who = identity.map(|axum::Extension(who)| who);
    gateway
        .source
        .services(who.as_ref(), authorization(headers), Some(caller))
        .await
}

/// `GET {prefix}/registered_data_types`: `[{"params_type": NAME, "service_type": HANDLER}]`.
/// The key is `params_type` (the Python package's spelling, kept so its tools read this
/// listing), while tickets name the type under `param_type`.
pub(super) async fn registered_data_types(
    State(gateway): State<Gateway>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    identity: Option<axum::Extension<crate::auth::Identity>>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let services = listed(&gateway, identity, &headers, peer).await?;
    Ok(Json(serde_json::Value::Array(
        services
            .iter()
            .map(|s| json!({"params_type": s.name, "service_type": s.handler}))
            .collect(),
    )))
}

pub(super) async fn services(
    State(gateway): State<Gateway>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    identity: Option<axum::Extension<crate::auth::Identity>>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let services = listed(&gateway, identity, &headers, peer).await?;
    Ok(Json(serde_json::Value::Array(
        services
            .iter()
            .map(|s| {
                json!({
                    "name": s.name,
                    "handler": s.handler,
                    "request_type": s.request_type,
                    "fields": s.fields,
                    "json_schema": crate::listing::request_schema(s),
                    "result_schema": s.result_schema,
                })
            })
            .collect(),
    )))
}
