//! Serving helpers shared by Talk's services.
//!
//! Every service serves on one port: its gRPC API plus `/healthz`, `/readyz`
//! and `/metrics` (HTTP/1.1 and HTTP/2 on the same listener), and stops
//! gracefully when its shutdown token is cancelled.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use talk_config::{BusKind, Config};
use talk_events::memory::MemoryBus;
use talk_events::nats::{NatsBus, NatsSettings};
use talk_events::{Bus, BusError};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::Endpoint;

pub mod grpc;
pub mod internal;

pub use internal::Internal;

/// A client channel whose every call carries the process's internal token.
pub type Channel =
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, internal::Attach>;

/// A readiness probe: true when the service can do its work.
pub type ReadyCheck = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

/// A probe that is always ready.
pub fn always_ready() -> ReadyCheck {
    Arc::new(|| Box::pin(async { true }))
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

/// Serves `router` (plus health routes) on `listener` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    ready: ReadyCheck,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let app = router.merge(health_routes(ready));
    // Small request/response exchanges (REST, gRPC over HTTP/2) otherwise wait
    // on Nagle's algorithm and delayed ACKs: ~40 ms per call.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY");
        }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}

/// A lazily connecting gRPC channel to `url` (`http://host:port`).
pub fn channel(url: &str, internal: &Internal) -> Result<Channel, talk_types::ApiError> {
    let endpoint = Endpoint::from_shared(url.to_owned())
        .map_err(|_| talk_types::ApiError::unavailable("service address"))?
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(30))
        .tcp_nodelay(true)
        // HTTP/2's default 64 KiB windows stall concurrent large answers (a big
        // talk's member list) on flow-control round trips.
        .initial_stream_window_size(Some(2 * 1024 * 1024))
        .initial_connection_window_size(Some(8 * 1024 * 1024))
        .http2_keep_alive_interval(Duration::from_secs(20));
    Ok(tonic::service::interceptor::InterceptedService::new(
        endpoint.connect_lazy(),
        internal.attach(),
    ))
}

/// The bus the configuration names.
pub async fn bus(config: &Config) -> Result<Arc<dyn Bus>, BusError> {
    Ok(match config.bus {
        BusKind::Memory => Arc::new(MemoryBus::new(config.memory_bus_history)),
        BusKind::Nats => Arc::new(
            NatsBus::connect(NatsSettings {
                url: config.nats_url.clone(),
                stream: config.nats_stream.clone(),
                prefix: config.subject_prefix.clone(),
                retention: Duration::from_secs(config.event_retention_secs),
                replicas: config.nats_replicas,
            })
            .await?,
        ),
    })
}
