//! Presence across two gateways on NATS: online while any socket is open
//! anywhere, away when the client says so, offline after the grace once the
//! last socket closed; a reconnect (to either gateway) within the grace and
//! a gateway's restart change nothing; only agents who share a talk hear it.

use std::time::Duration;

use serde_json::{Value, json};
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::{Api, Cluster, Socket};

use super::{SERVICES, expect, id_of, listen, signals_within};

/// The grace after the last socket closed (docs/API.md, "Presence").
const GRACE: Duration = Duration::from_secs(10);

/// The next `presence_changed` about `agent`, skipping everything else.
async fn presence_of(socket: &mut Socket, agent: &str) -> anyhow::Result<String> {
    loop {
        let frame = expect(socket, "presence_changed").await?;
        if frame["data"]["agent_id"] == agent {
            assert!(frame.get("cursor").is_none(), "ephemeral: {frame}");
            return Ok(frame["data"]["presence"]
                .as_str()
                .unwrap_or_default()
                .to_owned());
        }
    }
}

/// The presence changes about `agent` within `wait`.
async fn changes_of(
    socket: &mut Socket,
    agent: &str,
    wait: Duration,
) -> anyhow::Result<Vec<Value>> {
    let got = signals_within(socket, wait).await?;
    Ok(got
        .into_iter()
        .filter(|f| f["type"] == "presence_changed" && f["data"]["agent_id"] == agent)
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_is_shared_by_gateways_and_does_not_flap() -> anyhow::Result<()> {
    let cluster = Cluster::start(SERVICES).await?;
    let (mut one, two) = (cluster.gateway().await?, cluster.gateway().await?);
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let (alice_id, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (carol_id, carol) = admin.create_agent("carol", "Carol").await?;
    id_of(
        &alice
            .post(
                "/v1.0/talks",
                json!({"type": "group", "name": "t", "participant_ids": [bob_id]}),
                201,
            )
            .await?,
    );
    let mut bob_ws = listen(&two.url, &bob, &bob_id).await?;
    let mut carol_ws = listen(&two.url, &carol, &carol_id).await?;
    // Presence is for the connections that ask for it.
    for socket in [&mut bob_ws, &mut carol_ws] {
        socket
            .send(json!({"type": "presence", "state": "online", "id": "hear"}))
            .await?;
        assert_eq!(expect(socket, "ack").await?["id"], "hear");
    }

    // Online on gateway one, heard on gateway two.
    let mut phone = listen(&one.url, &alice, &alice_id).await?;
    assert_eq!(presence_of(&mut bob_ws, &alice_id).await?, "online");
    // Away when the client says so, and back.
    phone
        .send(json!({"type": "presence", "state": "away", "id": "a"}))
        .await?;
    assert_eq!(expect(&mut phone, "ack").await?["id"], "a");
    assert_eq!(presence_of(&mut bob_ws, &alice_id).await?, "away");
    phone
        .send(json!({"type": "presence", "state": "online"}))
        .await?;
    assert_eq!(presence_of(&mut bob_ws, &alice_id).await?, "online");
    phone
        .send(json!({"type": "presence", "state": "asleep", "id": "x"}))
        .await?;
    assert_eq!(
        expect(&mut phone, "error").await?["data"]["reason"],
        "INVALID_FRAME"
    );

    // Gateway one restarts: alice reconnects to gateway two; nobody sees her go.
    one.stop().await?;
    drop(phone);
    let laptop = listen(&two.url, &alice, &alice_id).await?;
    one.restart().await?;
    // A reconnect within the grace, to the restarted gateway: no flap either.
    drop(laptop);
    let tablet = listen(&one.url, &alice, &alice_id).await?;
    let flaps = changes_of(&mut bob_ws, &alice_id, GRACE + Duration::from_secs(3)).await?;
    assert!(flaps.is_empty(), "alice flapped: {flaps:?}");

    // The last socket closes: offline once the grace has passed.
    drop(tablet);
    let closed_at = tokio::time::Instant::now();
    assert_eq!(presence_of(&mut bob_ws, &alice_id).await?, "offline");
    assert!(
        closed_at.elapsed() >= GRACE - Duration::from_secs(1),
        "offline {:?} after the close",
        closed_at.elapsed()
    );
    // Carol shares no talk with alice: she heard nothing of her.
    let heard = changes_of(&mut carol_ws, &alice_id, Duration::from_millis(300)).await?;
    assert!(heard.is_empty(), "carol heard {heard:?}");
    cluster.stop().await;
    Ok(())
}
