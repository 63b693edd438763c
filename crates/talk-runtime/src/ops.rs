//! The operational routes: `/healthz` (alive), `/readyz` (ready to serve)
//! and `/metrics` (Prometheus), and where a process answers them.
//!
//! They belong on a port of their own (`TALK_OPS_ADDR`): kubelet probes and
//! Prometheus reach it, the ingress never routes it, so nothing public can
//! read the metrics or the readiness of a pod, and an internal gRPC port can
//! require client certificates (`TALK_GRPC_TLS_*`) that neither a probe nor
//! Prometheus presents. Unset, they share the API's port: one port for a
//! laptop, and for tests that start a service with a default configuration.

use std::net::SocketAddr;

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use talk_config::Config;

use crate::ReadyCheck;

/// Where a served API's health routes go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// On the API's own listener (no `TALK_OPS_ADDR`).
    Shared,
    /// On a plaintext listener of their own at this address (`TALK_OPS_ADDR`).
    Ops(SocketAddr),
    /// Nowhere here: another listener of the process answers them (the
    /// push-gateway's `PushService` beside its WebSocket).
    Elsewhere,
}

impl Health {
    /// `TALK_OPS_ADDR` when set, else [`Health::Shared`].
    pub fn from_config(config: &Config) -> Self {
        config.ops_addr.map_or(Self::Shared, Self::Ops)
    }
}

/// `/healthz` (alive), `/readyz` (ready to serve) and `/metrics` (Prometheus).
pub fn health_routes(ready: ReadyCheck) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(move || {
                let ready = ready.clone();
                async move {
                    if ready().await {
                        (StatusCode::OK, "ready").into_response()
                    } else {
                        (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
                    }
                }
            }),
        )
        .route(
            "/metrics",
            get(|| async {
                (
                    [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    talk_telemetry::metrics::render(),
                )
            }),
        )
}
