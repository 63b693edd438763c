//! Talk started for a test: separate services on loopback ports, or the
//! embedded `talk serve all`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use talk_config::{BusKind, Config};
use talk_testkit::{free_addr, fresh_database, fresh_prefix, task_ended, wait_ready};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// The admin password every test cluster bootstraps with.
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

/// How Talk is laid out for a test.
#[derive(Clone, Debug)]
pub enum Topology {
    /// Every service its own server (gRPC over loopback), PostgreSQL and NATS JetStream.
    Services {
        /// NATS URL; `None` for the machine's server.
        nats_url: Option<String>,
    },
    /// `talk serve all` with its embedded defaults: SQLite and the in-process bus.
    Embedded,
}

/// A running Talk.
pub struct Cluster {
    /// Base URL of the REST API (`http://127.0.0.1:port`).
    pub edge: String,
    /// Base URL of the WebSocket gateway (`ws://127.0.0.1:port`).
    pub push: String,
    /// The configuration the services share (with their real addresses).
    pub config: Config,
    shutdown: CancellationToken,
    tasks: JoinSet<anyhow::Result<()>>,
    _data_dir: Option<TempDir>,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn bind() -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}

/// The configuration every test cluster starts from: rate limits off (a
/// test that is about them turns them on), so tests that write fast measure
/// what they are about.
fn base_config() -> Config {
    let names = fresh_prefix();
    Config {
        rate_agent_writes_per_sec: 0,
        rate_agent_reads_per_sec: 0,
        rate_customer_per_sec: 0,
        rate_login_address_per_min: 0,
        rate_login_username_per_min: 0,
        jwt_secret: "a-test-secret-of-enough-length-0123456789".into(),
        admin_password: ADMIN_PASSWORD.into(),
        nats_stream: names.stream,
        subject_prefix: names.subject,
        database_max_connections: 8,
        // Test receivers listen on loopback over plain HTTP.
        webhook_allow_private: true,
        ..Config::default()
    }
}

impl Cluster {
    /// Starts Talk in `topology` and waits until every service is ready.
    pub async fn start(topology: Topology) -> anyhow::Result<Self> {
        match topology {
            Topology::Services { .. } => Self::start_with(topology, |_| {}).await,
            Topology::Embedded => Self::start_embedded().await,
        }
    }

    /// Starts every service as its own server with `config` (its database
    /// and bus), each with its health and metrics on an ops port of its own
    /// (as in a pod), the gateway's `PushService` on another.
    pub async fn start_services(mut config: Config) -> anyhow::Result<Self> {
        let (agent, agent_addr) = bind().await?;
        let (talk, talk_addr) = bind().await?;
        let (message, message_addr) = bind().await?;
        let (push, push_addr) = bind().await?;
        let (edge, edge_addr) = bind().await?;
        let (webhook, webhook_addr) = bind().await?;
        let (file, file_addr) = bind().await?;
        config.file_service_url = format!("http://{file_addr}");
        // Files go to a folder of this cluster unless a test chose a store.
        let files_dir = (config.file_storage == "local" && config.file_dir.is_empty()).then(|| {
            let dir =
                std::env::temp_dir().join(format!("talk-files-{}", uuid::Uuid::new_v4().simple()));
            config.file_dir = dir.display().to_string();
            TempDir(dir)
        });
        config.agent_service_url = format!("http://{agent_addr}");
        config.talk_service_url = format!("http://{talk_addr}");
        config.message_service_url = format!("http://{message_addr}");
        config.webhook_service_url = format!("http://{webhook_addr}");
        config.push_grpc_addr = free_addr();
        let ops: [SocketAddr; 7] = std::array::from_fn(|_| free_addr());
        let own = |ops: SocketAddr| Config {
            ops_addr: Some(ops),
            ..config.clone()
        };
        let shutdown = CancellationToken::new();
        let mut tasks = JoinSet::new();
        let (c, s) = (own(ops[0]), shutdown.clone());
        tasks.spawn(async move { Ok(agent_service::run(c, agent, s).await?) });
        let (c, s) = (own(ops[1]), shutdown.clone());
        tasks.spawn(async move {
            let bus = talk_runtime::bus(&c).await?;
            Ok(talk_service::run(c, bus, talk, s).await?)
        });
        let (c, s) = (own(ops[2]), shutdown.clone());
        tasks.spawn(async move {
            let bus = talk_runtime::bus(&c).await?;
            Ok(message_service::run(c, bus, message, s).await?)
        });
        let (c, s) = (own(ops[3]), shutdown.clone());
        tasks.spawn(async move {
            let bus = talk_runtime::bus(&c).await?;
            Ok(push_gateway::run(c, bus, push, s).await?)
        });
        let (c, s) = (own(ops[4]), shutdown.clone());
        tasks.spawn(async move { Ok(edge::run(c, edge, s).await?) });
        let (c, s) = (own(ops[5]), shutdown.clone());
        tasks.spawn(async move {
            let bus = talk_runtime::bus(&c).await?;
            Ok(webhook_service::run(c, bus, webhook, s).await?)
        });
        let (c, s) = (own(ops[6]), shutdown.clone());
        tasks.spawn(async move { Ok(file_service::run(c, file, s).await?) });
        let mut cluster = Self {
            edge: format!("http://{edge_addr}"),
            push: format!("ws://{push_addr}"),
            config,
            shutdown,
            tasks,
            _data_dir: files_dir,
        };
        for addr in ops {
            cluster.wait_ready(&format!("http://{addr}")).await?;
        }
        Ok(cluster)
    }

    async fn start_embedded() -> anyhow::Result<Self> {
        let mut config = base_config();
        let dir = std::env::temp_dir().join(format!("talk-e2e-{}", uuid::Uuid::new_v4().simple()));
        config.data_dir = dir.clone();
        let ops = free_addr();
        config.ops_addr = Some(ops);
        let (listener, addr) = bind().await?;
        let shutdown = CancellationToken::new();
        let mut tasks = JoinSet::new();
        let (c, s) = (config.clone(), shutdown.clone());
        tasks.spawn(async move { talk::serve_all(c, listener, s).await });
        let mut cluster = Self {
            edge: format!("http://{addr}"),
            push: format!("ws://{addr}"),
            config,
            shutdown,
            tasks,
            _data_dir: Some(TempDir(dir)),
        };
        cluster.wait_ready(&format!("http://{ops}")).await?;
        Ok(cluster)
    }

    /// Where the push-gateway's `PushService` answers (separate services only).
    pub fn push_service_url(&self) -> String {
        format!("http://{}", self.config.push_grpc_addr)
    }

    /// Polls `/readyz` of `base` until it answers 200 (or a service died).
    async fn wait_ready(&mut self, base: &str) -> anyhow::Result<()> {
        wait_ready(base, None, || {
            // Every service that ended: one that failed cancels the shared
            // shutdown, so the others end too, with Ok.
            let mut ended = Vec::new();
            while let Some(done) = self.tasks.try_join_next() {
                ended.push(done.map(|r| r.map_err(|e| format!("{e:#}"))));
            }
            (!ended.is_empty()).then(|| format!("services stopped while starting: {ended:?}"))
        })
        .await
    }

    /// Stops every service and waits for them.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        while self.tasks.join_next().await.is_some() {}
    }

    /// The shutdown token (a test may hold it to stop services itself).
    pub fn shutdown_token(&self) -> Arc<CancellationToken> {
        Arc::new(self.shutdown.clone())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Cluster {
    /// A second customer with an admin named `username` (permission 48),
    /// logged in over REST with [`ADMIN_PASSWORD`]. No public API creates
    /// customers, so — as agent-service's own tests do — the customer and its
    /// admin are inserted into agent-service's PostgreSQL schema (the admin
    /// reuses the bootstrap admin's password hash). PostgreSQL clusters only.
    pub async fn other_customer(&self, username: &str, name: &str) -> anyhow::Result<crate::Api> {
        use sea_orm::{ConnectionTrait, Database};
        let store = talk_config::Store::Agent;
        let url = self.config.database_url_for(store);
        if !url.starts_with("postgres") {
            bail!("other_customer needs a PostgreSQL cluster, not {url}");
        }
        let schema = store.name();
        let customer = uuid::Uuid::new_v4();
        let agent = uuid::Uuid::new_v4();
        let db = Database::connect(url).await?;
        let inserted = async {
            db.execute_unprepared(&format!(
                "INSERT INTO \"{schema}\".customers (id, name, tm_create) \
                 VALUES ('{customer}', 'Other customer', now())"
            ))
            .await?;
            db.execute_unprepared(&format!(
                "INSERT INTO \"{schema}\".agents (id, customer_id, username, password_hash, \
                 name, detail, ring_method, status, permission, tm_create, tm_update, tm_delete) \
                 SELECT '{agent}', '{customer}', '{}', password_hash, '{}', '', 'ringall', \
                 'available', 48, now(), now(), NULL FROM \"{schema}\".agents \
                 WHERE username = 'admin' AND tm_delete IS NULL",
                username.replace('\'', "''"),
                name.replace('\'', "''"),
            ))
            .await
        }
        .await;
        db.close().await?;
        if inserted?.rows_affected() != 1 {
            bail!("the bootstrap admin to copy the password hash from was not found");
        }
        crate::Api::login(&self.edge, username, ADMIN_PASSWORD).await
    }
}

impl Cluster {
    /// Like [`Cluster::start`] for [`Topology::Services`], with the shared
    /// configuration changed by `adjust` before anything starts (e.g. a small
    /// `ws_queue_len`). The embedded topology has no hook: it is refused.
    pub async fn start_with(
        topology: Topology,
        adjust: impl FnOnce(&mut Config),
    ) -> anyhow::Result<Self> {
        let Topology::Services { nats_url } = topology else {
            bail!("start_with supports Topology::Services only");
        };
        let mut config = base_config();
        config.bus = BusKind::Nats;
        config.nats_url = nats_url.unwrap_or_else(talk_testkit::nats_url);
        config.database_url = fresh_database().await?;
        adjust(&mut config);
        Self::start_services(config).await
    }

    /// Starts one more push-gateway of this cluster (see [`Gateway`]).
    pub async fn gateway(&self) -> anyhow::Result<Gateway> {
        Gateway::start(&self.config).await
    }
}

/// A push-gateway a test starts, stops and restarts itself: `push_gateway::run`
/// with the cluster's configuration (its services, NATS stream and prefix) on
/// its own ports (WebSocket, `PushService`, ops) and its own shutdown token.
pub struct Gateway {
    /// Base URL of its WebSocket (`ws://127.0.0.1:port`).
    pub url: String,
    addr: SocketAddr,
    config: Config,
    shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Gateway {
    /// Starts a gateway on fresh ports and waits until it is ready.
    pub async fn start(config: &Config) -> anyhow::Result<Self> {
        let (listener, addr) = bind().await?;
        let mut gateway = Self {
            url: format!("ws://{addr}"),
            addr,
            config: Config {
                push_grpc_addr: free_addr(),
                ops_addr: Some(free_addr()),
                ..config.clone()
            },
            shutdown: CancellationToken::new(),
            task: None,
        };
        gateway.serve(listener).await?;
        Ok(gateway)
    }

    async fn serve(&mut self, listener: TcpListener) -> anyhow::Result<()> {
        self.shutdown = CancellationToken::new();
        let (c, s) = (self.config.clone(), self.shutdown.clone());
        let task = tokio::spawn(async move {
            let bus = talk_runtime::bus(&c).await?;
            Ok(push_gateway::run(c, bus, listener, s).await?)
        });
        let ops = self
            .config
            .ops_addr
            .context("a gateway of a test has an ops port")?;
        let ready = wait_ready(&format!("http://{ops}"), None, task_ended(&task)).await;
        if let Err(e) = ready {
            if !task.is_finished() {
                return Err(e);
            }
            let done = task.await.map(|r| r.map_err(|e| format!("{e:#}")));
            bail!("the gateway stopped while starting: {done:?}");
        }
        self.task = Some(task);
        Ok(())
    }

    /// Shuts the gateway down gracefully (its sockets are closed with 1001,
    /// "going away, resume") and waits for its server to end.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await??;
        }
        Ok(())
    }

    /// Its `PushService/Stats` (gRPC on the gateway's `PushService` port).
    pub async fn stats(&self) -> anyhow::Result<talk_proto::StatsResponse> {
        let url = format!("http://{}", self.config.push_grpc_addr);
        let internal = talk_runtime::Internal::from_config("test", &self.config);
        let channel = talk_runtime::channel(&url, &internal)?;
        let mut client = talk_proto::push_service_client::PushServiceClient::new(channel);
        Ok(client
            .stats(talk_proto::StatsRequest {})
            .await?
            .into_inner())
    }

    /// Starts the gateway again, on the same port, after [`Gateway::stop`].
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        if self.task.is_some() {
            bail!("restart a gateway only after stopping it");
        }
        let listener = TcpListener::bind(self.addr).await?;
        self.serve(listener).await
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
