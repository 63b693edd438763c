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

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;
use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::{StreamExt, TryStreamExt};
use reqwest::Method;
use serde_json::{Value, json};
use talk_e2e::cluster::{ADMIN_PASSWORD, Gateway};
use talk_e2e::ws::Incoming;
use talk_e2e::{Api, Cluster, Socket, Topology};
use tokio::time::Instant;

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

/// Every frame up to and including the `message_created` of `text`.
async fn frames_until(socket: &mut Socket, text: &str) -> anyhow::Result<Vec<Value>> {
    let mut frames = Vec::new();
    loop {
        let frame = next(socket).await?;
        let done = frame["type"] == "message_created" && frame["data"]["text"] == text;
        frames.push(frame);
        if done {
            return Ok(frames);
        }
    }
}

/// `creator` opens a talk (`body`) and, once its first two frames (the
/// recipient's participant_joined and talk_created) reached `socket`, posts
/// `text` in it. Returns the talk's id and every frame `socket` received, the
/// sentinel message included.
///
/// Waiting before posting matters: talk-service and message-service publish
/// through separate outboxes, so a message posted right after the talk was
/// created may reach the bus before the recipient's participant_joined — and
/// then, in bus order, it is not a member yet.
async fn sentinel(
    creator: &Api,
    body: Value,
    socket: &mut Socket,
    text: &str,
) -> anyhow::Result<(String, Vec<Value>)> {
    let talk_id = id_of(&creator.post("/v1.0/talks", body, 201).await?);
    let mut frames = vec![next(socket).await?, next(socket).await?];
    creator
        .post(
            &format!("/v1.0/talks/{talk_id}/messages"),
            json!({"text": text}),
            201,
        )
        .await?;
    frames.extend(frames_until(socket, text).await?);
    Ok((talk_id, frames))
}

/// `(type, talk)` of each frame, for readable assertions.
fn summary(frames: &[Value]) -> Vec<(String, String)> {
    frames
        .iter()
        .map(|f| {
            (
                f["type"].as_str().unwrap_or_default().to_owned(),
                talk_of(f),
            )
        })
        .collect()
}

/// Bob's two sockets on one subscription: seed naming and `?events=voipbin`.
struct Both {
    seed: Socket,
    voipbin: Socket,
}

impl Both {
    /// The next event on both sockets (system messages, which the services
    /// write asynchronously, are skipped): named `seed` and `voipbin`, with the
    /// same data, topic and cursor on both. Returns the seed frame.
    async fn next(&mut self, seed: &str, voipbin: &str) -> anyhow::Result<Value> {
        let a = Self::next_event(&mut self.seed).await?;
        let b = Self::next_event(&mut self.voipbin).await?;
        assert_eq!(a["type"], seed, "seed naming: {a}");
        assert_eq!(b["type"], voipbin, "voipbin naming: {b}");
        assert_eq!(a["data"], b["data"], "both namings carry the same data");
        assert_eq!(a["topic"], b["topic"]);
        assert_eq!(a["cursor"], b["cursor"]);
        Ok(a)
    }

    async fn next_event(socket: &mut Socket) -> anyhow::Result<Value> {
        loop {
            let frame = next(socket).await?;
            if !is_system(&frame) {
                return Ok(frame);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_caused_over_rest_arrives_in_both_namings() -> anyhow::Result<()> {
    let cluster = Cluster::start(SERVICES).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let (alice_id, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (carol_id, _carol) = admin.create_agent("carol", "Carol").await?;
    let topics = [format!("agent_id:{bob_id}:chat")];
    let mut both = Both {
        seed: subscribed(&cluster.push, &bob, "", &topics).await?,
        voipbin: subscribed(&cluster.push, &bob, "events=voipbin", &topics).await?,
    };
    let mut cursors = Vec::new();

    // Creation: Bob's own participant_joined (it makes him a member), then talk_created.
    let talk = alice
        .post(
            "/v1.0/talks",
            json!({"type": "group", "name": "ops", "participant_ids": [bob_id]}),
            201,
        )
        .await?;
    let talk_id = id_of(&talk);
    let topic = format!("agent_id:{bob_id}:chat:{talk_id}");
    let joined = both
        .next("participant_joined", "chatparticipant_added")
        .await?;
    assert_eq!(joined["topic"], topic.as_str());
    assert_eq!(joined["data"]["owner_id"], bob_id.as_str());
    assert_eq!(joined["data"]["owner_type"], "agent");
    assert_eq!(joined["data"]["chat_id"], talk_id.as_str());
    let participants = alice
        .get(&format!("/v1.0/talks/{talk_id}/participants"))
        .await?;
    let bob_participant = participants
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["owner_id"] == bob_id.as_str())
        .context("bob is not listed")?;
    assert_eq!(&joined["data"], bob_participant);
    cursors.push(cursor(&joined));
    let created = both.next("talk_created", "chat_created").await?;
    assert_eq!(created["data"]["id"], talk_id.as_str());
    assert_eq!(created["data"]["name"], "ops");
    assert_eq!(created["data"]["type"], "group");
    assert_eq!(created["data"]["member_count"], 2);
    assert_eq!(created["data"], talk);
    cursors.push(cursor(&created));

    let updated = alice
        .call(
            Method::PUT,
            &format!("/v1.0/talks/{talk_id}"),
            Some(json!({"name": "ops, renamed", "detail": "on call"})),
        )
        .await?
        .expect(200)?;
    let frame = both.next("talk_updated", "chat_updated").await?;
    assert_eq!(frame["data"], updated);
    assert_eq!(frame["data"]["name"], "ops, renamed");
    assert_eq!(frame["data"]["detail"], "on call");
    assert_eq!(frame["data"]["tm_update"], updated["tm_update"]);
    cursors.push(cursor(&frame));

    let added = alice
        .post(
            &format!("/v1.0/talks/{talk_id}/participants"),
            json!({"agent_id": carol_id}),
            201,
        )
        .await?;
    let frame = both
        .next("participant_joined", "chatparticipant_added")
        .await?;
    assert_eq!(frame["data"], added);
    assert_eq!(frame["data"]["owner_id"], carol_id.as_str());
    cursors.push(cursor(&frame));

    // Messages, through both path families.
    let posted = alice
        .post(
            "/v1.0/service_agents/talk_messages",
            json!({"chat_id": talk_id, "type": "normal", "text": "hello"}),
            200,
        )
        .await?;
    let message_id = id_of(&posted);
    let frame = both.next("message_created", "chatmessage_created").await?;
    assert_eq!(frame["data"], posted);
    assert_eq!(frame["data"]["text"], "hello");
    assert_eq!(frame["data"]["owner_id"], alice_id.as_str());
    assert_eq!(frame["topic"], topic.as_str());
    cursors.push(cursor(&frame));

    let edited = alice
        .call(
            Method::PUT,
            &format!("/v1.0/messages/{message_id}"),
            Some(json!({"text": "hello, edited"})),
        )
        .await?
        .expect(200)?;
    let frame = both.next("message_updated", "chatmessage_updated").await?;
    assert_eq!(frame["data"], edited);
    assert_eq!(frame["data"]["text"], "hello, edited");
    cursors.push(cursor(&frame));

    // A reaction event carries the whole message, with its reactions.
    let reacted = alice
        .post(
            &format!("/v1.0/service_agents/talk_messages/{message_id}/reactions"),
            json!({"emoji": "👍"}),
            200,
        )
        .await?;
    let frame = both
        .next("reaction_added", "chatmessage_reaction_updated")
        .await?;
    assert_eq!(frame["data"], reacted);
    assert_eq!(frame["data"]["id"], message_id.as_str());
    assert_eq!(frame["data"]["text"], "hello, edited");
    assert_eq!(frame["data"]["metadata"]["reactions"][0]["emoji"], "👍");
    assert_eq!(
        frame["data"]["metadata"]["reactions"][0]["owner_id"],
        alice_id.as_str()
    );
    cursors.push(cursor(&frame));
    let unreacted = alice
        .call(
            Method::DELETE,
            &format!("/v1.0/messages/{message_id}/reactions/%F0%9F%91%8D"),
            None,
        )
        .await?
        .expect(200)?;
    let frame = both
        .next("reaction_removed", "chatmessage_reaction_updated")
        .await?;
    assert_eq!(frame["data"], unreacted);
    assert_eq!(frame["data"]["text"], "hello, edited");
    assert_eq!(frame["data"]["metadata"]["reactions"], json!([]));
    cursors.push(cursor(&frame));

    let deleted = alice
        .call(
            Method::DELETE,
            &format!("/v1.0/service_agents/talk_messages/{message_id}"),
            None,
        )
        .await?
        .expect(200)?;
    let frame = both.next("message_deleted", "chatmessage_deleted").await?;
    assert_eq!(frame["data"], deleted);
    assert_eq!(frame["data"]["id"], message_id.as_str());
    assert!(frame["data"]["tm_delete"].is_string(), "{frame}");
    cursors.push(cursor(&frame));

    let removed = alice
        .call(
            Method::DELETE,
            &format!("/v1.0/talks/{talk_id}/participants/{}", id_of(&added)),
            None,
        )
        .await?
        .expect(200)?;
    let frame = both
        .next("participant_left", "chatparticipant_removed")
        .await?;
    assert_eq!(frame["data"], removed);
    assert_eq!(frame["data"]["owner_id"], carol_id.as_str());
    assert!(frame["data"]["tm_left"].is_string(), "{frame}");
    cursors.push(cursor(&frame));

    // Close and reopen are VoIPBIN's chat_updated.
    let closed = alice
        .post(&format!("/v1.0/talks/{talk_id}/close"), json!({}), 200)
        .await?;
    let frame = both.next("talk_closed", "chat_updated").await?;
    assert_eq!(frame["data"], closed);
    assert_eq!(frame["data"]["state"], "closed");
    cursors.push(cursor(&frame));
    let reopened = alice
        .post(&format!("/v1.0/talks/{talk_id}/reopen"), json!({}), 200)
        .await?;
    let frame = both.next("talk_reopened", "chat_updated").await?;
    assert_eq!(frame["data"], reopened);
    assert_eq!(frame["data"]["state"], "active");
    cursors.push(cursor(&frame));

    let gone = alice
        .call(Method::DELETE, &format!("/v1.0/talks/{talk_id}"), None)
        .await?
        .expect(200)?;
    let frame = both.next("talk_deleted", "chat_deleted").await?;
    assert_eq!(frame["data"]["id"], talk_id.as_str());
    // VoIPBIN answers (and announces) the talk as it was before the delete.
    assert_eq!(frame["data"], gone);
    cursors.push(cursor(&frame));

    // Cursors are the bus order of what was caused.
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "{cursors:?}");

    // Nothing came twice: the next events on both sockets are those of a new talk.
    let direct = alice
        .post(
            "/v1.0/service_agents/talk_chats",
            json!({"type": "direct", "participants": [{"owner_type": "agent", "owner_id": bob_id}]}),
            200,
        )
        .await?;
    let frame = both
        .next("participant_joined", "chatparticipant_added")
        .await?;
    assert_eq!(frame["data"]["chat_id"], direct["id"]);
    let frame = both.next("talk_created", "chat_created").await?;
    assert_eq!(frame["data"]["id"], direct["id"]);
    assert_eq!(frame["data"]["type"], "direct");
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_participants_receive_once_and_membership_is_live() -> anyhow::Result<()> {
    let cluster = Cluster::start(SERVICES).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let me = admin.get("/v1.0/me").await?;
    let (admin_id, customer) = (id_of(&me), me["customer_id"].clone());
    let customer = customer.as_str().unwrap_or_default().to_owned();
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (carol_id, carol) = admin.create_agent("carol", "Carol").await?;
    let zed = cluster.other_customer("zed", "Zed").await?;
    let zed_me = zed.get("/v1.0/me").await?;
    let (zed_id, zed_customer) = (id_of(&zed_me), zed_me["customer_id"].clone());
    let zed_customer = zed_customer.as_str().unwrap_or_default().to_owned();
    assert_ne!(zed_customer, customer);

    let mut bob_ws = subscribed(
        &cluster.push,
        &bob,
        "",
        &[format!("agent_id:{bob_id}:chat")],
    )
    .await?;
    let mut carol_ws = subscribed(
        &cluster.push,
        &carol,
        "",
        &[format!("agent_id:{carol_id}:chat")],
    )
    .await?;
    // Admins hold both their own topic and the customer's: overlapping topics.
    let mut admin_ws = subscribed(
        &cluster.push,
        &admin,
        "",
        &[
            format!("agent_id:{admin_id}:chat"),
            format!("customer_id:{customer}:chat"),
        ],
    )
    .await?;
    let mut zed_ws = subscribed(
        &cluster.push,
        &zed,
        "",
        &[
            format!("agent_id:{zed_id}:chat"),
            format!("customer_id:{zed_customer}:chat"),
        ],
    )
    .await?;

    // A public talk of Alice's that the others can see but have not joined.
    let lobby = alice
        .post("/v1.0/talks", json!({"type": "talk", "name": "lobby"}), 201)
        .await?;
    let lobby_id = id_of(&lobby);
    let channels = bob.get("/v1.0/service_agents/talk_channels").await?;
    assert!(
        channels["result"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|t| t["id"] == lobby_id.as_str()),
        "bob can see the public talk: {channels}"
    );
    let hello = alice
        .post(
            &format!("/v1.0/talks/{lobby_id}/messages"),
            json!({"text": "lobby hello"}),
            201,
        )
        .await?;
    let hello_id = id_of(&hello);
    alice
        .call(
            Method::PUT,
            &format!("/v1.0/messages/{hello_id}"),
            Some(json!({"text": "lobby hello, edited"})),
        )
        .await?
        .expect(200)?;
    alice
        .post(
            &format!("/v1.0/messages/{hello_id}/reactions"),
            json!({"emoji": "🎉"}),
            200,
        )
        .await?;
    alice
        .call(
            Method::PUT,
            &format!("/v1.0/talks/{lobby_id}"),
            Some(json!({"name": "lobby, renamed"})),
        )
        .await?
        .expect(200)?;

    // Sentinels, published after all of the above: each one's first frames are
    // those of its own new talk. (The sentinel message is posted once the talk
    // shows on the socket: the two services publish independently, see `sentinel`.)
    let mine = |talk: &str| {
        vec![
            ("participant_joined".to_owned(), talk.to_owned()),
            ("talk_created".to_owned(), talk.to_owned()),
            ("message_created".to_owned(), talk.to_owned()),
        ]
    };
    let direct_with = |id: &str| json!({"type": "direct", "participant_ids": [id]});
    let (bob_direct_id, frames) = sentinel(
        &alice,
        direct_with(&bob_id),
        &mut bob_ws,
        "sentinel for bob",
    )
    .await?;
    assert_eq!(summary(&frames), mine(&bob_direct_id), "bob: {frames:?}");
    // The admin is in no talk but its direct one: the customer topic is not a
    // window on the customer's other talks, and the overlap delivers once.
    let (admin_direct_id, frames) = sentinel(
        &alice,
        direct_with(&admin_id),
        &mut admin_ws,
        "sentinel for admin",
    )
    .await?;
    assert_eq!(
        summary(&frames),
        mine(&admin_direct_id),
        "admin: {frames:?}"
    );
    assert_eq!(
        frames[2]["topic"],
        format!("agent_id:{admin_id}:chat:{admin_direct_id}")
    );
    let (zed_talk_id, frames) = sentinel(
        &zed,
        json!({"type": "group", "name": "zed's"}),
        &mut zed_ws,
        "sentinel for zed",
    )
    .await?;
    assert_eq!(summary(&frames), mine(&zed_talk_id), "zed: {frames:?}");

    // Overlapping topics on one socket: each event once.
    bob_ws
        .send(json!({"type": "subscribe", "topics": [format!("agent_id:{bob_id}:chat:{bob_direct_id}")], "id": "more"}))
        .await?;
    assert_eq!(
        next(&mut bob_ws).await?,
        json!({"type": "ack", "id": "more"})
    );
    for text in ["one", "two", "three"] {
        alice
            .post(
                &format!("/v1.0/talks/{bob_direct_id}/messages"),
                json!({"text": text}),
                201,
            )
            .await?;
    }
    let frames = frames_until(&mut bob_ws, "three").await?;
    let texts: Vec<&str> = frames
        .iter()
        .map(|f| f["data"]["text"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(texts, ["one", "two", "three"], "{frames:?}");

    // Live membership: Carol, added over REST, receives from then on on the
    // socket she already has; her own participant_joined comes first.
    let carol_in = alice
        .post(
            &format!("/v1.0/talks/{lobby_id}/participants"),
            json!({"agent_id": carol_id}),
            201,
        )
        .await?;
    let frame = next(&mut carol_ws).await?;
    assert_eq!(frame["type"], "participant_joined", "{frame}");
    assert_eq!(frame["data"], carol_in);
    assert_eq!(
        frame["topic"],
        format!("agent_id:{carol_id}:chat:{lobby_id}")
    );
    alice
        .post(
            &format!("/v1.0/talks/{lobby_id}/messages"),
            json!({"text": "welcome carol"}),
            201,
        )
        .await?;
    let frames = frames_until(&mut carol_ws, "welcome carol").await?;
    assert!(frames.iter().all(|f| talk_of(f) == lobby_id), "{frames:?}");
    // Bob joins the public talk himself.
    let bob_in = bob
        .post(&format!("/v1.0/talks/{lobby_id}/join"), json!({}), 200)
        .await?;
    let frame = next(&mut bob_ws).await?;
    assert_eq!(frame["type"], "participant_joined", "{frame}");
    assert_eq!(frame["data"]["id"], bob_in["id"]);
    alice
        .post(
            &format!("/v1.0/talks/{lobby_id}/messages"),
            json!({"text": "welcome bob"}),
            201,
        )
        .await?;
    frames_until(&mut bob_ws, "welcome bob").await?;

    // Removed: Carol's own participant_left is the last thing she gets of the talk.
    alice
        .call(
            Method::DELETE,
            &format!("/v1.0/talks/{lobby_id}/participants/{}", id_of(&carol_in)),
            None,
        )
        .await?
        .expect(200)?;
    let left = loop {
        let frame = next(&mut carol_ws).await?;
        assert_eq!(talk_of(&frame), lobby_id, "{frame}");
        if frame["type"] == "participant_left" {
            break frame;
        }
    };
    assert_eq!(left["data"]["owner_id"], carol_id.as_str());
    assert_eq!(left["data"]["state"], "left");
    alice
        .post(
            &format!("/v1.0/talks/{lobby_id}/messages"),
            json!({"text": "after carol left"}),
            201,
        )
        .await?;
    let frames = frames_until(&mut bob_ws, "after carol left").await?;
    assert!(frames.iter().all(|f| talk_of(f) == lobby_id), "{frames:?}");
    let (carol_direct_id, frames) = sentinel(
        &alice,
        direct_with(&carol_id),
        &mut carol_ws,
        "sentinel for carol",
    )
    .await?;
    assert_eq!(
        summary(&frames),
        mine(&carol_direct_id),
        "carol: {frames:?}"
    );

    // The other customer received nothing of all this: its next event is its own.
    zed.post(
        &format!("/v1.0/talks/{zed_talk_id}/messages"),
        json!({"text": "zed again"}),
        201,
    )
    .await?;
    let frames = frames_until(&mut zed_ws, "zed again").await?;
    assert_eq!(
        summary(&frames),
        [("message_created".to_owned(), zed_talk_id)]
    );
    cluster.stop().await;
    Ok(())
}

/// Posts `text(i)` for every `i` in `range` into `talk`, `concurrency` at a
/// time; returns each message's id and when its POST was answered.
async fn post_many(
    api: Api,
    talk: String,
    range: Range<usize>,
    concurrency: usize,
    text: fn(usize) -> String,
) -> anyhow::Result<Vec<(String, Instant)>> {
    futures_util::stream::iter(range)
        .map(|i| {
            let api = api.clone();
            let path = format!("/v1.0/talks/{talk}/messages");
            async move {
                let message = api.post(&path, json!({"text": text(i)}), 201).await?;
                Ok::<_, anyhow::Error>((id_of(&message), Instant::now()))
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

    let mut posted: Vec<String> = poster.await??.into_iter().map(|(id, _)| id).collect();
    let more = post_many(
        alice.clone(),
        talk_id.clone(),
        FIRST..FIRST + MORE,
        8,
        |i| format!("m{i}"),
    )
    .await?;
    posted.extend(more.into_iter().map(|(id, _)| id));
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_holds_back_no_one_and_is_told_to_resume() -> anyhow::Result<()> {
    const QUEUE: usize = 16;
    const MESSAGES: usize = 160;
    let cluster = Cluster::start_with(SERVICES, |config| config.ws_queue_len = QUEUE).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (carol_id, carol) = admin.create_agent("carol", "Carol").await?;
    // Carol reads the talk's creation and then nothing: socket buffers and her queue fill.
    let (talk_id, sockets) = open_talk(
        &cluster.push,
        &alice,
        json!({"type": "group", "participant_ids": [bob_id, carol_id]}),
        &[(&bob_id, &bob), (&carol_id, &carol)],
    )
    .await?;
    let [mut fast, mut slow]: [Socket; 2] = sockets
        .try_into()
        .map_err(|_| anyhow::anyhow!("two sockets expected"))?;

    let reader = tokio::spawn(async move {
        let mut arrived = Vec::new();
        while arrived.len() < MESSAGES {
            let frame = next(&mut fast).await?;
            arrived.push((frame, Instant::now()));
        }
        anyhow::Ok(arrived)
    });
    // About 80 kB a frame (20,000 four-byte characters), so ~13 MB in all.
    let posted = post_many(alice.clone(), talk_id.clone(), 0..MESSAGES, 4, |i| {
        format!("{i:05} {}", "🙂".repeat(19_990))
    })
    .await?;
    let arrived = reader.await??;

    let answered: HashMap<&str, Instant> =
        posted.iter().map(|(id, at)| (id.as_str(), *at)).collect();
    let mut delays = Vec::new();
    for (frame, at) in &arrived {
        let id = id_of(&frame["data"]);
        let answered_at = answered
            .get(id.as_str())
            .with_context(|| format!("not a posted message: {id}"))?;
        delays.push(at.saturating_duration_since(*answered_at));
    }
    delays.sort();
    let worst = delays.last().copied().unwrap_or_default();
    let median = delays.get(delays.len() / 2).copied().unwrap_or_default();
    let frames: Vec<Value> = arrived.into_iter().map(|(frame, _)| frame).collect();
    let ids: Vec<String> = posted.into_iter().map(|(id, _)| id).collect();
    for frame in &frames {
        assert_eq!(frame["type"], "message_created");
    }
    assert_all_once_in_order(&frames, &ids);
    eprintln!(
        "slow consumer: delay from a POST's answer to the fast client's frame: \
         worst {worst:?}, median {median:?}"
    );
    // Not a latency measurement: held back by the slow socket it would wait for
    // its pong timeout (60 s).
    assert!(worst < Duration::from_secs(5), "worst delay {worst:?}");

    // Carol gets what the kernel had buffered for her, then 4008: resume.
    let mut received = Vec::new();
    let close = loop {
        match slow.next_or_close(WAIT).await? {
            Some(Incoming::Frame(frame)) => take_message(&mut received, frame)?,
            Some(Incoming::Closed(close)) => break close,
            None => bail!("the slow client was not disconnected"),
        }
    };
    let (code, reason) = close.context("closed without a close frame")?;
    assert_eq!(code, 4008, "{reason}");
    assert!(received.len() < MESSAGES, "{} frames", received.len());
    let first: Vec<String> = received.iter().map(|f| id_of(&f["data"])).collect();
    let expected: Vec<String> = frames
        .iter()
        .take(received.len())
        .map(|f| id_of(&f["data"]))
        .collect();
    assert_eq!(first, expected, "the slow client got a prefix of the talk");
    eprintln!(
        "slow consumer: closed with {code} ({reason}) after {} of {MESSAGES} frames",
        received.len()
    );

    // Told to resume, Carol does, and ends with every message, once, in order.
    let last = received
        .last()
        .map(|f| f["cursor"].clone())
        .context("the slow client got nothing before its close")?;
    let mut again = Socket::connect(&cluster.push, token(&carol), "").await?;
    again
        .send(json!({"type": "resume", "cursor": last, "id": "resume"}))
        .await?;
    again
        .send(json!({"type": "subscribe", "topics": [format!("agent_id:{carol_id}:chat")], "id": "sub"}))
        .await?;
    let mut acks = Vec::new();
    while received.len() < MESSAGES {
        let frame = next(&mut again).await?;
        if frame["type"] == "ack" {
            acks.push(frame["id"].clone());
        } else {
            take_message(&mut received, frame)?;
        }
    }
    assert_eq!(acks, ["resume", "sub"]);
    assert_all_once_in_order(&received, &ids);
    cluster.stop().await;
    Ok(())
}
