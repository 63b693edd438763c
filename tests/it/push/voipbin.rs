//! An unchanged VoIPBIN client on VoIPBIN's path: `/v1.0/service_agents/ws`
//! with no query option but the token, subscribing as VoIPBIN's
//! documentation shows, once to each topic form VoIPBIN generates for an
//! event (reference §5.3), hears VoIPBIN's event names and payloads, each
//! event once per connection; an admin on `customer_id:<cid>:chat` hears the
//! talks it is not in; a topic the caller may not hear closes the socket.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::Context;
use reqwest::Method;
use serde_json::{Value, json};
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::ws::Incoming;
use talk_e2e::{Api, Cluster, Socket, Topology};

use super::{SERVICES, WAIT, cursor, id_of, is_system, next, token};

const PATH: &str = "/v1.0/service_agents/ws";

/// One socket on VoIPBIN's path subscribed to `topic`, as VoIPBIN's
/// documentation shows (no `id`: VoIPBIN never acknowledges). The same
/// subscribe again with an `id` (a no-op, and a field VoIPBIN ignores) is
/// acknowledged once the first one is in effect.
async fn voipbin_socket(base: &str, api: &Api, topics: &[String]) -> anyhow::Result<Socket> {
    let mut socket = Socket::connect_to(base, PATH, token(api), "").await?;
    socket.subscribe(topics).await?;
    socket
        .send(json!({"type": "subscribe", "topics": topics, "id": "in-effect"}))
        .await?;
    socket.expect("ack", WAIT).await?;
    Ok(socket)
}

/// What identifies one event: its name, its resource and the resource's version.
fn identity(frame: &Value) -> (String, String, String, String) {
    let data = &frame["data"];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    (
        text(&frame["type"]),
        text(&data["id"]),
        text(&data["tm_update"]),
        frame["cursor"].to_string(),
    )
}

/// A frame without what depends on who receives it (whether a reaction
/// count includes the viewer's own).
fn impersonal(frame: &Value) -> Value {
    let mut frame = frame.clone();
    if let Some(counts) = frame["data"]["metadata"]["reaction_counts"].as_array_mut() {
        for count in counts {
            if let Some(count) = count.as_object_mut() {
                count.remove("me");
            }
        }
    }
    frame
}

/// Reads `socket` until it has every frame of `expected` (system messages,
/// which the services write on their own schedule, aside), then a little
/// longer; checks it got exactly those, in order, each once, and no system
/// message twice.
async fn hears_exactly(name: &str, socket: &mut Socket, expected: &[Value]) -> anyhow::Result<()> {
    let mut got = Vec::new();
    let mut seen = HashSet::new();
    let mut quiet = false;
    loop {
        let wait = if got.len() < expected.len() {
            WAIT
        } else {
            Duration::from_millis(500)
        };
        let Some(frame) = socket.next_within(wait).await? else {
            quiet = true;
            break;
        };
        assert!(
            seen.insert(identity(&frame)),
            "{name}: an event came twice: {frame}"
        );
        if !is_system(&frame) {
            got.push(frame);
        }
        if got.len() > expected.len() {
            break;
        }
    }
    let names = |frames: &[Value]| -> Vec<String> {
        frames
            .iter()
            .map(|f| format!("{} {}", f["type"], f["cursor"]))
            .collect()
    };
    assert_eq!(names(&got), names(expected), "{name}: what it heard");
    assert_eq!(
        got.iter().map(impersonal).collect::<Vec<_>>(),
        expected.iter().map(impersonal).collect::<Vec<_>>(),
        "{name}: the same frames"
    );
    assert!(quiet, "{name}: nothing more");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_topic_form_hears_its_events_once_with_voipbins_names() -> anyhow::Result<()> {
    every_topic_form(SERVICES).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_topic_form_hears_its_events_once_embedded() -> anyhow::Result<()> {
    every_topic_form(Topology::Embedded).await
}

/// The script, heard on each topic form, on `topology`.
async fn every_topic_form(topology: Topology) -> anyhow::Result<()> {
    let cluster = Cluster::start(topology).await?;
    let base = cluster.push.as_str();
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let customer = admin.get("/v1.0/me").await?["customer_id"]
        .as_str()
        .context("customer_id")?
        .to_owned();
    let (alice_id, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (carol_id, _carol) = admin.create_agent("carol", "Carol").await?;
    let bob_topic = |rest: &str| format!("agent_id:{bob_id}:{rest}");
    let customer_topic = |rest: &str| format!("customer_id:{customer}:{rest}");

    // Before the talk exists: the forms that name no talk.
    let mut everything = voipbin_socket(base, &bob, &[bob_topic("chat")]).await?;
    let mut messages = voipbin_socket(base, &bob, &[bob_topic("chatmessage")]).await?;
    let mut participants = voipbin_socket(base, &bob, &[bob_topic("chatparticipant")]).await?;
    let mut creations = voipbin_socket(base, &bob, &[bob_topic("chat:chat_created")]).await?;
    let mut customer_wide = voipbin_socket(base, &admin, &[customer_topic("chat")]).await?;
    let mut customer_messages = voipbin_socket(
        base,
        &admin,
        &[customer_topic("chatmessage:chatmessage_created")],
    )
    .await?;

    let talk = alice
        .post(
            "/v1.0/talks",
            json!({"type": "group", "name": "ops", "participant_ids": [bob_id]}),
            201,
        )
        .await?;
    let talk_id = id_of(&talk);
    let mut heard = Vec::new();
    let created = until(&mut everything, &mut heard, |f| f["type"] == "chat_created").await?;
    assert_eq!(created["data"], talk, "VoIPBIN's Chat");
    let after_creation = cursor(&created);

    // The forms that name the talk, and every form at once (each event once).
    let mut one_talk = voipbin_socket(base, &bob, &[bob_topic(&format!("chat:{talk_id}"))]).await?;
    let mut customer_talk =
        voipbin_socket(base, &admin, &[customer_topic(&format!("chat:{talk_id}"))]).await?;
    let overlapping = [
        bob_topic("chat"),
        bob_topic("chatmessage"),
        bob_topic("chatparticipant"),
        bob_topic(&format!("chat:{talk_id}")),
        bob_topic("chatmessage:chatmessage_created"),
        format!("agent_id:{bob_id}"),
    ];
    let mut overlapping = voipbin_socket(base, &bob, &overlapping).await?;

    let posted = alice
        .post(
            "/v1.0/service_agents/talk_messages",
            json!({"chat_id": talk_id, "type": "normal", "text": "hello"}),
            200,
        )
        .await?;
    let message_id = id_of(&posted);
    let frame = until(&mut everything, &mut heard, |f| {
        f["type"] == "chatmessage_created" && f["data"]["id"] == message_id.as_str()
    })
    .await?;
    assert_eq!(frame["data"], posted, "VoIPBIN's Message");
    let after_post = cursor(&frame);
    // The 5-part per-event form of one message.
    let mut reactions = voipbin_socket(
        base,
        &bob,
        &[bob_topic(&format!(
            "chatmessage:chatmessage_reaction_updated:{message_id}"
        ))],
    )
    .await?;

    // The rest of the script: every event type of a talk.
    bob.post(
        &format!("/v1.0/service_agents/talk_messages/{message_id}/reactions"),
        json!({"emoji": "👍"}),
        200,
    )
    .await?;
    let added = alice
        .post(
            &format!("/v1.0/talks/{talk_id}/participants"),
            json!({"agent_id": carol_id}),
            201,
        )
        .await?;
    alice
        .call(
            Method::PUT,
            &format!("/v1.0/talks/{talk_id}"),
            Some(json!({"name": "ops, renamed"})),
        )
        .await?
        .expect(200)?;
    alice
        .call(
            Method::DELETE,
            &format!("/v1.0/talks/{talk_id}/participants/{}", id_of(&added)),
            None,
        )
        .await?
        .expect(200)?;
    alice
        .call(
            Method::DELETE,
            &format!("/v1.0/service_agents/talk_messages/{message_id}"),
            None,
        )
        .await?
        .expect(200)?;
    alice
        .call(
            Method::PUT,
            &format!("/v1.0/talks/{talk_id}"),
            Some(json!({"name": "the end"})),
        )
        .await?
        .expect(200)?;
    until(&mut everything, &mut heard, |f| {
        f["type"] == "chat_updated" && f["data"]["name"] == "the end"
    })
    .await?;
    // A last look for anything twice.
    while let Some(frame) = everything.next_within(Duration::from_millis(500)).await? {
        heard.push(frame);
    }
    let mut once = HashSet::new();
    for frame in &heard {
        assert!(once.insert(identity(frame)), "twice: {frame}");
    }
    let heard: Vec<Value> = heard.into_iter().filter(|f| !is_system(f)).collect();

    // agent_id:<bob>:chat heard every event type, with VoIPBIN's names only.
    let types: HashSet<&str> = heard.iter().filter_map(|f| f["type"].as_str()).collect();
    for name in [
        "chat_created",
        "chat_updated",
        "chatparticipant_added",
        "chatparticipant_removed",
        "chatmessage_created",
        "chatmessage_reaction_updated",
        "chatmessage_deleted",
    ] {
        assert!(types.contains(name), "{name} missing from {types:?}");
    }
    let voipbin_names = [
        "chat_created",
        "chat_updated",
        "chat_deleted",
        "chatparticipant_added",
        "chatparticipant_removed",
        "chatparticipant_updated",
        "chatmessage_created",
        "chatmessage_updated",
        "chatmessage_deleted",
        "chatmessage_reaction_updated",
    ];
    assert!(types.iter().all(|t| voipbin_names.contains(t)), "{types:?}");
    for frame in &heard {
        let of_talk =
            frame["data"]["chat_id"] == talk_id.as_str() || frame["data"]["id"] == talk_id.as_str();
        assert!(of_talk, "only the talk's events: {frame}");
        assert!(frame["data"].is_object(), "wrapped {{type, data}}: {frame}");
    }
    let carol_removed = heard
        .iter()
        .find(|f| f["type"] == "chatparticipant_removed")
        .context("removal")?;
    assert_eq!(carol_removed["data"]["owner_id"], carol_id.as_str());
    let reacted = heard
        .iter()
        .find(|f| f["type"] == "chatmessage_reaction_updated")
        .context("reaction")?;
    assert_eq!(reacted["data"]["id"], message_id.as_str());
    assert_eq!(reacted["data"]["metadata"]["reactions"][0]["emoji"], "👍");
    assert_eq!(
        reacted["data"]["metadata"]["reactions"][0]["owner_id"],
        bob_id.as_str()
    );

    let only = |keep: &dyn Fn(&Value) -> bool| -> Vec<Value> {
        heard.iter().filter(|f| keep(f)).cloned().collect()
    };
    let resource = |prefix: &'static str| {
        move |f: &Value| {
            f["type"]
                .as_str()
                .is_some_and(|t| t.split('_').next() == Some(prefix))
        }
    };
    // The customer topics name the admin's customer; the frames are the same.
    let as_customer = |frames: Vec<Value>, rest: &str| -> Vec<Value> {
        frames
            .into_iter()
            .map(|mut f| {
                f["topic"] = format!("customer_id:{customer}:{rest}{talk_id}").into();
                f
            })
            .collect()
    };
    let later = |after: u64| move |f: &Value| cursor(f) > after;
    let per_event = |frames: Vec<Value>, scope: &str| -> Vec<Value> {
        frames
            .into_iter()
            .map(|mut f| {
                let name = f["type"].as_str().unwrap_or_default().to_owned();
                let kind = name.split('_').next().unwrap_or_default().to_owned();
                let id = f["data"]["id"].as_str().unwrap_or_default().to_owned();
                f["topic"] = format!("{scope}:{kind}:{name}:{id}").into();
                f
            })
            .collect()
    };
    let bob_scope = format!("agent_id:{bob_id}");
    let customer_scope = format!("customer_id:{customer}");

    hears_exactly(
        "overlapping",
        &mut overlapping,
        &only(&later(after_creation)),
    )
    .await?;
    hears_exactly(
        "agent chat:<id>",
        &mut one_talk,
        &only(&later(after_creation)),
    )
    .await?;
    hears_exactly(
        "agent chatmessage",
        &mut messages,
        &per_event(only(&resource("chatmessage")), &bob_scope),
    )
    .await?;
    hears_exactly(
        "agent chatparticipant",
        &mut participants,
        &per_event(only(&resource("chatparticipant")), &bob_scope),
    )
    .await?;
    hears_exactly(
        "agent chat:chat_created",
        &mut creations,
        &per_event(only(&|f| f["type"] == "chat_created"), &bob_scope),
    )
    .await?;
    hears_exactly(
        "agent per-event reaction",
        &mut reactions,
        &per_event(
            only(&|f| f["type"] == "chatmessage_reaction_updated" && cursor(f) > after_post),
            &bob_scope,
        ),
    )
    .await?;
    // The admin is in no talk: the customer topics hear them all, from the
    // creation on (with every member's join, not only those after Bob's).
    let mut creation = Vec::new();
    until(&mut customer_wide, &mut creation, |f| {
        f["type"] == "chat_created"
    })
    .await?;
    let joined: HashSet<&str> = creation
        .iter()
        .filter(|f| f["type"] == "chatparticipant_added")
        .filter_map(|f| f["data"]["owner_id"].as_str())
        .collect();
    assert_eq!(joined, HashSet::from([alice_id.as_str(), bob_id.as_str()]));
    hears_exactly(
        "customer chat",
        &mut customer_wide,
        &as_customer(only(&later(after_creation)), "chat:"),
    )
    .await?;
    hears_exactly(
        "customer chat:<id>",
        &mut customer_talk,
        &as_customer(only(&later(after_creation)), "chat:"),
    )
    .await?;
    hears_exactly(
        "customer per-event",
        &mut customer_messages,
        &per_event(
            only(&|f| f["type"] == "chatmessage_created"),
            &customer_scope,
        ),
    )
    .await?;
    cluster.stop().await;
    Ok(())
}

/// Reads `socket` into `heard` until a frame satisfies `done`; returns it.
async fn until(
    socket: &mut Socket,
    heard: &mut Vec<Value>,
    done: impl Fn(&Value) -> bool,
) -> anyhow::Result<Value> {
    loop {
        let frame = next(socket).await?;
        heard.push(frame.clone());
        if done(&frame) {
            return Ok(frame);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_the_caller_may_not_hear_close_the_socket() -> anyhow::Result<()> {
    let cluster = Cluster::start(SERVICES).await?;
    let base = cluster.push.as_str();
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let customer = admin.get("/v1.0/me").await?["customer_id"]
        .as_str()
        .context("customer_id")?
        .to_owned();
    let (alice_id, _alice) = admin.create_agent("alice", "Alice").await?;
    let (_bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let stranger = cluster.other_customer("stranger", "Stranger").await?;
    let refused = [
        (&bob, format!("agent_id:{alice_id}:chat")),
        (&bob, format!("customer_id:{customer}:chat")),
        (&stranger, format!("customer_id:{customer}:chat")),
        (&stranger, format!("agent_id:{alice_id}")),
    ];
    for (api, topic) in refused {
        let mut socket = Socket::connect_to(base, PATH, token(api), "").await?;
        socket.subscribe(std::slice::from_ref(&topic)).await?;
        loop {
            match socket.next_or_close(WAIT).await? {
                Some(Incoming::Closed(_)) => break,
                Some(Incoming::Frame(frame)) => {
                    assert_eq!(frame["type"], "error", "{topic}: {frame}");
                }
                None => anyhow::bail!("{topic}: the socket stayed open"),
            }
        }
    }
    cluster.stop().await;
    Ok(())
}
