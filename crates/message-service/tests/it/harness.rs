//! A message-service on a fresh PostgreSQL database, with fake talk- and
//! agent-services, an in-memory bus and a gRPC client.

use std::sync::Arc;

use talk_config::Config;
use talk_events::memory::MemoryBus;
use talk_proto::agent_service_server::AgentServiceServer;
use talk_proto::message_service_client::MessageServiceClient;
use talk_proto::talk_service_server::TalkServiceServer;
use talk_proto::{Caller, Message, PostMessageRequest, WriteOptions};
use talk_runtime::Channel;
use talk_testkit::{task_ended, wait_ready};
use talk_types::ApiError;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::fakes::{FakeAgents, FakeTalks};

pub struct Harness {
    pub client: MessageServiceClient<Channel>,
    pub talks: FakeTalks,
    pub agents: FakeAgents,
    pub bus: Arc<MemoryBus>,
    pub customer: String,
    pub config: Config,
    shutdown: CancellationToken,
    service: Option<(CancellationToken, JoinHandle<()>)>,
}

async fn bind() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

impl Harness {
    /// On a fresh PostgreSQL database.
    pub async fn start() -> Self {
        let url = talk_testkit::fresh_database().await.unwrap();
        Self::start_on(url).await
    }

    /// On a fresh SQLite file (the embedded default), in addition to PostgreSQL.
    pub async fn start_sqlite() -> Self {
        let dir = std::env::temp_dir().join(format!("talk-msg-{}", Uuid::new_v4().simple()));
        let url = format!("sqlite://{}/message.db?mode=rwc", dir.display());
        Self::start_on(url).await
    }

    async fn start_on(database_url: String) -> Self {
        let shutdown = CancellationToken::new();
        // The fakes check internal tokens like the real services (the
        // configuration below keeps the default secret).
        let internal = talk_runtime::Internal::from_config("test", &Config::default());

        let talks = FakeTalks::default();
        let (listener, talk_url) = bind().await;
        let router = internal.guard(
            tonic::service::Routes::new(TalkServiceServer::new(talks.clone())).into_axum_router(),
        );
        tokio::spawn(talk_runtime::serve(
            listener,
            router,
            talk_runtime::always_ready(),
            shutdown.clone(),
        ));

        let agents = FakeAgents::default();
        let (listener, agent_url) = bind().await;
        let router = internal.guard(
            tonic::service::Routes::new(AgentServiceServer::new(agents.clone())).into_axum_router(),
        );
        tokio::spawn(talk_runtime::serve(
            listener,
            router,
            talk_runtime::always_ready(),
            shutdown.clone(),
        ));

        let config = Config {
            database_url,
            talk_service_url: talk_url,
            agent_service_url: agent_url,
            subject_prefix: talk_testkit::fresh_prefix().subject,
            ..Config::default()
        };
        let mut harness = Self {
            client: MessageServiceClient::new(
                talk_runtime::channel(
                    "http://127.0.0.1:1",
                    &talk_runtime::Internal::from_config("test", &config),
                )
                .unwrap(),
            ),
            talks,
            agents,
            bus: Arc::new(MemoryBus::new(10_000)),
            customer: Uuid::new_v4().to_string(),
            config,
            shutdown,
            service: None,
        };
        harness.boot().await;
        harness
    }

    /// Starts message-service and waits for `/readyz`.
    pub async fn boot(&mut self) {
        let (listener, url) = bind().await;
        let token = self.shutdown.child_token();
        let task = tokio::spawn(message_service::run(
            self.config.clone(),
            self.bus.clone(),
            listener,
            token.clone(),
        ));
        if let Err(e) = wait_ready(&url, None, task_ended(&task)).await {
            if task.is_finished() {
                panic!("message-service stopped: {:?}", task.await);
            }
            panic!("message-service: {e:#}");
        }
        let task = tokio::spawn(async move {
            if let Err(e) = task.await.unwrap() {
                panic!("message-service failed: {e}");
            }
        });
        self.service = Some((token, task));
        self.client = MessageServiceClient::new(
            talk_runtime::channel(
                &url,
                &talk_runtime::Internal::from_config("test", &self.config),
            )
            .unwrap(),
        );
    }

    /// Stops message-service (the fakes keep running).
    pub async fn halt(&mut self) {
        if let Some((token, task)) = self.service.take() {
            token.cancel();
            task.await.unwrap();
        }
    }

    pub async fn stop(mut self) {
        self.halt().await;
        self.shutdown.cancel();
        if let Some(path) = self
            .config
            .database_url
            .strip_prefix("sqlite://")
            .and_then(|p| p.strip_suffix("/message.db?mode=rwc"))
        {
            let _ = std::fs::remove_dir_all(path);
            return;
        }
        let _ = talk_testkit::drop_database(&self.config.database_url).await;
    }

    /// A new agent id of the harness's customer.
    pub fn agent(&self) -> String {
        Uuid::new_v4().to_string()
    }

    pub fn caller(&self, agent: &str) -> Caller {
        Caller {
            agent_id: agent.to_owned(),
            customer_id: self.customer.clone(),
            permission: 16,
        }
    }

    /// A new active talk of `kind` with `members`.
    pub fn talk(&self, kind: &str, members: &[&str]) -> String {
        let id = Uuid::now_v7().to_string();
        self.talks.add(&id, &self.customer, kind, members);
        id
    }

    pub async fn post(&self, agent: &str, talk: &str, text: &str) -> Result<Message, ApiError> {
        self.post_with(
            agent,
            PostMessageRequest {
                talk_id: talk.to_owned(),
                text: text.to_owned(),
                ..Default::default()
            },
        )
        .await
    }

    pub async fn post_with(
        &self,
        agent: &str,
        request: PostMessageRequest,
    ) -> Result<Message, ApiError> {
        self.client
            .clone()
            .post_message(talk_runtime::grpc::acting(self.caller(agent), request))
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| ApiError::from_status(&s))
    }
}

/// Write options with an idempotency key.
pub fn key(key: &str, hash: &str) -> Option<WriteOptions> {
    Some(WriteOptions {
        idempotency_key: key.to_owned(),
        request_hash: hash.to_owned(),
    })
}

/// Asserts an error's HTTP status and reason.
#[track_caller]
pub fn assert_err<T: std::fmt::Debug>(result: Result<T, ApiError>, status: u16, reason: &str) {
    match result {
        Ok(v) => panic!("expected {status} {reason}, got {v:?}"),
        Err(e) => {
            assert_eq!(e.kind.http_status(), status, "{e}");
            assert_eq!(e.reason, reason, "{e}");
        }
    }
}

/// A gRPC result as an ApiError result.
pub fn api<T>(result: Result<tonic::Response<T>, tonic::Status>) -> Result<T, ApiError> {
    result
        .map(tonic::Response::into_inner)
        .map_err(|s| ApiError::from_status(&s))
}
