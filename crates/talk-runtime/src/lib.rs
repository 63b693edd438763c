//! Serving helpers shared by Talk's services.
//!
//! [`serve`] serves one API on its listener — REST, WebSocket or gRPC
//! (HTTP/1.1 and HTTP/2 on the same listener) — and its health routes on the
//! ops listener (`TALK_OPS_ADDR`, [`ops`]) or, with none configured, beside
//! it; it stops gracefully when its shutdown token is cancelled. An internal
//! gRPC API ([`Internal::guard`]) is served over mutual TLS when the process
//! has `TALK_GRPC_TLS_*` ([`tls`]), and [`channel`] connects to one the same
//! way.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use talk_config::{BusKind, Config};
use talk_events::memory::MemoryBus;
use talk_events::nats::{NatsBus, NatsSettings};
use talk_events::{Bus, BusError};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::Endpoint;

pub mod grpc;
pub mod internal;
pub mod ops;
pub mod tls;

pub use internal::Internal;
pub use ops::{Health, health_routes};
pub use tls::MutualTls;

/// A client channel whose every call carries the process's internal token.
pub type Channel =
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, internal::Attach>;

/// A readiness probe: true when the service can do its work.
pub type ReadyCheck = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

/// A probe that is always ready.
pub fn always_ready() -> ReadyCheck {
    Arc::new(|| Box::pin(async { true }))
}

/// What [`serve`] serves on a listener: the routes, whether connections
/// must be mutual TLS, and where the health routes go.
#[derive(Debug)]
pub struct Api {
    router: Router,
    tls: Option<MutualTls>,
    health: Health,
}

impl Api {
    /// A public API (the edge's REST, the gateway's WebSocket): plaintext —
    /// TLS ends at the ingress — with its health routes on `TALK_OPS_ADDR`
    /// when that is set.
    pub fn public(router: Router, config: &Config) -> Self {
        Self {
            router,
            tls: None,
            health: Health::from_config(config),
        }
    }

    /// An internal API: `tls` required of every connection when set.
    pub(crate) fn internal(router: Router, tls: Option<MutualTls>, health: Health) -> Self {
        Self {
            router,
            tls,
            health,
        }
    }

    /// The same API with its health routes at `health`.
    pub fn with_health(self, health: Health) -> Self {
        Self { health, ..self }
    }
}

/// A bare router: plaintext, with the health routes beside it.
impl From<Router> for Api {
    fn from(router: Router) -> Self {
        Self {
            router,
            tls: None,
            health: Health::Shared,
        }
    }
}

/// Serves `api` on `listener`, and its health routes where `api` says (on
/// an ops listener it binds, with `ready` behind `/readyz`), until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    api: impl Into<Api>,
    ready: ReadyCheck,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let Api {
        router,
        tls,
        health,
    } = api.into();
    let tls = match tls {
        Some(tls) => Some(tls.server().map_err(io::Error::other)?),
        None => None,
    };
    let (router, ops) = match health {
        Health::Shared if tls.is_some() => {
            return Err(io::Error::other(
                "mutual TLS (TALK_GRPC_TLS_*) needs TALK_OPS_ADDR: probes and Prometheus present no client certificate",
            ));
        }
        Health::Shared => (router.merge(health_routes(ready)), None),
        Health::Ops(addr) => {
            let ops = TcpListener::bind(addr).await.map_err(|e| {
                io::Error::new(e.kind(), format!("binding the ops listener {addr}: {e}"))
            })?;
            tracing::info!(%addr, "health and metrics listening");
            (router, Some((ops, health_routes(ready))))
        }
        Health::Elsewhere => (router, None),
    };
    let stop = shutdown.clone();
    let api = async move {
        match tls {
            Some(config) => {
                axum::serve(tls::TlsAccept::new(listener, config), router)
                    .with_graceful_shutdown(cancelled(stop))
                    .await
            }
            None => plaintext(listener, router, stop).await,
        }
    };
    match ops {
        Some((ops, routes)) => tokio::try_join!(api, plaintext(ops, routes, shutdown)).map(drop),
        None => api.await,
    }
}

/// Serves `router` on plain TCP until `shutdown`.
async fn plaintext(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> io::Result<()> {
    use axum::serve::ListenerExt;
    // Small request/response exchanges (REST, gRPC over HTTP/2) otherwise wait
    // on Nagle's algorithm and delayed ACKs: ~40 ms per call.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY");
        }
    });
    // Handlers may read the peer's address (`ConnectInfo<SocketAddr>`): the
    // edge's login limits go by it.
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(cancelled(shutdown))
    .await
}

async fn cancelled(shutdown: CancellationToken) {
    shutdown.cancelled().await;
}

/// A lazily connecting gRPC channel to `url`: `http://host:port`, or
/// `https://host:port` when `internal` has mutual TLS (the server's
/// certificate must name `host` and be signed by the CA).
pub fn channel(url: &str, internal: &Internal) -> Result<Channel, talk_types::ApiError> {
    let unavailable = || talk_types::ApiError::unavailable("service address");
    let mut endpoint = Endpoint::from_shared(url.to_owned())
        .map_err(|_| unavailable())?
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(30))
        .tcp_nodelay(true)
        // HTTP/2's default 64 KiB windows stall concurrent large answers (a big
        // talk's member list) on flow-control round trips.
        .initial_stream_window_size(Some(2 * 1024 * 1024))
        .initial_connection_window_size(Some(8 * 1024 * 1024))
        .http2_keep_alive_interval(Duration::from_secs(20));
    // tonic speaks TLS to https:// URLs only: a plaintext URL would silently
    // skip the certificate, so the scheme must match the configuration.
    let https = url.starts_with("https://");
    match internal.tls() {
        Some(tls) if https => {
            let config = tls.client().map_err(|e| {
                tracing::error!(error = %e, "internal TLS");
                unavailable()
            })?;
            endpoint = endpoint.tls_config(config).map_err(|e| {
                tracing::error!(error = %e, "internal TLS");
                unavailable()
            })?;
        }
        Some(_) => {
            tracing::error!(
                url,
                "with TALK_GRPC_TLS_* set, service URLs must be https://"
            );
            return Err(unavailable());
        }
        None if https => {
            tracing::error!(url, "an https:// service URL needs TALK_GRPC_TLS_*");
            return Err(unavailable());
        }
        None => {}
    }
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
