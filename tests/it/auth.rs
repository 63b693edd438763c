//! Authentication errors carry VoIPBIN's error body with the right 4xx status.

use reqwest::Method;
use serde_json::json;
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::{Api, Cluster, Topology};

fn assert_error(body: &serde_json::Value, status: &str, reason: &str) {
    assert_eq!(body["error"]["status"], status, "{body}");
    assert_eq!(body["error"]["reason"], reason, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert!(
        body["error"]["request_id"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_tokens_and_json_get_clear_4xx() -> anyhow::Result<()> {
    let cluster = Cluster::start(Topology::Services { nats_url: None }).await?;
    let anon = Api::new(&cluster.edge);

    let wrong = anon
        .call(
            Method::POST,
            "/auth/login",
            Some(json!({"username": "admin", "password": "nope"})),
        )
        .await?;
    assert_eq!(wrong.status, 401);
    assert_error(&wrong.body, "UNAUTHENTICATED", "INVALID_CREDENTIALS");

    let malformed = anon
        .raw(Method::POST, "/auth/login", "{\"username\": ")
        .await?;
    assert_eq!(malformed.status, 400);
    assert_error(&malformed.body, "INVALID_ARGUMENT", "INVALID_JSON_BODY");

    let missing = anon
        .call(Method::GET, "/v1.0/service_agents/talk_chats", None)
        .await?;
    assert_eq!(missing.status, 401);
    assert_error(&missing.body, "UNAUTHENTICATED", "AUTHENTICATION_REQUIRED");

    let expired_token = talk_auth::Tokens::new(cluster.config.jwt_secret.as_bytes(), 0).issue(
        talk_auth::AgentClaim {
            id: uuid::Uuid::new_v4().into(),
            customer_id: uuid::Uuid::new_v4().into(),
            username: "ghost".into(),
            name: String::new(),
            permission: 16,
        },
    )?;
    let expired = anon
        .with_token(expired_token)
        .call(Method::GET, "/v1.0/service_agents/talk_chats", None)
        .await?;
    assert_eq!(expired.status, 401);
    assert_error(&expired.body, "UNAUTHENTICATED", "INVALID_CREDENTIALS");

    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let bad_json = admin
        .raw(Method::POST, "/v1.0/service_agents/talk_chats", "{not json")
        .await?;
    assert_eq!(bad_json.status, 400);
    assert_error(&bad_json.body, "INVALID_ARGUMENT", "INVALID_JSON_BODY");
    let wrong_type = admin
        .call(
            Method::POST,
            "/v1.0/service_agents/talk_chats",
            Some(json!({"type": 7})),
        )
        .await?;
    assert_eq!(wrong_type.status, 400);
    assert_error(&wrong_type.body, "INVALID_ARGUMENT", "INVALID_JSON_BODY");
    let listed = admin.get("/v1.0/service_agents/talk_chats").await?;
    assert_eq!(
        listed["result"],
        json!([]),
        "nothing was created by the bad requests"
    );
    cluster.stop().await;
    Ok(())
}
