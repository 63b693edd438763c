//! Test harness: fresh databases, servers on port 0, clients and callers.

use std::net::SocketAddr;

use agent_service::Error;
use sea_orm::DatabaseConnection;
use talk_config::Config;
use talk_proto::access_key_service_client::AccessKeyServiceClient;
use talk_proto::agent_service_client::AgentServiceClient;
use talk_proto::{Agent, Caller, CreateAgentRequest, LoginRequest};
use talk_runtime::Channel;
use talk_testkit::task_ended;
use talk_types::ApiError;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const ADMIN_PASSWORD: &str = "admin-password-123";
pub const JWT_SECRET: &str = "test-secret-0123456789abcdef-0123456789";

/// A fresh, empty PostgreSQL database, dropped on [`TestDb::drop_db`].
pub struct TestDb {
    pub url: String,
}

impl TestDb {
    pub async fn new() -> Self {
        let url = talk_testkit::fresh_database()
            .await
            .expect("create a database");
        Self { url }
    }

    /// No database (for tests on SQLite); dropping it does nothing.
    pub fn none() -> Self {
        Self { url: String::new() }
    }

    pub fn config(&self) -> Config {
        Config {
            database_url: self.url.clone(),
            database_max_connections: 4,
            jwt_secret: JWT_SECRET.into(),
            admin_password: ADMIN_PASSWORD.into(),
            ..Config::default()
        }
    }

    /// A direct connection to the service's schema.
    pub async fn connect(&self) -> DatabaseConnection {
        talk_store::connect(&self.url, "agent", 2)
            .await
            .expect("connect")
    }

    pub async fn drop_db(self) {
        if self.url.is_empty() {
            return;
        }
        talk_testkit::drop_database(&self.url).await.ok();
    }
}

/// A running agent-service.
pub struct Server {
    pub addr: SocketAddr,
    internal: talk_runtime::Internal,
    shutdown: CancellationToken,
    handle: JoinHandle<Result<(), Error>>,
}

impl Server {
    /// Starts `run` on 127.0.0.1:0 and waits until `/readyz` answers 200.
    pub async fn start(config: Config) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let internal = talk_runtime::Internal::from_config("test", &config);
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(agent_service::run(config, listener, shutdown.clone()));
        talk_testkit::wait_ready(&format!("http://{addr}"), None, task_ended(&handle))
            .await
            .expect("agent-service ready");
        Self {
            addr,
            internal,
            shutdown,
            handle,
        }
    }

    /// A client whose calls carry the internal token.
    pub async fn client(&self) -> AgentServiceClient<Channel> {
        let url = format!("http://{}", self.addr);
        AgentServiceClient::new(talk_runtime::channel(&url, &self.internal).expect("channel"))
    }

    /// An access key client whose calls carry the internal token.
    pub fn access_keys(&self) -> AccessKeyServiceClient<Channel> {
        let url = format!("http://{}", self.addr);
        AccessKeyServiceClient::new(talk_runtime::channel(&url, &self.internal).expect("channel"))
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        self.handle
            .await
            .expect("join")
            .expect("agent-service ended with an error");
    }
}

/// One database and one server on it.
pub struct Harness {
    pub db: TestDb,
    pub server: Server,
    pub client: AgentServiceClient<Channel>,
}

impl Harness {
    pub async fn start() -> Self {
        let db = TestDb::new().await;
        let server = Server::start(db.config()).await;
        let client = server.client().await;
        Self { db, server, client }
    }

    /// Logs in and returns the agent.
    pub async fn login(&self, username: &str, password: &str) -> Result<(String, Agent), ApiError> {
        let response = self
            .client
            .clone()
            .login(LoginRequest {
                username: username.into(),
                password: password.into(),
            })
            .await
            .map_err(|s| ApiError::from_status(&s))?
            .into_inner();
        Ok((
            response.token,
            response.agent.expect("agent in login response"),
        ))
    }

    /// The bootstrap admin as a caller.
    pub async fn admin(&self) -> Caller {
        let (_, admin) = self
            .login("admin", ADMIN_PASSWORD)
            .await
            .expect("admin login");
        caller(&admin)
    }

    /// Creates an agent with default fields.
    pub async fn create(
        &self,
        by: &Caller,
        username: &str,
        permission: u32,
    ) -> Result<Agent, ApiError> {
        self.client
            .clone()
            .create_agent(talk_runtime::grpc::acting(
                by.clone(),
                CreateAgentRequest {
                    options: None,
                    username: username.into(),
                    password: format!("{username}-password"),
                    name: format!("Name of {username}"),
                    detail: String::new(),
                    permission,
                },
            ))
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| ApiError::from_status(&s))
    }

    pub async fn stop(self) {
        self.server.stop().await;
        self.db.drop_db().await;
    }
}

/// The caller an agent's token would give.
pub fn caller(agent: &Agent) -> Caller {
    Caller {
        agent_id: agent.id.clone(),
        customer_id: agent.customer_id.clone(),
        permission: agent.permission,
    }
}

/// A gRPC result's error as the caller sees it.
pub fn api_err<T: std::fmt::Debug>(result: Result<T, tonic::Status>) -> ApiError {
    ApiError::from_status(&result.expect_err("expected an error"))
}
