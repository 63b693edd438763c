//! push-gateway: WebSocket push of domain events to the agents of each talk
//! (`/v1.0/ws`, VoIPBIN's protocol plus resume).
//!
//! One bus watch per gateway (the events of the talks its connected agents
//! are in, plus every participant event) feeds a consumer that dispatches
//! each event to the sockets of the talk's current participants (`routing`); each socket has a
//! bounded queue with a lag policy ([`close`] lists the close codes); a client
//! that reconnects with its cursor gets what it missed, then live events, with
//! no gap and no duplicate (`resume`). The protocol and its decisions: README.md.
//!
//! Close codes a client should know:
//! - `1001` going away (server shutdown): reconnect and resume with your last cursor;
//! - `4008` slow consumer (events or answers not read, or the gateway lost its place): reconnect and resume;
//! - `4401` unauthenticated (no `auth` frame within 5 s, or a bad token in it);
//! - `4403` a subscription to a topic the caller may not have (after an `error` frame);
//! - `4000` no pong within `ws_pong_timeout_secs`; `1013` memberships unavailable, retry;
//! - `1009` a frame over 64 KiB; `4409` too many sockets for the agent on this
//!   gateway; `4429` client frames over the rate, after refusals (README.md, "Limits").

mod api;
mod consumer;
mod limits;
mod presence;
mod protocol;
mod queue;
mod resume;
mod revocation;
mod routing;
mod signals;
mod ws;

use std::sync::Arc;
use std::time::Duration;
use talk_config::ExposeSecret;

use axum::Router;
use axum::routing::get;
use talk_config::Config;
use talk_events::Bus;
use talk_proto::access_key_service_client::AccessKeyServiceClient;
use talk_proto::agent_service_client::AgentServiceClient;
use talk_proto::message_service_client::MessageServiceClient;
use talk_proto::push_service_server::PushServiceServer;
use talk_proto::talk_service_client::TalkServiceClient;
use talk_types::ApiError;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use queue::close;

/// Why the push-gateway could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configured value is unusable.
    #[error("configuration: {0}")]
    Config(String),
    /// The talk-service address is unusable.
    #[error("talk-service address: {0}")]
    TalkService(#[from] ApiError),
    /// Serving failed.
    #[error("serve: {0}")]
    Serve(#[from] std::io::Error),
}

/// The WebSocket routes (`/v1.0/ws`, `/v1.0/service_agents/ws`; no health
/// routes, no gRPC: this is what the embedded default serves publicly). Spawns the bus consumer, which stops on `shutdown`; on shutdown
/// every socket is closed with 1001 ("going away, resume").
pub async fn router(
    config: &Config,
    bus: Arc<dyn Bus>,
    shutdown: CancellationToken,
) -> Result<Router, Error> {
    Ok(routes(config, bus, shutdown).await?.0)
}

/// The WebSocket routes, the routing table behind them and the gateway's
/// internal credentials.
async fn routes(
    config: &Config,
    bus: Arc<dyn Bus>,
    shutdown: CancellationToken,
) -> Result<(Router, Arc<routing::Hub>, talk_runtime::Internal), Error> {
    if config.jwt_secret.expose_secret().is_empty() {
        return Err(Error::Config("jwt_secret must be set".into()));
    }
    let hub = Arc::new(routing::Hub::new());
    // Fix the consumer's starting point now, so an event published once the
    // router exists is never missed; the consumer retries when the bus is down.
    match bus.last_seq().await {
        Ok(seq) => hub.start_at(seq),
        Err(e) => tracing::warn!(error = %e, "bus not reachable yet; push consumer will retry"),
    }
    tokio::spawn(consumer::run(bus.clone(), hub.clone(), shutdown.clone()));
    let (presence, writes) = presence::Presence::new();
    tokio::spawn(presence::run(
        bus.clone(),
        hub.clone(),
        presence.clone(),
        writes,
        shutdown.clone(),
    ));
    let (signals, outgoing) = signals::Signals::new();
    tokio::spawn(signals::run(
        bus.clone(),
        hub.clone(),
        signals.clone(),
        outgoing,
        shutdown.clone(),
    ));
    let internal = talk_runtime::Internal::from_config("push-gateway", config);
    let agent_service = talk_runtime::channel(&config.agent_service_url, &internal)?;
    let revocations = talk_auth::Revocations::new(AgentServiceClient::new(agent_service.clone()));
    let keys = talk_auth::AccessKeys::new(AccessKeyServiceClient::new(agent_service));
    tokio::spawn(revocation::sweep(
        hub.clone(),
        revocations.clone(),
        keys.clone(),
        shutdown.clone(),
    ));
    let shared = Arc::new(ws::Shared {
        hub: hub.clone(),
        bus,
        signals,
        presence,
        tokens: talk_auth::Tokens::new(
            config.jwt_secret.expose_secret().as_bytes(),
            config.token_ttl_secs,
        ),
        revocations,
        keys,
        talks: TalkServiceClient::new(talk_runtime::channel(&config.talk_service_url, &internal)?),
        messages: MessageServiceClient::new(talk_runtime::channel(
            &config.message_service_url,
            &internal,
        )?),
        ping_every: Duration::from_secs(config.ws_ping_secs.max(1)),
        pong_timeout: Duration::from_secs(config.ws_pong_timeout_secs.max(1)),
        queue_len: config.ws_queue_len,
        frames_per_sec: config.ws_frames_per_sec,
        max_connections_per_agent: config.ws_max_connections_per_agent,
        allowed_origins: config
            .ws_allowed_origins
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_owned)
            .collect(),
        shutdown,
    });
    let router = Router::new()
        .route("/v1.0/ws", get(ws::upgrade))
        .route("/v1.0/service_agents/ws", get(ws::upgrade))
        .with_state(shared);
    Ok((router, hub, internal))
}

/// Serves the gateway until `shutdown`: the WebSocket routes on `listener`
/// (public), its gRPC `PushService` (operational: stats, disconnect an
/// agent) on a listener of its own at `TALK_PUSH_GRPC_ADDR` (internal: the
/// internal token, and mutual TLS when configured), and `/healthz`,
/// `/readyz`, `/metrics` on `TALK_OPS_ADDR` (or beside the WebSocket).
pub async fn run(
    config: Config,
    bus: Arc<dyn Bus>,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let addr = config.push_grpc_addr;
    let grpc_listener = TcpListener::bind(addr).await.map_err(|e| {
        std::io::Error::new(e.kind(), format!("binding PushService on {addr}: {e}"))
    })?;
    let (router, hub, internal) = routes(&config, bus.clone(), shutdown.clone()).await?;
    let service = PushServiceServer::new(api::PushApi { hub });
    let grpc = internal
        .guard(tonic::service::Routes::new(service).into_axum_router())
        .with_health(talk_runtime::Health::Elsewhere);
    let ready: talk_runtime::ReadyCheck = Arc::new(move || {
        let bus = bus.clone();
        Box::pin(async move { bus.ready().await })
    });
    tracing::info!(addr = ?listener.local_addr().ok(), push_service = %addr, "push-gateway listening");
    let public = talk_runtime::Api::public(router, &config);
    tokio::try_join!(
        talk_runtime::serve(listener, public, ready, shutdown.clone()),
        talk_runtime::serve(grpc_listener, grpc, talk_runtime::always_ready(), shutdown),
    )?;
    Ok(())
}
