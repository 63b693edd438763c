//! The outbox: with NATS down a posted message is accepted, and it is
//! delivered over the WebSocket exactly once when NATS is back.

use std::time::Duration;

use serde_json::json;
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::{Api, Cluster, NatsServer, Socket, Topology};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_posted_while_nats_is_down_is_delivered_once_after() -> anyhow::Result<()> {
    let mut nats = NatsServer::start().await?;
    let cluster = Cluster::start(Topology::Services {
        nats_url: Some(nats.url()),
    })
    .await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let talk = alice
        .post(
            "/v1.0/talks",
            json!({"type": "group", "name": "ops", "participant_ids": [bob_id]}),
            201,
        )
        .await?;
    let talk_id = talk["id"].as_str().unwrap_or_default().to_owned();
    let mut socket =
        Socket::connect(&cluster.push, bob.token.as_deref().unwrap_or_default(), "").await?;
    socket
        .send(json!({"type": "subscribe", "topics": [format!("agent_id:{bob_id}:chat:{talk_id}")], "id": "s"}))
        .await?;
    socket.expect("ack", Duration::from_secs(10)).await?;

    nats.stop().await;
    let posted = alice
        .post(
            &format!("/v1.0/talks/{talk_id}/messages"),
            json!({"text": "sent while the bus is down"}),
            201,
        )
        .await?;
    let id = posted["id"].as_str().unwrap_or_default().to_owned();
    nats.resume().await?;

    let mut seen = 0;
    // Deliveries of the same message would all arrive within this window; the
    // window only bounds the wait for a duplicate, it measures nothing.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while let Some(frame) = socket
        .next_within(deadline.saturating_duration_since(tokio::time::Instant::now()))
        .await?
    {
        if frame["type"] == "message_created" && frame["data"]["id"] == id.as_str() {
            seen += 1;
            if seen == 1 {
                assert_eq!(frame["data"]["text"], "sent while the bus is down");
            }
        }
        if seen >= 1 && tokio::time::Instant::now() + Duration::from_secs(15) > deadline {
            break;
        }
    }
    assert_eq!(seen, 1, "the message must be delivered exactly once");
    cluster.stop().await;
    Ok(())
}
