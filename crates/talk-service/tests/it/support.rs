//! Test harness: a fresh database, agent-service and talk-service on port 0,
//! gRPC clients, agents of one or more customers, and the event bus.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use sea_orm::ConnectionTrait;
use talk_config::Config;
use talk_events::memory::MemoryBus;
use talk_events::{Bus, EventKind, EventStream, Payload, Start};
use talk_proto::agent_service_client::AgentServiceClient;
use talk_proto::archive_service_client::ArchiveServiceClient;
use talk_proto::talk_service_client::TalkServiceClient;
use talk_proto::{
    Caller, CreateAgentRequest, CreateTalkRequest, CreateTalkResponse, LoginRequest, Participant,
    ParticipantRef, Talk, TalkRef, TalkWrite, WriteOptions,
};
use talk_runtime::Channel;
use talk_testkit::task_ended;
use talk_types::{ApiError, CustomerId};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const ADMIN_PASSWORD: &str = "admin-password-123";

/// A running service task.
struct Running {
    shutdown: CancellationToken,
    handle: JoinHandle<Result<(), String>>,
}

impl Running {
    async fn stop(self, name: &str) {
        self.shutdown.cancel();
        match self.handle.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("{name} ended with an error: {e}"),
            Err(e) => panic!("{name} panicked: {e}"),
        }
    }
}

/// Where the services keep their state and publish their events.
#[derive(Clone, Copy, Debug, Default)]
pub struct Setup {
    /// SQLite files instead of a fresh PostgreSQL database.
    pub sqlite: bool,
    /// NATS JetStream (a stream of its own) instead of the in-memory bus.
    pub nats: bool,
}

/// One database, agent-service and talk-service on it, and a caller per customer admin.
pub struct Env {
    /// The fresh PostgreSQL database (on SQLite, the URL the files are named after).
    database_url: String,
    sqlite_dir: Option<std::path::PathBuf>,
    nats: Option<(talk_events::nats::NatsBus, String)>,
    agent_service: Running,
    talk_service: Running,
    pub talks: TalkServiceClient<Channel>,
    /// talk-service's `ArchiveService`.
    pub archive: ArchiveServiceClient<Channel>,
    agents: AgentServiceClient<Channel>,
    pub bus: Arc<dyn Bus>,
    /// The subject prefix of the services' events.
    pub prefix: String,
    /// The admin of the bootstrap customer.
    pub admin: Caller,
    counter: AtomicU32,
}

async fn wait_ready(addr: SocketAddr, handle: &JoinHandle<Result<(), String>>, name: &str) {
    talk_testkit::wait_ready(&format!("http://{addr}"), None, task_ended(handle))
        .await
        .unwrap_or_else(|e| panic!("{name}: {e:#}"));
}

impl Env {
    /// Starts everything on a fresh PostgreSQL database with the in-memory bus.
    pub async fn start() -> Self {
        Self::start_with(Setup::default()).await
    }

    /// Starts everything as `setup` says.
    pub async fn start_with(setup: Setup) -> Self {
        let names = talk_testkit::fresh_prefix();
        let subject_prefix = names.subject.clone();
        let mut sqlite_dir = None;
        let database_url = if setup.sqlite {
            let dir = std::env::temp_dir().join(format!("talk-service-{}", names.subject));
            let url = format!("sqlite://{}/all.db?mode=rwc", dir.display());
            sqlite_dir = Some(dir);
            url
        } else {
            talk_testkit::fresh_database()
                .await
                .expect("create a database")
        };

        let agent_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let agent_addr = agent_listener.local_addr().expect("addr");
        let config = Config {
            agent_database_url: database_url.replace("all.db", "agent.db"),
            talk_database_url: database_url.replace("all.db", "talk.db"),
            database_max_connections: 8,
            subject_prefix: names.subject.clone(),
            jwt_secret: "test-secret-0123456789abcdef-0123456789".into(),
            admin_password: ADMIN_PASSWORD.into(),
            agent_service_url: format!("http://{agent_addr}"),
            ..Config::default()
        };
        let internal = talk_runtime::Internal::from_config("test", &config);
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn({
            let (config, shutdown) = (config.clone(), shutdown.clone());
            async move {
                agent_service::run(config, agent_listener, shutdown)
                    .await
                    .map_err(|e| e.to_string())
            }
        });
        wait_ready(agent_addr, &handle, "agent-service").await;
        let agent_service = Running { shutdown, handle };

        let mut nats = None;
        let bus: Arc<dyn Bus> = if setup.nats {
            let stream = names.stream;
            let bus = talk_events::nats::NatsBus::connect(talk_events::nats::NatsSettings {
                url: talk_testkit::nats_url(),
                stream: stream.clone(),
                prefix: names.subject,
                retention: Duration::from_secs(3600),
                replicas: 1,
            })
            .await
            .expect("connect nats");
            nats = Some((bus.clone(), stream));
            Arc::new(bus)
        } else {
            Arc::new(MemoryBus::new(100_000))
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn({
            let (bus, shutdown) = (bus.clone(), shutdown.clone());
            async move {
                talk_service::run(config, bus, listener, shutdown)
                    .await
                    .map_err(|e| e.to_string())
            }
        });
        wait_ready(addr, &handle, "talk-service").await;
        let talk_service = Running { shutdown, handle };

        let channel = |addr| talk_runtime::channel(&format!("http://{addr}"), &internal);
        let talks = TalkServiceClient::new(channel(addr).expect("talk-service channel"));
        let archive = ArchiveServiceClient::new(channel(addr).expect("talk-service channel"));
        let mut agents =
            AgentServiceClient::new(channel(agent_addr).expect("agent-service channel"));
        let login = agents
            .login(LoginRequest {
                username: "admin".into(),
                password: ADMIN_PASSWORD.into(),
            })
            .await
            .expect("admin login")
            .into_inner();
        let admin = login.agent.expect("admin agent");
        Self {
            database_url,
            sqlite_dir,
            nats,
            agent_service,
            talk_service,
            talks,
            archive,
            agents,
            bus,
            prefix: subject_prefix,
            admin: Caller {
                agent_id: admin.id,
                customer_id: admin.customer_id,
                permission: admin.permission,
            },
            counter: AtomicU32::new(0),
        }
    }

    /// A new agent in the customer of `by` (an admin), as a caller.
    pub async fn agent(&self, by: &Caller) -> Caller {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let agent = self
            .agents
            .clone()
            .create_agent(talk_runtime::grpc::acting(
                by.clone(),
                CreateAgentRequest {
                    options: None,
                    username: format!(
                        "agent{n}-{}",
                        &uuid::Uuid::new_v4().simple().to_string()[..6]
                    ),
                    password: "agent-password-123".into(),
                    name: format!("Agent {n}"),
                    detail: String::new(),
                    permission: 0,
                },
            ))
            .await
            .expect("create agent")
            .into_inner();
        Caller {
            agent_id: agent.id,
            customer_id: agent.customer_id,
            permission: agent.permission,
        }
    }

    /// The admin of a new customer (inserted straight into agent-service's store).
    pub async fn other_customer(&self) -> Caller {
        let customer = CustomerId::new();
        let url = match &self.sqlite_dir {
            Some(dir) => format!("sqlite://{}/agent.db?mode=rwc", dir.display()),
            None => self.database_url.clone(),
        };
        let conn = talk_store::connect(&url, "agent", 2)
            .await
            .expect("connect");
        let now = if self.sqlite_dir.is_some() {
            "CURRENT_TIMESTAMP"
        } else {
            "now()"
        };
        // agent-service has no public way to add a customer; its tests do the same.
        conn.execute_unprepared(&format!(
            "INSERT INTO customers (id, name, tm_create) VALUES ('{customer}', 'Other', {now})"
        ))
        .await
        .expect("insert customer");
        conn.close().await.ok();
        Caller {
            agent_id: uuid::Uuid::new_v4().to_string(),
            customer_id: customer.to_string(),
            permission: 32,
        }
    }

    /// Creates a talk.
    pub async fn create(
        &self,
        by: &Caller,
        kind: &str,
        name: Option<&str>,
        with: &[&Caller],
    ) -> Result<CreateTalkResponse, ApiError> {
        self.create_request(talk_runtime::grpc::acting(
            by.clone(),
            CreateTalkRequest {
                options: None,
                r#type: kind.into(),
                name: name.map(str::to_owned),
                detail: None,
                participants: with.iter().map(|c| agent_ref(&c.agent_id)).collect(),
            },
        ))
        .await
    }

    /// Sends a raw create request.
    pub async fn create_request(
        &self,
        request: tonic::Request<CreateTalkRequest>,
    ) -> Result<CreateTalkResponse, ApiError> {
        self.talks
            .clone()
            .create_talk(request)
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| ApiError::from_status(&s))
    }

    /// Creates a talk that must succeed and returns it.
    pub async fn talk(&self, by: &Caller, kind: &str, with: &[&Caller]) -> Talk {
        let response = self
            .create(by, kind, None, with)
            .await
            .expect("create talk");
        response.talk.expect("talk in response")
    }

    /// Reads a talk.
    pub async fn get(&self, by: &Caller, talk: &str) -> Result<Talk, ApiError> {
        self.talks
            .clone()
            .get_talk(talk_runtime::grpc::acting(
                by.clone(),
                TalkRef {
                    talk_id: talk.into(),
                },
            ))
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| ApiError::from_status(&s))
    }

    /// Joins a talk.
    pub async fn join(&self, by: &Caller, talk: &str) -> Result<Participant, ApiError> {
        self.talks
            .clone()
            .join_talk(write(by, talk))
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| ApiError::from_status(&s))
    }

    /// Leaves a talk.
    pub async fn leave(&self, by: &Caller, talk: &str) -> Result<Participant, ApiError> {
        self.talks
            .clone()
            .leave_talk(write(by, talk))
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| ApiError::from_status(&s))
    }

    /// Active participants of a talk, as the caller sees them.
    pub async fn participants(
        &self,
        by: &Caller,
        talk: &str,
    ) -> Result<Vec<Participant>, ApiError> {
        self.talks
            .clone()
            .list_participants(talk_runtime::grpc::acting(
                by.clone(),
                TalkRef {
                    talk_id: talk.into(),
                },
            ))
            .await
            .map(|r| r.into_inner().participants)
            .map_err(|s| ApiError::from_status(&s))
    }

    /// A direct connection to talk-service's schema (PostgreSQL setups only).
    pub async fn talk_db(&self) -> sea_orm::DatabaseConnection {
        talk_store::connect(&self.database_url, "talk", 2)
            .await
            .expect("connect")
    }

    /// Subscribes to events published from now on.
    pub async fn events(&self) -> EventStream {
        self.bus.subscribe(Start::New).await.expect("subscribe")
    }

    /// Stops both services and drops the database.
    pub async fn stop(self) {
        self.talk_service.stop("talk-service").await;
        self.agent_service.stop("agent-service").await;
        if let Some((bus, stream)) = self.nats {
            let jetstream = async_nats::jetstream::new(bus.client().clone());
            jetstream.delete_stream(&stream).await.ok();
        }
        if let Some(dir) = self.sqlite_dir {
            std::fs::remove_dir_all(dir).ok();
            return;
        }
        talk_testkit::drop_database(&self.database_url).await.ok();
    }
}

/// A participant reference to an agent.
pub fn agent_ref(id: &str) -> ParticipantRef {
    ParticipantRef {
        owner_type: "agent".into(),
        owner_id: id.into(),
    }
}

/// A write on a talk without an idempotency key.
pub fn write(by: &Caller, talk: &str) -> tonic::Request<TalkWrite> {
    talk_runtime::grpc::acting(
        by.clone(),
        TalkWrite {
            options: None,
            talk_id: talk.into(),
        },
    )
}

/// Write options carrying an idempotency key.
pub fn keyed(key: &str, hash: &str) -> Option<WriteOptions> {
    Some(WriteOptions {
        idempotency_key: key.into(),
        request_hash: hash.into(),
    })
}

/// The next `n` events, in order (each must arrive within 10 s).
pub async fn next_events(stream: &mut EventStream, n: usize) -> Vec<(EventKind, Payload)> {
    use futures_util::StreamExt;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let delivery = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("event in time")
            .expect("stream open")
            .expect("delivery");
        out.push(talk_events::kinds::decode(&delivery.envelope).expect("decodable event"));
    }
    out
}

/// The error of a result that must fail.
pub fn err<T: std::fmt::Debug>(result: Result<T, ApiError>) -> ApiError {
    result.expect_err("expected an error")
}
