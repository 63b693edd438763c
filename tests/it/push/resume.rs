//! The loss tests: a 500-message stream interrupted mid-way, 200 more posted meanwhile, and a resume that ends with exactly the 700, in order, once.

use anyhow::{Context, bail};
use serde_json::json;
use talk_e2e::cluster::{ADMIN_PASSWORD, Gateway};
use talk_e2e::ws::Incoming;
use talk_e2e::{Api, Cluster, Socket};

use super::{
    SERVICES, WAIT, assert_all_once_in_order, next, open_talk, post_many, take_message, token,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Away {
    /// The client's socket is dropped (no close frame).
    ClientDropped,
    /// The gateway shuts down under the client (1001), and starts again.
    GatewayRestarted,
    /// The client's socket is dropped and it reconnects to another gateway.
    OtherGateway,
}

/// A 500-message stream interrupted mid-way, 200 more posted meanwhile, then
/// a resume with the last cursor: the client ends with the 700, in order, once.
async fn resume_ends_with_every_message(away: Away) -> anyhow::Result<()> {
    const FIRST: usize = 500;
    const MORE: usize = 200;
    const BEFORE_DROP: usize = 150;
    let cluster = Cluster::start(SERVICES).await?;
    let mut gateway = cluster.gateway().await?;
    let other: Option<Gateway> = match away {
        Away::OtherGateway => Some(cluster.gateway().await?),
        Away::ClientDropped | Away::GatewayRestarted => None,
    };
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (talk_id, sockets) = open_talk(
        &gateway.url,
        &alice,
        json!({"type": "group", "name": "stream", "participant_ids": [bob_id]}),
        &[(&bob_id, &bob)],
    )
    .await?;
    let mut socket = sockets.into_iter().next().context("no socket")?;
    let topic = format!("agent_id:{bob_id}:chat");

    let poster = tokio::spawn(post_many(
        alice.clone(),
        talk_id.clone(),
        0..FIRST,
        8,
        |i| format!("m{i}"),
    ));
    let mut got = Vec::new();
    while got.len() < BEFORE_DROP {
        take_message(&mut got, next(&mut socket).await?)?;
    }
    assert!(
        !poster.is_finished(),
        "the interruption must come mid-stream"
    );
    if away == Away::GatewayRestarted {
        // The client keeps what was sent before the gateway's "going away".
        let (stopped, close) = tokio::join!(gateway.stop(), async {
            loop {
                match socket.next_or_close(WAIT).await? {
                    Some(Incoming::Frame(frame)) => take_message(&mut got, frame)?,
                    Some(Incoming::Closed(close)) => return anyhow::Ok(close),
                    None => bail!("the gateway did not close the socket"),
                }
            }
        });
        stopped?;
        assert_eq!(close?.map(|c| c.0), Some(1001), "going away, resume");
    }
    drop(socket);
    let kept = got.len();

    let mut posted: Vec<String> = poster.await??;
    let more = post_many(
        alice.clone(),
        talk_id.clone(),
        FIRST..FIRST + MORE,
        8,
        |i| format!("m{i}"),
    )
    .await?;
    posted.extend(more);
    assert_eq!(posted.len(), FIRST + MORE);
    if away == Away::GatewayRestarted {
        gateway.restart().await?;
    }

    let url = other.as_ref().map_or(&gateway.url, |g| &g.url);
    let last = got
        .last()
        .map(|f| f["cursor"].clone())
        .context("no cursor")?;
    let mut socket = Socket::connect(url, token(&bob), "").await?;
    socket
        .send(json!({"type": "resume", "cursor": last, "id": "resume"}))
        .await?;
    socket
        .send(json!({"type": "subscribe", "topics": [topic], "id": "sub"}))
        .await?;
    let mut acks = Vec::new();
    while got.len() < FIRST + MORE {
        let frame = next(&mut socket).await?;
        if frame["type"] == "ack" {
            acks.push(frame["id"].clone());
        } else {
            take_message(&mut got, frame)?;
        }
    }
    assert_eq!(acks, ["resume", "sub"]);
    // Nothing after the 700 but what is new: the replay handed over to live
    // delivery without repeating anything.
    let fresh = alice
        .post(
            &format!("/v1.0/talks/{talk_id}/messages"),
            json!({"text": "after the stream"}),
            201,
        )
        .await?;
    let frame = next(&mut socket).await?;
    assert_eq!(frame["type"], "message_created");
    assert_eq!(frame["data"], fresh);

    assert_all_once_in_order(&got, &posted);
    eprintln!(
        "{away:?}: {kept} messages before the interruption, {} replayed or live after the resume",
        got.len() - kept
    );
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_after_the_client_dropped_ends_with_all_700_once_in_order() -> anyhow::Result<()> {
    resume_ends_with_every_message(Away::ClientDropped).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_after_the_gateway_restarted_ends_with_all_700_once_in_order() -> anyhow::Result<()>
{
    resume_ends_with_every_message(Away::GatewayRestarted).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_on_another_gateway_ends_with_all_700_once_in_order() -> anyhow::Result<()> {
    resume_ends_with_every_message(Away::OtherGateway).await
}

/// Replay shows only what the agent could see: an agent added after a
/// message was posted (and deleted) reads nothing of the talk from before it
/// joined by replaying from cursor 0 — not the deleted text, not the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_added_later_replays_nothing_from_before_it_joined() -> anyhow::Result<()> {
    let cluster = Cluster::start(SERVICES).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let talk = alice
        .post(
            "/v1.0/talks",
            json!({"type": "group", "name": "history"}),
            201,
        )
        .await?;
    let t = talk["id"].as_str().context("talk id")?.to_owned();
    let messages = format!("/v1.0/talks/{t}/messages");
    let secret = alice
        .post(&messages, json!({"text": "secret"}), 201)
        .await?;
    let secret_id = secret["id"].as_str().context("message id")?;
    alice
        .call(
            reqwest::Method::DELETE,
            &format!("/v1.0/messages/{secret_id}"),
            None,
        )
        .await?
        .expect(200)?;
    alice
        .post(&messages, json!({"text": "before"}), 201)
        .await?;
    alice
        .post(
            &format!("/v1.0/talks/{t}/participants"),
            json!({"agent_id": bob_id}),
            201,
        )
        .await?;
    alice.post(&messages, json!({"text": "after"}), 201).await?;

    let frames = replayed_until(&cluster.push, &bob, &bob_id, "cursor=0", "after").await?;
    let seen: Vec<(String, String)> = frames
        .iter()
        .map(|f| {
            let text = f["data"]["text"].as_str().unwrap_or_default();
            (
                f["type"].as_str().unwrap_or_default().to_owned(),
                text.to_owned(),
            )
        })
        .collect();
    let kinds: Vec<&str> = seen.iter().map(|(kind, _)| kind.as_str()).collect();
    assert!(
        seen.iter()
            .all(|(_, text)| text != "secret" && text != "before"),
        "replayed from before bob joined: {seen:?}"
    );
    assert!(
        !kinds.contains(&"message_deleted") && !kinds.contains(&"talk_created"),
        "replayed from before bob joined: {seen:?}"
    );
    assert_eq!(kinds.first(), Some(&"participant_joined"), "{seen:?}");
    Ok(())
}

/// A resume never shows the text of a message deleted since: its
/// `message_created` is replayed redacted (no text, no media, `tm_delete`
/// set), then its `message_deleted`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_after_a_delete_shows_no_deleted_text() -> anyhow::Result<()> {
    let cluster = Cluster::start(SERVICES).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (t, sockets) = open_talk(
        &cluster.push,
        &alice,
        json!({"type": "group", "name": "redact", "participant_ids": [bob_id]}),
        &[(&bob_id, &bob)],
    )
    .await?;
    let messages = format!("/v1.0/talks/{t}/messages");
    let mut socket = sockets.into_iter().next().context("no socket")?;
    alice.post(&messages, json!({"text": "first"}), 201).await?;
    let first = next(&mut socket).await?;
    assert_eq!(first["data"]["text"], "first");
    drop(socket);

    let doomed = alice
        .post(&messages, json!({"text": "doomed"}), 201)
        .await?;
    let doomed_id = doomed["id"].as_str().context("message id")?.to_owned();
    alice
        .call(
            reqwest::Method::DELETE,
            &format!("/v1.0/messages/{doomed_id}"),
            None,
        )
        .await?
        .expect(200)?;
    alice.post(&messages, json!({"text": "later"}), 201).await?;

    let query = format!("cursor={}", super::cursor(&first));
    let seen = replayed_until(&cluster.push, &bob, &bob_id, &query, "later").await?;
    assert!(
        seen.iter().all(|f| f["data"]["text"] != "doomed"),
        "deleted text replayed: {seen:?}"
    );
    let created = seen
        .iter()
        .find(|f| f["type"] == "message_created" && f["data"]["id"] == doomed_id.as_str())
        .context("the deleted message's message_created, redacted")?;
    assert_eq!(created["data"]["text"], "", "{created}");
    assert_eq!(created["data"]["medias"], json!([]), "{created}");
    assert!(created["data"]["tm_delete"].is_string(), "{created}");
    assert!(
        seen.iter()
            .any(|f| f["type"] == "message_deleted" && f["data"]["id"] == doomed_id.as_str()),
        "{seen:?}"
    );
    Ok(())
}

/// Connects as `agent` with `query` (a cursor), subscribes to its talks and
/// collects every frame but the ack until a message with `text` arrives.
async fn replayed_until(
    push: &str,
    api: &Api,
    agent: &str,
    query: &str,
    text: &str,
) -> anyhow::Result<Vec<serde_json::Value>> {
    let mut socket = Socket::connect(push, token(api), query).await?;
    let topics = [format!("agent_id:{agent}:chat")];
    socket
        .send(json!({"type": "subscribe", "topics": topics, "id": "s"}))
        .await?;
    let mut seen = Vec::new();
    loop {
        let frame = next(&mut socket).await?;
        if frame["type"] == "ack" {
            continue;
        }
        let done = frame["data"]["text"] == text;
        seen.push(frame);
        if done {
            return Ok(seen);
        }
    }
}
