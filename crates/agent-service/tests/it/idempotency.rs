//! CreateAgent retried with an Idempotency-Key.

use talk_proto::{CreateAgentRequest, ListAgentsRequest, WriteOptions};
use talk_types::ErrorKind;

use crate::support::{Harness, api_err};

#[tokio::test]
async fn retry_returns_the_first_agent_and_a_reused_key_is_unprocessable() {
    let h = Harness::start().await;
    let admin = h.admin().await;
    let request = |hash: &str, username: &str| {
        talk_runtime::grpc::acting(
            admin.clone(),
            CreateAgentRequest {
                options: Some(WriteOptions {
                    idempotency_key: "key-1".into(),
                    request_hash: hash.into(),
                }),
                username: username.into(),
                password: "dave-password".into(),
                name: "Dave".into(),
                detail: String::new(),
                permission: 0,
            },
        )
    };
    let first = h
        .client
        .clone()
        .create_agent(request("hash-a", "dave"))
        .await
        .expect("create")
        .into_inner();
    let retry = h
        .client
        .clone()
        .create_agent(request("hash-a", "dave"))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(retry, first);

    let err = api_err(
        h.client
            .clone()
            .create_agent(request("hash-b", "dave2"))
            .await,
    );
    assert_eq!(err.kind, ErrorKind::Unprocessable);
    assert_eq!(err.kind.http_status(), 422);

    let page = h
        .client
        .clone()
        .list_agents(talk_runtime::grpc::acting(
            admin,
            ListAgentsRequest { page: None },
        ))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(page.agents.len(), 2, "admin and dave only");
    h.stop().await;
}
