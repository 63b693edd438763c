//! Test harness: fresh databases, servers on port 0, clients and callers.

use std::net::SocketAddr;
use std::time::Duration;

use agent_service::Error;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use talk_config::Config;
use talk_proto::agent_service_client::AgentServiceClient;
use talk_proto::{Agent, Caller, CreateAgentRequest, LoginRequest};
use talk_types::ApiError;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

pub const ADMIN_PASSWORD: &str = "admin-password-123";
pub const JWT_SECRET: &str = "test-secret-0123456789abcdef";
const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A fresh, empty PostgreSQL database, dropped on [`TestDb::drop_db`].
pub struct TestDb {
    pub url: String,
    name: String,
}

impl TestDb {
    pub async fn new() -> Self {
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(ADMIN_URL)
            .await
            .expect("connect to postgres");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create database");
        admin.close().await.ok();
        Self {
            url: format!("postgres://postgres@127.0.0.1:5432/{name}"),
            name,
        }
    }

    /// No database (for tests on SQLite); dropping it does nothing.
    pub fn none() -> Self {
        Self {
            url: String::new(),
            name: String::new(),
        }
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
        if self.name.is_empty() {
            return;
        }
        let admin = Database::connect(ADMIN_URL)
            .await
            .expect("connect to postgres");
        admin
            .execute_unprepared(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .await
            .ok();
        admin.close().await.ok();
    }
}

/// A running agent-service.
pub struct Server {
    pub addr: SocketAddr,
    shutdown: CancellationToken,
    handle: JoinHandle<Result<(), Error>>,
}

impl Server {
    /// Starts `run` on 127.0.0.1:0 and waits until `/readyz` answers 200.
    pub async fn start(config: Config) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(agent_service::run(config, listener, shutdown.clone()));
        let server = Self {
            addr,
            shutdown,
            handle,
        };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&self) {
        let http = reqwest::Client::new();
        let url = format!("http://{}/readyz", self.addr);
        let mut interval = tokio::time::interval(Duration::from_millis(20));
        for _ in 0..1500 {
            interval.tick().await;
            assert!(
                !self.handle.is_finished(),
                "agent-service stopped while starting"
            );
            if let Ok(response) = http.get(&url).send().await
                && response.status().is_success()
            {
                return;
            }
        }
        panic!("agent-service never became ready");
    }

    pub async fn client(&self) -> AgentServiceClient<Channel> {
        AgentServiceClient::connect(format!("http://{}", self.addr))
            .await
            .expect("connect client")
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
            .create_agent(CreateAgentRequest {
                caller: Some(by.clone()),
                options: None,
                username: username.into(),
                password: format!("{username}-password"),
                name: format!("Name of {username}"),
                detail: String::new(),
                permission,
            })
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
