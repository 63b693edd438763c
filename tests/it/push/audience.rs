//! Only participants receive a talk's events (and the customer's admins on its customer topic), overlapping topics deliver once, and membership changes take effect on open sockets.

use anyhow::Context;
use reqwest::Method;
use serde_json::{Value, json};
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::{Api, Cluster, Socket};

use super::{SERVICES, id_of, next, subscribed, talk_of};

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
    // The admin is in no talk but its direct one, yet the customer topic hears
    // every talk of the customer (VoIPBIN's `customer_id:<cid>:chat`): the
    // lobby, Bob's direct talk, then its own, where both of its topics match
    // and each event still comes once.
    let (admin_direct_id, frames) = sentinel(
        &alice,
        direct_with(&admin_id),
        &mut admin_ws,
        "sentinel for admin",
    )
    .await?;
    let of = |talk: &str, kinds: &[&str]| -> Vec<(String, String)> {
        kinds
            .iter()
            .map(|kind| ((*kind).to_owned(), talk.to_owned()))
            .collect()
    };
    let lobby_events = [
        "participant_joined",
        "talk_created",
        "message_created",
        "message_updated",
        "reaction_added",
        "talk_updated",
    ];
    let direct_events = [
        "participant_joined",
        "participant_joined",
        "talk_created",
        "message_created",
    ];
    let mut expected = of(&lobby_id, &lobby_events);
    expected.extend(of(&bob_direct_id, &direct_events));
    expected.extend(of(&admin_direct_id, &direct_events));
    assert_eq!(summary(&frames), expected, "admin: {frames:?}");
    let last = frames.last().context("the admin's sentinel")?;
    assert_eq!(
        last["topic"],
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
