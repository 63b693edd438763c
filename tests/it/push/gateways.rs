//! Two gateways side by side: each takes only the talks of its own agents off NATS.

use serde_json::json;
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::{Api, Cluster};

use super::{SERVICES, next, open_talk, post_many, take_message};

/// Two gateways side by side: each takes off NATS only the events of the talks
/// its connected agents are in (and participant events), so a second gateway
/// adds capacity instead of doubling the traffic.
#[tokio::test]
async fn each_gateway_takes_only_the_talks_of_its_agents() -> anyhow::Result<()> {
    const BUSY: usize = 100;
    let cluster = Cluster::start(SERVICES).await?;
    let (one, two) = (cluster.gateway().await?, cluster.gateway().await?);
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let (alice_id, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (carol_id, carol) = admin.create_agent("carol", "Carol").await?;
    let (quiet, mut alice_ws) = open_talk(
        &one.url,
        &alice,
        json!({"type": "group", "name": "quiet", "participant_ids": [carol_id]}),
        &[(&alice_id, &alice)],
    )
    .await?;
    let (busy, mut bob_ws) = open_talk(
        &two.url,
        &bob,
        json!({"type": "group", "name": "busy", "participant_ids": [carol_id]}),
        &[(&bob_id, &bob)],
    )
    .await?;
    let (alice_ws, bob_ws) = (&mut alice_ws[0], &mut bob_ws[0]);
    let before = (one.stats().await?, two.stats().await?);

    post_many(carol.clone(), busy.clone(), 0..BUSY, 8, |i| format!("b{i}")).await?;
    carol
        .post(
            &format!("/v1.0/talks/{quiet}/messages"),
            json!({"text": "q"}),
            201,
        )
        .await?;
    let mut got = Vec::new();
    while got.len() < BUSY {
        take_message(&mut got, next(bob_ws).await?)?;
    }
    let frame = next(alice_ws).await?;
    assert_eq!(frame["data"]["text"], "q", "{frame}");

    let (one, two) = (one.stats().await?, two.stats().await?);
    assert_eq!((one.watched_talks, two.watched_talks), (1, 1));
    // Gateway one took its talk's message, perhaps the busy talk's two
    // participant_joined (every gateway takes participant events; they may
    // have arrived after `before`), and none of the busy talk's messages.
    let took = one.bus_messages - before.0.bus_messages;
    assert!((1..=3).contains(&took), "gateway one took {took} messages");
    assert_eq!(
        two.bus_messages - before.1.bus_messages,
        BUSY as u64,
        "gateway two took the busy talk's messages, not the quiet one"
    );
    assert_eq!((one.connections, two.connections), (1, 1));
    cluster.stop().await;
    Ok(())
}
