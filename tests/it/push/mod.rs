//! Real-time push through the whole system: every change is made over REST
//! (edge → talk-service / message-service → PostgreSQL outbox → NATS
//! JetStream → push-gateway) and observed on WebSockets, as a client would.
//!
//! - every event type, with its REST shape, in the seed's and VoIPBIN's naming;
//! - only participants receive a talk's events (not the rest of the customer,
//!   even for a public talk, and not other customers), overlapping topics
//!   deliver once, and membership changes take effect on open sockets;
//! - the loss tests: a 500-message stream interrupted mid-way (client dropped,
//!   gateway restarted, or reconnection to another gateway), 200 more posted
//!   meanwhile, and a resume that ends with exactly the 700, in order, once;
//! - a client that never reads does not hold back another one and is
//!   disconnected with the resume code 4008.

use std::collections::BTreeSet;
use std::ops::Range;
use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::{StreamExt, TryStreamExt};
use serde_json::{Value, json};
use talk_e2e::{Api, Socket, Topology};

mod audience;
mod backpressure;
mod events;
mod flood;
mod gateways;
mod limits;
mod resume;
mod voipbin;

const WAIT: Duration = Duration::from_secs(15);
const SERVICES: Topology = Topology::Services { nats_url: None };

fn id_of(value: &Value) -> String {
    value["id"].as_str().unwrap_or_default().to_owned()
}

fn token(api: &Api) -> &str {
    api.token.as_deref().unwrap_or_default()
}

/// The talk an event belongs to: `chat_id` of participants and messages, `id` of talks.
fn talk_of(frame: &Value) -> String {
    let data = &frame["data"];
    data["chat_id"]
        .as_str()
        .or_else(|| data["id"].as_str())
        .unwrap_or_default()
        .to_owned()
}

fn is_system(frame: &Value) -> bool {
    frame["data"]["type"] == "system"
}

fn cursor(frame: &Value) -> u64 {
    frame["cursor"]
        .as_str()
        .and_then(|c| c.parse().ok())
        .unwrap_or_default()
}

/// Connects to `base` as `api`, subscribes to `topics` and waits for the ack.
async fn subscribed(
    base: &str,
    api: &Api,
    query: &str,
    topics: &[String],
) -> anyhow::Result<Socket> {
    let mut socket = Socket::connect(base, token(api), query).await?;
    socket
        .send(json!({"type": "subscribe", "topics": topics, "id": "sub"}))
        .await?;
    let ack = socket.next_within(WAIT).await?.context("no ack")?;
    assert_eq!(ack, json!({"type": "ack", "id": "sub"}));
    Ok(socket)
}

/// The next frame, which must come within [`WAIT`].
async fn next(socket: &mut Socket) -> anyhow::Result<Value> {
    socket
        .next_within(WAIT)
        .await?
        .with_context(|| format!("no frame within {WAIT:?}"))
}

/// Posts `text(i)` for every `i` in `range` into `talk`, `concurrency` at a
/// time; returns each message's id, in the order the POSTs were answered.
async fn post_many(
    api: Api,
    talk: String,
    range: Range<usize>,
    concurrency: usize,
    text: fn(usize) -> String,
) -> anyhow::Result<Vec<String>> {
    futures_util::stream::iter(range)
        .map(|i| {
            let api = api.clone();
            let path = format!("/v1.0/talks/{talk}/messages");
            async move {
                let message = api.post(&path, json!({"text": text(i)}), 201).await?;
                Ok::<_, anyhow::Error>(id_of(&message))
            }
        })
        .buffer_unordered(concurrency)
        .try_collect()
        .await
}

/// Connects each of `members` (subscribed to all its talks), then `creator`
/// opens a talk (`body`); returns its id and the sockets, each past its
/// participant_joined and talk_created. (Subscribing first matters: the
/// creation is published after the REST answer, so a socket opened just after
/// it could still receive them.)
async fn open_talk(
    base: &str,
    creator: &Api,
    body: Value,
    members: &[(&str, &Api)],
) -> anyhow::Result<(String, Vec<Socket>)> {
    let mut sockets = Vec::new();
    for (id, api) in members {
        sockets.push(subscribed(base, api, "", &[format!("agent_id:{id}:chat")]).await?);
    }
    let talk_id = id_of(&creator.post("/v1.0/talks", body, 201).await?);
    for ((id, _), socket) in members.iter().zip(&mut sockets) {
        // Its own participant_joined, those of the members listed after it, talk_created.
        let joined = next(socket).await?;
        assert_eq!(joined["type"], "participant_joined", "{joined}");
        assert_eq!(joined["data"]["owner_id"], *id);
        loop {
            let frame = next(socket).await?;
            assert_eq!(talk_of(&frame), talk_id, "{frame}");
            if frame["type"] == "talk_created" {
                break;
            }
            assert_eq!(frame["type"], "participant_joined", "{frame}");
        }
    }
    Ok((talk_id, sockets))
}

/// Adds a frame to the messages a client holds; it must be a posted message.
fn take_message(got: &mut Vec<Value>, frame: Value) -> anyhow::Result<()> {
    if frame["type"] != "message_created" || is_system(&frame) {
        bail!("expected a posted message, got {frame}");
    }
    got.push(frame);
    Ok(())
}

/// Asserts `got` holds each of `posted` exactly once, in the talk's order.
#[track_caller]
fn assert_all_once_in_order(got: &[Value], posted: &[String]) {
    let ids: Vec<String> = got.iter().map(|f| id_of(&f["data"])).collect();
    let distinct: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "a message arrived twice");
    assert_eq!(distinct, posted.iter().collect::<BTreeSet<_>>());
    let seqs: Vec<u64> = got
        .iter()
        .map(|f| f["data"]["seq"].as_u64().unwrap_or_default())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "talk order: {seqs:?}");
    let cursors: Vec<u64> = got.iter().map(cursor).collect();
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "bus order");
}
