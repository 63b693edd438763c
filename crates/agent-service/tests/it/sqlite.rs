//! The embedded default: the same service on a SQLite file (in addition to
//! the PostgreSQL tests, never instead of them).

use talk_config::Config;
use talk_proto::{ListAgentsRequest, PageRequest};

use crate::support::{ADMIN_PASSWORD, Harness, JWT_SECRET, Server, TestDb, caller};

#[tokio::test]
async fn runs_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("talk-agent-{}", uuid::Uuid::new_v4().simple()));
    let config = Config {
        data_dir: dir.clone(),
        jwt_secret: JWT_SECRET.into(),
        admin_password: ADMIN_PASSWORD.into(),
        ..Config::default()
    };
    let server = Server::start(config.clone()).await;
    let h = Harness {
        client: server.client().await,
        server,
        db: TestDb::none(),
    };
    let admin = h.admin().await;
    for name in ["a1", "a2", "a3"] {
        h.create(&admin, name, 0).await.expect("create");
    }
    let err = h.create(&admin, "a1", 0).await.expect_err("taken");
    assert_eq!(err.reason, "USERNAME_TAKEN");
    let first = h
        .client
        .clone()
        .list_agents(talk_runtime::grpc::acting(
            admin.clone(),
            ListAgentsRequest {
                page: Some(PageRequest {
                    page_size: 2,
                    page_token: String::new(),
                }),
            },
        ))
        .await
        .expect("list")
        .into_inner();
    let second = h
        .client
        .clone()
        .list_agents(talk_runtime::grpc::acting(
            admin.clone(),
            ListAgentsRequest {
                page: Some(PageRequest {
                    page_size: 2,
                    page_token: first.next_page_token.clone(),
                }),
            },
        ))
        .await
        .expect("list")
        .into_inner();
    let names: Vec<_> = first
        .agents
        .iter()
        .chain(&second.agents)
        .map(|a| a.username.as_str())
        .collect();
    assert_eq!(names, vec!["a3", "a2", "a1", "admin"]);
    let (_, a1) = h.login("a1", "a1-password").await.expect("login");
    assert_eq!(caller(&a1).customer_id, admin.customer_id);
    h.server.stop().await;

    // A restart finds the admin and creates nothing.
    let server = Server::start(config).await;
    server.stop().await;
    std::fs::remove_dir_all(dir).ok();
}
