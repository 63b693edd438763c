//! Running Talk: one service per process, or all of them in one process (the
//! embedded default). The binary in `main.rs` only parses arguments.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use talk_config::ExposeSecret;

use anyhow::{Context, bail};
use talk_config::{BusKind, Config};
use talk_events::Bus;
use talk_events::memory::MemoryBus;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// The services `talk serve` can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Service {
    /// Every service in this process (embedded default).
    All,
    /// The public REST API.
    Edge,
    /// Agents and login.
    AgentService,
    /// Talks and participants.
    TalkService,
    /// Messages, reactions and read state.
    MessageService,
    /// WebSocket push.
    PushGateway,
    /// Webhook deliveries.
    WebhookService,
    /// Uploaded files.
    FileService,
}

impl Service {
    /// The service name telemetry reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::All => "talk",
            Self::Edge => "edge",
            Self::AgentService => "agent-service",
            Self::TalkService => "talk-service",
            Self::MessageService => "message-service",
            Self::PushGateway => "push-gateway",
            Self::WebhookService => "webhook-service",
            Self::FileService => "file-service",
        }
    }
}

/// Fills the JWT secret of the embedded default from `data_dir/jwt_secret`,
/// creating it once; other modes must configure `TALK_JWT_SECRET`.
pub fn ensure_jwt_secret(config: &mut Config, embedded: bool) -> anyhow::Result<()> {
    if !config.jwt_secret.expose_secret().is_empty() {
        return Ok(());
    }
    if !embedded {
        bail!("TALK_JWT_SECRET is required when services run as separate processes");
    }
    let path = config.data_dir.join("jwt_secret");
    if let Ok(secret) = std::fs::read_to_string(&path)
        && secret.trim().len() >= talk_config::MIN_JWT_SECRET_BYTES
    {
        config.jwt_secret = secret.trim().into();
        return Ok(());
    }
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    let secret = hex::encode(rand::random::<[u8; 32]>());
    write_private(&path, &secret)?;
    config.jwt_secret = secret.into();
    Ok(())
}

fn write_private(path: &Path, content: &str) -> anyhow::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(content.as_bytes())?;
    Ok(())
}

async fn loopback() -> anyhow::Result<(TcpListener, String)> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let url = format!("http://{}", listener.local_addr()?);
    Ok((listener, url))
}

/// Runs every service in this process: the gRPC services on loopback ports of
/// their own, and the REST API and WebSocket together on `listener`, with
/// the process's health and metrics on `TALK_OPS_ADDR` (or beside them).
/// Returns when `shutdown` is cancelled and every service has stopped.
pub async fn serve_all(
    mut config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    ensure_jwt_secret(&mut config, true)?;
    if talk_runtime::MutualTls::from_config(&config).is_some() {
        tracing::warn!(
            "TALK_GRPC_TLS_* is ignored by `talk serve all`: its services call each other on loopback inside this process"
        );
    }
    let bus = embedded_bus(&config).await?;
    let public = talk_runtime::Health::from_config(&config);
    let (agent_listener, agent_url) = loopback().await?;
    let (talk_listener, talk_url) = loopback().await?;
    let (message_listener, message_url) = loopback().await?;
    let (webhook_listener, webhook_url) = loopback().await?;
    let (file_listener, file_url) = loopback().await?;
    // Inside, the services talk plaintext on loopback, each with its health
    // routes on its own loopback port; the one ops listener is the public one's.
    let config = Config {
        agent_service_url: agent_url,
        talk_service_url: talk_url,
        message_service_url: message_url,
        webhook_service_url: webhook_url,
        file_service_url: file_url,
        ops_addr: None,
        grpc_tls_cert: None,
        grpc_tls_key: None,
        grpc_tls_ca: None,
        ..config
    };

    let mut tasks = JoinSet::new();
    let (c, s) = (config.clone(), shutdown.clone());
    tasks.spawn(async move {
        agent_service::run(c, agent_listener, s)
            .await
            .context("agent-service")
    });
    let (c, b, s) = (config.clone(), bus.clone(), shutdown.clone());
    tasks.spawn(async move {
        talk_service::run(c, b, talk_listener, s)
            .await
            .context("talk-service")
    });
    let (c, b, s) = (config.clone(), bus.clone(), shutdown.clone());
    tasks.spawn(async move {
        message_service::run(c, b, message_listener, s)
            .await
            .context("message-service")
    });
    let (c, b, s) = (config.clone(), bus.clone(), shutdown.clone());
    tasks.spawn(async move {
        webhook_service::run(c, b, webhook_listener, s)
            .await
            .context("webhook-service")
    });
    let (c, s) = (config.clone(), shutdown.clone());
    tasks.spawn(async move {
        file_service::run(c, file_listener, s)
            .await
            .context("file-service")
    });
    let router = edge::router(&config)?
        .merge(push_gateway::router(&config, bus.clone(), shutdown.clone()).await?);
    let ready_bus = bus.clone();
    let ready: talk_runtime::ReadyCheck = std::sync::Arc::new(move || {
        let bus = ready_bus.clone();
        Box::pin(async move { bus.ready().await })
    });
    let s = shutdown.clone();
    let api = talk_runtime::Api::from(router).with_health(public);
    tasks.spawn(async move {
        talk_runtime::serve(listener, api, ready, s)
            .await
            .context("edge")
    });
    wait(tasks, shutdown).await
}

/// The bus of `talk serve all`: NATS when configured, else the in-process
/// bus with its journal in `data_dir/bus.db`, so that a client's cursor and
/// the events after it survive a restart (or a crash) of the process.
async fn embedded_bus(config: &Config) -> anyhow::Result<Arc<dyn Bus>> {
    if config.bus != BusKind::Memory {
        return Ok(talk_runtime::bus(config).await?);
    }
    let file = config.data_dir.join("bus.db");
    let journal =
        talk_store::journal::DbJournal::open(&format!("sqlite://{}?mode=rwc", file.display()))
            .await
            .with_context(|| format!("opening the bus journal {}", file.display()))?;
    let bus = MemoryBus::durable(config.memory_bus_history, Arc::new(journal)).await?;
    Ok(Arc::new(bus))
}

/// Runs one service on its configured address.
pub async fn serve_one(
    service: Service,
    mut config: Config,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    if service == Service::All {
        let listener = TcpListener::bind(config.edge_addr).await?;
        tracing::info!(addr = %config.edge_addr, "talk (all services) listening");
        return serve_all(config, listener, shutdown).await;
    }
    ensure_jwt_secret(&mut config, false)?;
    check_grpc_tls(service, &config)?;
    let needs_bus = matches!(
        service,
        Service::TalkService
            | Service::MessageService
            | Service::PushGateway
            | Service::WebhookService
    );
    if needs_bus && config.bus == BusKind::Memory {
        bail!("TALK_BUS=nats is required when services run as separate processes");
    }
    let addr = match service {
        Service::All | Service::Edge => config.edge_addr,
        Service::AgentService => config.agent_addr,
        Service::TalkService => config.talk_addr,
        Service::MessageService => config.message_addr,
        Service::PushGateway => config.push_addr,
        Service::WebhookService => config.webhook_addr,
        Service::FileService => config.file_addr,
    };
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    tracing::info!(%addr, ?service, "listening");
    match service {
        Service::All | Service::Edge => edge::run(config, listener, shutdown).await?,
        Service::AgentService => agent_service::run(config, listener, shutdown).await?,
        Service::TalkService => {
            let bus = talk_runtime::bus(&config).await?;
            talk_service::run(config, bus, listener, shutdown).await?;
        }
        Service::MessageService => {
            let bus = talk_runtime::bus(&config).await?;
            message_service::run(config, bus, listener, shutdown).await?;
        }
        Service::PushGateway => {
            let bus = talk_runtime::bus(&config).await?;
            push_gateway::run(config, bus, listener, shutdown).await?;
        }
        Service::WebhookService => {
            let bus = talk_runtime::bus(&config).await?;
            webhook_service::run(config, bus, listener, shutdown).await?;
        }
        Service::FileService => file_service::run(config, listener, shutdown).await?,
    }
    Ok(())
}

/// Refuses at start what would fail later: mutual TLS files that cannot be
/// used, a service URL whose scheme does not say whether `TALK_GRPC_TLS_*`
/// is set (tonic speaks TLS to `https://` only), and a gRPC server with
/// mutual TLS but its probes on the same port (`TALK_OPS_ADDR` unset).
fn check_grpc_tls(service: Service, config: &Config) -> anyhow::Result<()> {
    let tls = talk_runtime::MutualTls::from_config(config);
    if let Some(tls) = &tls {
        tls.check().context("mutual TLS between the services")?;
        if service != Service::Edge && config.ops_addr.is_none() {
            bail!(
                "TALK_GRPC_TLS_* needs TALK_OPS_ADDR: probes and Prometheus present no client certificate"
            );
        }
    }
    let (scheme, why) = match tls {
        Some(_) => ("https://", "TALK_GRPC_TLS_* is set"),
        None => ("http://", "TALK_GRPC_TLS_* is not set"),
    };
    for (var, url) in [
        ("TALK_AGENT_SERVICE_URL", &config.agent_service_url),
        ("TALK_TALK_SERVICE_URL", &config.talk_service_url),
        ("TALK_MESSAGE_SERVICE_URL", &config.message_service_url),
        ("TALK_WEBHOOK_SERVICE_URL", &config.webhook_service_url),
        ("TALK_FILE_SERVICE_URL", &config.file_service_url),
    ] {
        if !url.starts_with(scheme) {
            bail!("{var} {url:?} must start with {scheme}: {why}");
        }
    }
    Ok(())
}

/// Runs every migration of every stateful service.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    agent_service::migrate(config).await?;
    talk_service::migrate(config).await?;
    message_service::migrate(config).await?;
    webhook_service::migrate(config).await?;
    file_service::migrate(config).await?;
    Ok(())
}

async fn wait(
    mut tasks: JoinSet<anyhow::Result<()>>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut first_error = None;
    while let Some(done) = tasks.join_next().await {
        let result = done.map_err(anyhow::Error::from).and_then(|r| r);
        if let Err(e) = result {
            // One service failing stops the others: a half-running process helps no one.
            tracing::error!(error = %format!("{e:#}"), "service stopped");
            shutdown.cancel();
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}
