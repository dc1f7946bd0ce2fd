//! `GET /health`, `/health/live`, `/health/ready` and `/metrics`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::errors::ApiError;
use super::source::Origin;
use super::Gateway;

pub(super) async fn health(
    State(gateway): State<Gateway>,
) -> Result<Json<serde_json::Value>, ApiError> {
    match gateway.source.services(None, None, None).await {
        Ok(services) => Ok(Json(json!({"status": "ok", "services": services.len()}))),
        // A proxied server that wants credentials answers: it is up.
        Err(e) if e.code() == tonic::Code::Unauthenticated => Ok(Json(json!({"status": "ok"}))),
        Err(e) => Err(e.into()),
    }
}

/// The Prometheus recorder of this process, installed by the first gateway; `None` when
/// the application installed a `metrics` recorder of its own.
pub(super) fn prometheus() -> Option<&'static metrics_exporter_prometheus::PrometheusHandle> {
    static HANDLE: std::sync::OnceLock<Option<metrics_exporter_prometheus::PrometheusHandle>> =
        std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
            let buckets = [0.001, 0.005, 0.025, 0.1, 0.5, 1.0, 5.0, 30.0, 120.0, 600.0];
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets)
                .ok()?
                .install_recorder()
                .ok()?;
            // Histogram samples wait in memory until drained: drain them now and then,
            // whether or not anyone scrapes.
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                let upkeep = handle.clone();
                runtime.spawn(async move {
                    let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
                    loop {
                        every.tick().await;
                        upkeep.run_upkeep();
                    }
                });
            }
            Some(handle)
        })
        .as_ref()
}

/// `GET /metrics`: saturation in Prometheus text: streams started and in flight, requests
/// refused by code, rows and bytes sent, stream durations, per route and service. In
/// proxy mode, the gateway's own streams.
pub(super) async fn metrics_text() -> Response {
    match prometheus() {
        Some(handle) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            handle.render(),
        )
            .into_response(),
        None => (
            StatusCode::NOT_IMPLEMENTED,
            "another metrics recorder is installed in this process; it exports the figures",
        )
            .into_response(),
    }
}

/// `GET /health/live`: the process answers.
pub(super) async fn live() -> Json<serde_json::Value> {
    Json(json!({"status": "live"}))
}

/// `GET /health/ready`: 200 while new work is welcome; 503 with the reason while the
/// server is shutting down, at its limit of streams in flight, or (proxy) its Flight
/// server does not answer.
pub(super) async fn ready(State(gateway): State<Gateway>) -> Response {
    let draining = gateway.draining.load(std::sync::atomic::Ordering::SeqCst);
    let verdict = match &gateway.source.0 {
        _ if draining => Err("the gateway is shutting down".to_owned()),
        Origin::Local(dispatcher) => dispatcher.readiness(),
        Origin::Remote(client) => match client.action("health").await {
            Ok(body) => {
                let health: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                if health["ready"] == json!(false) {
                    Err("the Flight server is not ready".to_owned())
                } else {
                    Ok(())
                }
            }
            Err(e) if e.code() == tonic::Code::Unauthenticated => Ok(()),
            Err(e) => Err(format!("the Flight server does not answer: {e}")),
        },
    };
    match verdict {
        Ok(()) => Json(json!({"status": "ready"})).into_response(),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not ready", "reason": reason})),
        )
            .into_response(),
    }
}
