//! Typing and "working on it": from a socket frame or REST, to the talk's
//! other participants on every gateway, ending by itself; nobody else hears
//! it; it is never replayed; bad frames and floods are refused without
//! closing the socket.

use std::time::Duration;

use serde_json::{Value, json};
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::{Api, Cluster, Socket};

use super::{SERVICES, expect, id_of, listen, signals_of, token};

/// The typing TTL the server documents (docs/API.md, "Typing").
const TTL: Duration = Duration::from_secs(6);

/// A typing frame.
fn typing(talk: &str, state: &str, id: &str) -> Value {
    json!({"type": "typing", "chat_id": talk, "state": state, "id": id})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_reaches_the_others_on_both_gateways_and_stops_by_itself() -> anyhow::Result<()> {
    let cluster = Cluster::start(SERVICES).await?;
    let (one, two) = (cluster.gateway().await?, cluster.gateway().await?);
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let (alice_id, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (carol_id, carol) = admin.create_agent("carol", "Carol").await?;
    let (dave_id, dave) = admin.create_agent("dave", "Dave").await?;
    let zora = cluster.other_customer("zora", "Zora").await?;
    let zora_id = id_of(&zora.get("/v1.0/me").await?);
    let talk = id_of(
        &alice
            .post(
                "/v1.0/talks",
                json!({"type": "group", "name": "t", "participant_ids": [bob_id, carol_id]}),
                201,
            )
            .await?,
    );

    let mut alice_ws = listen(&one.url, &alice, &alice_id).await?;
    let mut bob_ws = listen(&two.url, &bob, &bob_id).await?;
    let mut carol_ws = listen(&one.url, &carol, &carol_id).await?;
    let mut dave_ws = listen(&two.url, &dave, &dave_id).await?;
    let mut zora_ws = listen(&one.url, &zora, &zora_id).await?;

    // A frame on gateway one reaches bob on gateway two and carol on one.
    alice_ws.send(typing(&talk, "typing", "t1")).await?;
    let ack = expect(&mut alice_ws, "ack").await?;
    assert_eq!(ack["id"], "t1");
    let started_at = tokio::time::Instant::now();
    for socket in [&mut bob_ws, &mut carol_ws] {
        let frame = expect(socket, "typing_started").await?;
        assert_eq!(frame["data"]["chat_id"], talk.as_str(), "{frame}");
        assert_eq!(frame["data"]["agent_id"], alice_id.as_str(), "{frame}");
        assert_eq!(frame["data"]["state"], "typing", "{frame}");
        assert_eq!(frame["data"]["expires_in_ms"], 6000, "{frame}");
        assert!(frame["topic"].as_str().unwrap_or_default().ends_with(&talk));
        assert!(
            frame.get("cursor").is_none(),
            "ephemeral: no cursor: {frame}"
        );
    }
    // A refresh within the TTL is not forwarded again; the state runs out
    // TTL after the last refresh.
    alice_ws.send(typing(&talk, "typing", "t2")).await?;
    expect(&mut alice_ws, "ack").await?;
    let refreshed_at = tokio::time::Instant::now();
    for socket in [&mut bob_ws, &mut carol_ws] {
        let stopped = expect(socket, "typing_stopped").await?;
        assert_eq!(stopped["data"]["agent_id"], alice_id.as_str());
        assert_eq!(stopped["data"]["state"], "stopped");
    }
    assert!(
        refreshed_at.elapsed() >= TTL - Duration::from_millis(500),
        "stopped by expiry, {:?} after the refresh ({:?} after the start)",
        refreshed_at.elapsed(),
        started_at.elapsed()
    );

    // REST, without a socket: a bot works on an answer, then stops.
    let answer = bob
        .post(
            &format!("/v1.0/talks/{talk}/typing"),
            json!({"state": "working"}),
            200,
        )
        .await?;
    assert_eq!(
        answer,
        json!({"chat_id": talk, "state": "working", "expires_in_ms": 6000})
    );
    for socket in [&mut alice_ws, &mut carol_ws] {
        let frame = expect(socket, "typing_started").await?;
        assert_eq!(frame["data"]["agent_id"], bob_id.as_str());
        assert_eq!(frame["data"]["state"], "working");
    }
    bob.post(
        &format!("/v1.0/service_agents/talk_chats/{talk}/typing"),
        json!({"state": "stopped"}),
        200,
    )
    .await?;
    for socket in [&mut alice_ws, &mut carol_ws] {
        let frame = expect(socket, "typing_stopped").await?;
        assert_eq!(frame["data"]["agent_id"], bob_id.as_str());
    }

    // Nobody else heard anything, and nobody heard their own typing.
    for (who, socket) in [
        ("dave, not in the talk", &mut dave_ws),
        ("zora, another customer", &mut zora_ws),
    ] {
        let got = signals_of(socket, "typing_", Duration::from_millis(500)).await?;
        assert!(got.is_empty(), "{who} heard {got:?}");
    }
    let own = signals_of(&mut bob_ws, "typing_", Duration::from_millis(500)).await?;
    assert!(
        own.iter().all(|f| f["data"]["agent_id"] != bob_id.as_str()),
        "bob heard himself: {own:?}"
    );
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_is_never_replayed_on_resume() -> anyhow::Result<()> {
    let cluster = Cluster::start(SERVICES).await?;
    let (one, two) = (cluster.gateway().await?, cluster.gateway().await?);
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let (alice_id, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let talk = id_of(
        &alice
            .post(
                "/v1.0/talks",
                json!({"type": "group", "name": "t", "participant_ids": [bob_id]}),
                201,
            )
            .await?,
    );
    let mut alice_ws = listen(&one.url, &alice, &alice_id).await?;
    let mut bob_ws = listen(&two.url, &bob, &bob_id).await?;
    let path = format!("/v1.0/talks/{talk}/messages");
    alice.post(&path, json!({"text": "before"}), 201).await?;
    let before = expect(&mut bob_ws, "message_created").await?;
    let cursor = before["cursor"].as_str().unwrap_or_default().to_owned();

    alice_ws.send(typing(&talk, "typing", "t")).await?;
    expect(&mut bob_ws, "typing_started").await?;
    alice.post(&path, json!({"text": "after"}), 201).await?;
    expect(&mut bob_ws, "message_created").await?;

    // Bob's second device resumes from before the typing, on either gateway:
    // the message after it, and no typing.
    for gateway in [&one, &two] {
        let query = format!("cursor={cursor}");
        let mut resumed = Socket::connect(&gateway.url, token(&bob), &query).await?;
        resumed
            .send(json!({"type": "subscribe", "topics": [format!("agent_id:{bob_id}:chat")]}))
            .await?;
        let after = expect(&mut resumed, "message_created").await?;
        assert_eq!(after["data"]["text"], "after", "{after}");
        let got = signals_of(&mut resumed, "typing_", Duration::from_millis(800)).await?;
        assert!(got.is_empty(), "replayed signals: {got:?}");
    }
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_typing_is_refused_and_floods_are_limited_with_the_socket_up() -> anyhow::Result<()> {
    let cluster = Cluster::start(SERVICES).await?;
    let gateway = cluster.gateway().await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let (alice_id, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (dave_id, dave) = admin.create_agent("dave", "Dave").await?;
    let talk = id_of(
        &alice
            .post(
                "/v1.0/talks",
                json!({"type": "group", "name": "t", "participant_ids": [bob_id]}),
                201,
            )
            .await?,
    );
    let mut alice_ws = listen(&gateway.url, &alice, &alice_id).await?;
    let mut bob_ws = listen(&gateway.url, &bob, &bob_id).await?;
    let mut dave_ws = listen(&gateway.url, &dave, &dave_id).await?;

    // A talk one is not in: an error frame, nothing sent, the socket stays.
    dave_ws.send(typing(&talk, "typing", "x")).await?;
    let error = expect(&mut dave_ws, "error").await?;
    assert_eq!(error["id"], "x");
    assert_eq!(error["data"]["reason"], "NOT_PARTICIPANT", "{error}");
    // An unknown state, and a chat id that is not one.
    alice_ws.send(typing(&talk, "dancing", "s")).await?;
    let error = expect(&mut alice_ws, "error").await?;
    assert_eq!(error["data"]["reason"], "INVALID_FRAME", "{error}");
    let message = error["data"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("typing, working, stopped"), "{message}");
    alice_ws.send(typing("nope", "typing", "n")).await?;
    assert_eq!(
        expect(&mut alice_ws, "error").await?["data"]["reason"],
        "INVALID_FRAME"
    );
    let heard = signals_of(&mut bob_ws, "typing_", Duration::from_millis(500)).await?;
    assert!(heard.is_empty(), "bob heard refused frames: {heard:?}");

    // REST: the same refusals with their statuses, and 404 for an unknown talk.
    let path = format!("/v1.0/talks/{talk}/typing");
    dave.raw(reqwest::Method::POST, &path, r#"{"state":"typing"}"#)
        .await?
        .assert_error(403, "PERMISSION_DENIED");
    alice
        .raw(reqwest::Method::POST, &path, r#"{"state":"dancing"}"#)
        .await?
        .assert_error(400, "INVALID_ARGUMENT");
    let unknown = format!("/v1.0/talks/{}/typing", uuid::Uuid::now_v7());
    alice
        .raw(reqwest::Method::POST, &unknown, r#"{"state":"typing"}"#)
        .await?
        .assert_error(404, "TALK_NOT_FOUND");

    // A flood: 300 frames switching state. Some are refused (RATE_LIMITED,
    // at most one error a second), bob hears a handful, and both sockets
    // stay up.
    for i in 0..300 {
        let state = if i % 2 == 0 { "typing" } else { "working" };
        alice_ws
            .send(json!({"type": "typing", "chat_id": talk, "state": state}))
            .await?;
    }
    alice_ws
        .send(json!({"type": "subscribe", "topics": [format!("agent_id:{alice_id}:chat")], "id": "still"}))
        .await?;
    let mut rate_limited = 0;
    loop {
        let frame = alice_ws
            .next_within(super::WAIT)
            .await?
            .ok_or_else(|| anyhow::anyhow!("alice's socket went quiet"))?;
        if frame["type"] == "error" {
            assert_eq!(frame["data"]["reason"], "RATE_LIMITED", "{frame}");
            rate_limited += 1;
        }
        if frame["type"] == "ack" && frame["id"] == "still" {
            break;
        }
    }
    assert!(
        (1..=3).contains(&rate_limited),
        "{rate_limited} RATE_LIMITED frames"
    );
    let heard = signals_of(&mut bob_ws, "typing_", Duration::from_secs(1)).await?;
    let started = heard
        .iter()
        .filter(|f| f["type"] == "typing_started")
        .count();
    assert!(
        (1..=8).contains(&started),
        "bob heard {started} of 300 typing frames"
    );
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_works_on_the_embedded_default() -> anyhow::Result<()> {
    let cluster = Cluster::start(talk_e2e::Topology::Embedded).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let (alice_id, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let talk = id_of(
        &alice
            .post(
                "/v1.0/talks",
                json!({"type": "group", "name": "t", "participant_ids": [bob_id]}),
                201,
            )
            .await?,
    );
    let mut alice_ws = listen(&cluster.push, &alice, &alice_id).await?;
    let mut bob_ws = listen(&cluster.push, &bob, &bob_id).await?;
    alice_ws.send(typing(&talk, "working", "w")).await?;
    let frame = expect(&mut bob_ws, "typing_started").await?;
    assert_eq!(frame["data"]["state"], "working");
    bob.post(
        &format!("/v1.0/talks/{talk}/typing"),
        json!({"state": "typing"}),
        200,
    )
    .await?;
    let frame = expect(&mut alice_ws, "typing_started").await?;
    assert_eq!(frame["data"]["agent_id"], bob_id.as_str());
    let frame = expect(&mut bob_ws, "typing_stopped").await?;
    assert_eq!(frame["data"]["agent_id"], alice_id.as_str());
    cluster.stop().await;
    Ok(())
}
