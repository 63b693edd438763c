//! Nothing crosses customers.

use sea_orm::ConnectionTrait;
use talk_proto::{Caller, GetAgentRequest, ListAgentsRequest, ResolveAgentsRequest};
use talk_types::{AgentId, CustomerId, ErrorKind};

use crate::support::{Harness, api_err};

#[tokio::test]
async fn other_customers_agents_are_invisible() {
    let h = Harness::start().await;
    let admin_a = h.admin().await;
    let alice = h.create(&admin_a, "alice", 0).await.expect("alice");

    // A second customer with its own admin (the service trusts the caller).
    let customer_b = CustomerId::new();
    let conn = h.db.connect().await;
    conn.execute_unprepared(&format!(
        "INSERT INTO customers (id, name, tm_create) VALUES ('{customer_b}', 'Other', now())"
    ))
    .await
    .expect("customer b");
    conn.close().await.ok();
    let admin_b = Caller {
        agent_id: AgentId::new().to_string(),
        customer_id: customer_b.to_string(),
        permission: 32,
    };
    let carol = h.create(&admin_b, "carol", 0).await.expect("carol");
    assert_eq!(carol.customer_id, customer_b.to_string());

    // GetAgent across customers is a 404.
    let err = api_err(
        h.client
            .clone()
            .get_agent(talk_runtime::grpc::acting(
                admin_a.clone(),
                GetAgentRequest {
                    agent_id: carol.id.clone(),
                },
            ))
            .await,
    );
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert_eq!(err.reason, "AGENT_NOT_FOUND");

    // ResolveAgents returns only the caller's customer's agents.
    let unknown = AgentId::new().to_string();
    let resolved = h
        .client
        .clone()
        .resolve_agents(talk_runtime::grpc::acting(
            admin_a.clone(),
            ResolveAgentsRequest {
                agent_ids: vec![
                    alice.id.clone(),
                    carol.id.clone(),
                    "not-a-uuid".into(),
                    unknown.clone(),
                ],
            },
        ))
        .await
        .expect("resolve")
        .into_inner();
    let ids: Vec<_> = resolved.agents.iter().map(|a| a.id.clone()).collect();
    assert_eq!(ids, vec![alice.id.clone()]);
    assert_eq!(
        resolved.missing,
        vec![carol.id.clone(), "not-a-uuid".into(), unknown]
    );

    // Listing shows one customer only.
    let page = h
        .client
        .clone()
        .list_agents(talk_runtime::grpc::acting(
            admin_b,
            ListAgentsRequest { page: None },
        ))
        .await
        .expect("list")
        .into_inner();
    let names: Vec<_> = page.agents.iter().map(|a| a.username.as_str()).collect();
    assert_eq!(names, vec!["carol"]);
    h.stop().await;
}
