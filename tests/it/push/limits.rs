//! What one WebSocket client may cost the gateway (issue 16), each cap shown
//! at the limit (accepted) and one past it (refused with the documented
//! error frame or close code: crates/push-gateway/README.md, "Limits").

use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::ws::Incoming;
use talk_e2e::{Api, Cluster, Socket};

use super::{SERVICES, WAIT, next, token};

const MAX_FRAME_BYTES: usize = 64 * 1024;
const MAX_TOPICS: usize = 256;

/// `frame` with a `pad` field that makes it exactly `size` bytes of JSON.
fn padded(mut frame: Value, size: usize) -> Value {
    frame["pad"] = json!("");
    let pad = size - frame.to_string().len();
    frame["pad"] = json!("x".repeat(pad));
    assert_eq!(frame.to_string().len(), size);
    frame
}

/// The close that must come next (text frames before it are returned).
async fn closed(socket: &mut Socket) -> anyhow::Result<(Vec<Value>, Option<(u16, String)>)> {
    let mut frames = Vec::new();
    loop {
        match socket.next_or_close(WAIT).await? {
            Some(Incoming::Frame(frame)) => frames.push(frame),
            Some(Incoming::Closed(close)) => return Ok((frames, close)),
            None => bail!("not closed within {WAIT:?}; got {frames:?}"),
        }
    }
}

fn assert_error(frame: &Value, reason: &str, id: Option<&str>) {
    assert_eq!(frame["type"], "error", "{frame}");
    assert_eq!(frame["data"]["reason"], reason, "{frame}");
    match id {
        Some(id) => assert_eq!(frame["id"], id, "{frame}"),
        None => assert!(frame.get("id").is_none(), "no id echoed: {frame}"),
    }
}

async fn cluster_with_alice() -> anyhow::Result<(Cluster, String, Api)> {
    let cluster = Cluster::start_with(SERVICES, |config| {
        config.ws_frames_per_sec = 20;
        config.ws_max_connections_per_agent = 4;
    })
    .await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let (alice_id, alice) = admin.create_agent("alice", "Alice").await?;
    Ok((cluster, alice_id, alice))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_of_64_kib_pass_and_larger_ones_close_the_socket_before_and_after_auth()
-> anyhow::Result<()> {
    let (cluster, _, alice) = cluster_with_alice().await?;

    // Before authentication: an auth frame of exactly 64 KiB is accepted, …
    let mut socket = Socket::connect(&cluster.push, "", "").await?;
    let auth = json!({"type": "auth", "token": token(&alice), "id": "auth"});
    socket.send(padded(auth, MAX_FRAME_BYTES)).await?;
    assert_eq!(
        next(&mut socket).await?,
        json!({"type": "ack", "id": "auth"})
    );
    // … and after it, so is any other frame of 64 KiB; one byte more closes with 1009.
    let at_limit = json!({"type": "unsubscribe", "topics": [], "id": "at-limit"});
    socket.send(padded(at_limit, MAX_FRAME_BYTES)).await?;
    assert_eq!(
        next(&mut socket).await?,
        json!({"type": "ack", "id": "at-limit"})
    );
    let past = json!({"type": "unsubscribe", "topics": [], "id": "past"});
    socket.send(padded(past, MAX_FRAME_BYTES + 1)).await?;
    let (frames, close) = closed(&mut socket).await?;
    assert!(frames.is_empty(), "{frames:?}");
    let (code, reason) = close.context("closed without a close frame")?;
    assert_eq!(code, 1009, "{reason}");
    assert!(reason.contains("65536"), "{reason}");

    // A 1 MiB frame before authentication is refused from its header: the
    // connection ends at once (1009, or a reset while the client still
    // writes), not at the 5 s authentication deadline (4401).
    let mut socket = Socket::connect(&cluster.push, "", "").await?;
    let started = tokio::time::Instant::now();
    let huge = json!({"type": "auth", "token": token(&alice)});
    let _ = socket.send(padded(huge, 1024 * 1024)).await;
    let (frames, close) = closed(&mut socket).await?;
    let elapsed = started.elapsed();
    assert!(frames.is_empty(), "{frames:?}");
    if let Some((code, reason)) = &close {
        assert_eq!(*code, 1009, "{reason}");
    }
    assert!(elapsed < Duration::from_secs(4), "closed after {elapsed:?}");
    eprintln!("1 MiB before auth: {close:?} after {elapsed:?}");
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_of_128_bytes_are_echoed_and_longer_ones_refuse_the_frame() -> anyhow::Result<()> {
    let (cluster, _, alice) = cluster_with_alice().await?;
    let mut socket = Socket::connect(&cluster.push, token(&alice), "").await?;
    // 129 bytes of JSON (127 characters and the quotes): refused, not echoed,
    // and not carried out — the resume after it is the connection's first.
    let long = "i".repeat(127);
    socket
        .send(json!({"type": "resume", "cursor": "1", "id": long}))
        .await?;
    let error = next(&mut socket).await?;
    assert_error(&error, "ID_TOO_LONG", None);
    assert!(
        error["data"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("128")
    );
    let longest = "i".repeat(126);
    socket
        .send(json!({"type": "resume", "cursor": "1", "id": longest}))
        .await?;
    assert_eq!(
        next(&mut socket).await?,
        json!({"type": "ack", "id": longest})
    );

    // First-frame authentication: an auth frame with a long id is refused too (4401).
    let mut socket = Socket::connect(&cluster.push, "", "").await?;
    socket
        .send(json!({"type": "auth", "token": token(&alice), "id": long}))
        .await?;
    let (frames, close) = closed(&mut socket).await?;
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_error(&frames[0], "ID_TOO_LONG", None);
    assert_eq!(close.map(|(code, _)| code), Some(4401));
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_holds_at_most_256_topics() -> anyhow::Result<()> {
    let (cluster, alice_id, alice) = cluster_with_alice().await?;
    let topic = |_| format!("agent_id:{alice_id}:chat:{}", uuid::Uuid::new_v4());
    let topics: Vec<String> = (0..MAX_TOPICS).map(topic).collect();
    let mut socket = Socket::connect(&cluster.push, token(&alice), "").await?;
    socket
        .send(json!({"type": "subscribe", "topics": topics, "id": "full"}))
        .await?;
    assert_eq!(
        next(&mut socket).await?,
        json!({"type": "ack", "id": "full"})
    );

    // One more is refused, and nothing of that frame is subscribed; the socket stays.
    let more = [topic(0), topics[0].clone()];
    socket
        .send(json!({"type": "subscribe", "topics": more, "id": "more"}))
        .await?;
    let error = next(&mut socket).await?;
    assert_error(&error, "TOO_MANY_TOPICS", Some("more"));
    assert!(
        error["data"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("256")
    );
    // At the cap, a topic it holds may be subscribed again (nothing changes);
    // after an unsubscribe, a new one fits.
    let again = [topics[1].clone()];
    socket
        .send(json!({"type": "subscribe", "topics": again, "id": "again"}))
        .await?;
    assert_eq!(
        next(&mut socket).await?,
        json!({"type": "ack", "id": "again"})
    );
    let fewer = [topics[2].clone()];
    socket
        .send(json!({"type": "unsubscribe", "topics": fewer, "id": "fewer"}))
        .await?;
    assert_eq!(
        next(&mut socket).await?,
        json!({"type": "ack", "id": "fewer"})
    );
    socket
        .send(json!({"type": "subscribe", "topics": [topic(0)], "id": "fits"}))
        .await?;
    assert_eq!(
        next(&mut socket).await?,
        json!({"type": "ack", "id": "fits"})
    );

    // A topic longer than 128 bytes is not one.
    let long = format!("agent_id:{alice_id}:chat:{}", "x".repeat(100));
    socket
        .send(json!({"type": "subscribe", "topics": [long], "id": "long"}))
        .await?;
    let error = next(&mut socket).await?;
    assert_error(&error, "INVALID_TOPIC", Some("long"));
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_holds_at_most_its_sockets_on_one_gateway() -> anyhow::Result<()> {
    let (cluster, alice_id, alice) = cluster_with_alice().await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let mut sockets = Vec::new();
    for _ in 0..4 {
        sockets.push(Socket::listen(&cluster.push, token(&alice), &alice_id, "").await?);
    }

    // The fifth: an error frame naming the cap, then 4409.
    let mut fifth = Socket::connect(&cluster.push, token(&alice), "").await?;
    let (frames, close) = closed(&mut fifth).await?;
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_error(&frames[0], "TOO_MANY_CONNECTIONS", None);
    let message = frames[0]["data"]["message"].as_str().unwrap_or_default();
    assert!(message.contains('4'), "{message}");
    assert_eq!(close.map(|(code, _)| code), Some(4409));
    // Another agent is not counted against Alice.
    Socket::listen(&cluster.push, token(&bob), &bob_id, "").await?;

    // Once one of hers has gone, a socket is hers again (the gateway counts
    // it out when it sees the connection end: poll for that).
    drop(sockets.pop());
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match Socket::listen(&cluster.push, token(&alice), &alice_id, "").await {
            Ok(socket) => break sockets.push(socket),
            Err(e) if tokio::time::Instant::now() > deadline => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_over_the_rate_are_refused_then_the_socket_is_closed_with_4429() -> anyhow::Result<()>
{
    let (cluster, alice_id, alice) = cluster_with_alice().await?;
    let frame = |i: usize| json!({"type": "unsubscribe", "topics": [], "id": i});
    let mut other = Socket::listen(&cluster.push, token(&alice), &alice_id, "").await?;

    // A burst of 100 frames at once is within the limit: 100 acks, in order.
    let mut socket = Socket::connect(&cluster.push, token(&alice), "").await?;
    for i in 0..100 {
        socket.send(frame(i)).await?;
    }
    for i in 0..100 {
        assert_eq!(next(&mut socket).await?, json!({"type": "ack", "id": i}));
    }

    // 300 at once on a fresh socket: the first 100 (and what the 20 a second
    // regain) are acked, the next are refused with RATE_LIMITED and their id,
    // and refusals that go on close the socket with 4429.
    let mut socket = Socket::connect(&cluster.push, token(&alice), "").await?;
    for i in 0..300 {
        if socket.send(frame(i)).await.is_err() {
            break;
        }
    }
    let (frames, close) = closed(&mut socket).await?;
    let (code, reason) = close.context("closed without a close frame")?;
    assert_eq!(code, 4429, "{reason}");
    let acks: Vec<&Value> = frames.iter().filter(|f| f["type"] == "ack").collect();
    let errors: Vec<&Value> = frames.iter().filter(|f| f["type"] == "error").collect();
    assert_eq!(acks.len() + errors.len(), frames.len(), "{frames:?}");
    assert!(acks.len() >= 100, "{} acks", acks.len());
    assert!(!errors.is_empty());
    for error in &errors {
        assert_eq!(error["data"]["reason"], "RATE_LIMITED", "{error}");
        assert!(error["id"].as_u64().is_some_and(|id| id >= 100), "{error}");
    }
    eprintln!(
        "rate: {} acked, {} refused, then {code} ({reason})",
        acks.len(),
        errors.len()
    );

    // Another socket of the same agent has its own budget.
    other.send(frame(0)).await?;
    assert_eq!(next(&mut other).await?, json!({"type": "ack", "id": 0}));
    cluster.stop().await;
    Ok(())
}
