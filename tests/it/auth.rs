//! Authentication errors carry VoIPBIN's error body with the right 4xx status.

use reqwest::Method;
use serde_json::json;
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::{Api, Cluster, Topology};

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
    wrong.assert_error(401, "INVALID_CREDENTIALS");

    let malformed = anon
        .raw(Method::POST, "/auth/login", "{\"username\": ")
        .await?;
    malformed.assert_error(400, "INVALID_JSON_BODY");

    let missing = anon
        .call(Method::GET, "/v1.0/service_agents/talk_chats", None)
        .await?;
    missing.assert_error(401, "AUTHENTICATION_REQUIRED");

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
    expired.assert_error(401, "INVALID_CREDENTIALS");

    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let bad_json = admin
        .raw(Method::POST, "/v1.0/service_agents/talk_chats", "{not json")
        .await?;
    bad_json.assert_error(400, "INVALID_JSON_BODY");
    let wrong_type = admin
        .call(
            Method::POST,
            "/v1.0/service_agents/talk_chats",
            Some(json!({"type": 7})),
        )
        .await?;
    wrong_type.assert_error(400, "INVALID_JSON_BODY");
    let listed = admin.get("/v1.0/service_agents/talk_chats").await?;
    assert_eq!(
        listed["result"],
        json!([]),
        "nothing was created by the bad requests"
    );
    cluster.stop().await;
    Ok(())
}
