//! Scale-out: a gateway subscribes to the subjects of the talks its connected
//! agents are in, and to nothing else but participant events; `PushService`
//! reports it and can disconnect an agent.

use std::time::Duration;

use talk_proto::push_service_client::PushServiceClient;
use talk_proto::{DisconnectAgentRequest, StatsRequest, StatsResponse};
use talk_types::TalkId;

use crate::support::{Gateway, World, joined, posted};

/// A client of the gateway's `PushService`, with the internal token.
fn push_client(gateway: &Gateway) -> PushServiceClient<talk_runtime::Channel> {
    let internal = talk_runtime::Internal::new("test", crate::support::SECRET.as_bytes());
    let url = format!("http://{}", gateway.grpc);
    PushServiceClient::new(talk_runtime::channel(&url, &internal).unwrap())
}

async fn stats(gateway: &Gateway) -> StatsResponse {
    let mut client = push_client(gateway);
    client.stats(StatsRequest {}).await.unwrap().into_inner()
}

/// Polls the gateway's stats until `done` holds (the consumer applies a
/// closed connection's interest asynchronously).
async fn stats_until(gateway: &Gateway, done: impl Fn(&StatsResponse) -> bool) -> StatsResponse {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let stats = stats(gateway).await;
        if done(&stats) || tokio::time::Instant::now() > deadline {
            return stats;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn each_gateway_receives_only_the_talks_of_its_agents() {
    let world = World::nats().await;
    let (one, two) = (world.gateway().await, world.gateway().await);
    let (quiet, busy) = (TalkId::new(), TalkId::new());
    let alice = world.agent(&[quiet]);
    let bob = world.agent(&[busy]);
    let mut alice_ws = one.subscribed(&alice).await;
    let mut bob_ws = two.subscribed(&bob).await;
    let c = world.customer;

    let busy_events: Vec<_> = (0..300)
        .map(|i| posted(c, busy, bob.id, &format!("b{i}")))
        .collect();
    world.publish(&busy_events).await;
    world.publish(&[posted(c, quiet, alice.id, "q")]).await;
    assert_eq!(bob_ws.texts_until("b299").await.len(), 300);
    assert_eq!(alice_ws.texts_until("q").await, ["q"]);

    let (first, second) = (stats(&one).await, stats(&two).await);
    assert_eq!((first.watched_talks, second.watched_talks), (1, 1));
    assert_eq!(
        first.bus_messages, 1,
        "gateway one took only its talk's event"
    );
    assert_eq!(
        second.bus_messages, 300,
        "gateway two took only its talk's events"
    );

    // Alice joins the busy talk: gateway one follows it from her join on, a
    // message published right behind the join included.
    world.talks.set(alice.id, &[quiet, busy]);
    world
        .publish(&[
            joined(c, busy, alice.id),
            posted(c, busy, bob.id, "right behind the join"),
        ])
        .await;
    // Her own participant_joined (no text), then the message.
    assert_eq!(
        alice_ws.texts_until("right behind the join").await,
        ["", "right behind the join"]
    );
    assert_eq!(stats(&one).await.watched_talks, 2);

    // Her only connection closes: gateway one follows nothing any more, and
    // the busy talk's events no longer reach it.
    drop(alice_ws);
    let first = stats_until(&one, |s| s.watched_talks == 0).await;
    assert_eq!(first.watched_talks, 0);
    world.publish(&[posted(c, busy, bob.id, "after")]).await;
    assert_eq!(
        bob_ws.texts_until("after").await,
        ["", "right behind the join", "after"]
    );
    assert_eq!(stats(&one).await.bus_messages, first.bus_messages);
}

#[tokio::test]
async fn disconnect_agent_closes_its_sockets_with_4401() {
    let world = World::nats().await;
    let gateway = world.gateway().await;
    let talk = TalkId::new();
    let (alice, bob) = (world.agent(&[talk]), world.agent(&[talk]));
    let mut alice_1 = gateway.subscribed(&alice).await;
    let mut alice_2 = gateway.subscribed(&alice).await;
    let mut bob_ws = gateway.subscribed(&bob).await;

    let mut client = push_client(&gateway);
    let closed = client
        .disconnect_agent(DisconnectAgentRequest {
            agent_id: alice.id.to_string(),
        })
        .await
        .unwrap()
        .into_inner()
        .closed;
    assert_eq!(closed, 2);
    assert_eq!(alice_1.closed().await.0, 4401);
    assert_eq!(alice_2.closed().await.0, 4401);
    // Others are untouched.
    world
        .publish(&[posted(world.customer, talk, bob.id, "still here")])
        .await;
    assert_eq!(bob_ws.texts_until("still here").await, ["still here"]);

    let refused = client
        .disconnect_agent(DisconnectAgentRequest {
            agent_id: "not-an-id".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
}

#[tokio::test]
async fn the_public_port_serves_neither_push_service_nor_health_nor_metrics() {
    let world = World::nats().await;
    let gateway = world.gateway().await;
    assert_eq!(stats(&gateway).await.connections, 0);

    let internal = talk_runtime::Internal::new("test", crate::support::SECRET.as_bytes());
    let public = format!("http://{}", gateway.addr);
    let mut client = PushServiceClient::new(talk_runtime::channel(&public, &internal).unwrap());
    let refused = client.stats(StatsRequest {}).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unimplemented, "{refused:?}");
    for path in ["/healthz", "/readyz", "/metrics"] {
        let answer = reqwest::get(format!("{public}{path}")).await.unwrap();
        assert_eq!(answer.status(), 404, "{path} on the WebSocket port");
    }
}
