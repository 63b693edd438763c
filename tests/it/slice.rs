//! The first slice: log in, create agents, a direct talk, and a message that
//! reaches the other agent's WebSocket.

use std::time::Duration;

use serde_json::json;
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::{Api, Cluster, Socket, Topology};

const WAIT: Duration = Duration::from_secs(10);

/// Runs the slice on `cluster`; returns the message id that was delivered.
pub async fn message_reaches_the_other_agent(cluster: &Cluster) -> anyhow::Result<String> {
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let (alice_id, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;

    let talk = alice
        .post(
            "/v1.0/service_agents/talk_chats",
            json!({"type": "direct", "participants": [{"owner_type": "agent", "owner_id": bob_id}]}),
            200,
        )
        .await?;
    assert_eq!(talk["type"], "direct");
    assert_eq!(talk["member_count"], 2);
    let talk_id = talk["id"].as_str().unwrap_or_default().to_owned();

    let mut socket =
        Socket::connect(&cluster.push, bob.token.as_deref().unwrap_or_default(), "").await?;
    socket
        .send(json!({"type": "subscribe", "topics": [format!("agent_id:{bob_id}:chat")], "id": "sub-1"}))
        .await?;
    socket.expect("ack", WAIT).await?;

    let posted = alice
        .post(
            "/v1.0/service_agents/talk_messages",
            json!({"chat_id": talk_id, "type": "normal", "text": "hello bob"}),
            200,
        )
        .await?;
    assert_eq!(posted["owner_id"], alice_id.as_str());
    let message_id = posted["id"].as_str().unwrap_or_default().to_owned();

    let frame = loop {
        let frame = socket.expect("message_created", WAIT).await?;
        if frame["data"]["type"] == "normal" {
            break frame;
        }
    };
    assert_eq!(frame["data"]["id"], message_id.as_str());
    assert_eq!(frame["data"]["text"], "hello bob");
    assert_eq!(frame["data"]["chat_id"], talk_id.as_str());
    assert_eq!(frame["topic"], format!("agent_id:{bob_id}:chat:{talk_id}"));
    assert!(frame["cursor"].as_str().is_some_and(|c| !c.is_empty()));
    Ok(message_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slice_across_separate_services_on_postgres_and_nats() -> anyhow::Result<()> {
    let cluster = Cluster::start(Topology::Services { nats_url: None }).await?;
    message_reaches_the_other_agent(&cluster).await?;
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slice_on_the_embedded_default() -> anyhow::Result<()> {
    let cluster = Cluster::start(Topology::Embedded).await?;
    message_reaches_the_other_agent(&cluster).await?;
    cluster.stop().await;
    Ok(())
}
