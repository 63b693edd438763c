//! The events every change publishes, and the system messages it leaves in the talk.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::Context;
use reqwest::Method;
use serde_json::{Value, json};
use talk_e2e::{Api, Cluster, Socket};

use super::{CHATS, TALKS, delete, id_of, put, set, start, with_key};

const WAIT: Duration = Duration::from_secs(15);

/// The talk's system messages (type, owner_id, text), oldest first.
async fn system_messages(api: &Api, talk: &str) -> anyhow::Result<Vec<(String, String)>> {
    let page = api
        .get(&format!("{TALKS}/{talk}/messages?page_size=100"))
        .await?;
    let mut found: Vec<(String, String)> = page["result"]
        .as_array()
        .context("no result")?
        .iter()
        .filter(|m| m["type"] == "system")
        .map(|m| {
            (
                m["owner_id"].as_str().unwrap_or_default().to_owned(),
                m["text"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    found.reverse();
    Ok(found)
}

/// Polls the talk's messages until a system message says `text`; returns them all.
async fn wait_for_system(
    api: &Api,
    talk: &str,
    text: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let found = system_messages(api, talk).await?;
        if found.iter().any(|(_, t)| t == text) {
            return Ok(found);
        }
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!("no system message {text:?} in {found:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A socket subscribed to `agent_id:<agent>:chat` (acknowledged).
async fn listen(cluster: &Cluster, api: &Api, agent: &str, query: &str) -> anyhow::Result<Socket> {
    Socket::listen(
        &cluster.push,
        api.token.as_deref().unwrap_or_default(),
        agent,
        query,
    )
    .await
}

/// Frames about `talk` (skipping others) until one of type `last`, in order.
async fn frames_until(socket: &mut Socket, talk: &str, last: &str) -> anyhow::Result<Vec<Value>> {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let frame = socket
            .next_within(left)
            .await?
            .with_context(|| format!("no {last} frame; saw {seen:?}"))?;
        let about = frame["data"]["chat_id"] == talk || frame["data"]["id"] == talk;
        if !about || frame["type"] == "message_created" || frame["type"] == "chatmessage_created" {
            continue;
        }
        let done = frame["type"] == last;
        seen.push(frame);
        if done {
            return Ok(seen);
        }
    }
}

fn kinds(frames: &[Value]) -> Vec<&str> {
    frames
        .iter()
        .map(|f| f["type"].as_str().unwrap_or_default())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_publishes_its_event_to_the_participants() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (alice_id, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (carol_id, carol) = admin.create_agent("carol", "Carol").await?;
    let mut alice_ws = listen(&cluster, &alice, &alice_id, "").await?;
    let mut bob_ws = listen(&cluster, &bob, &bob_id, "events=voipbin").await?;
    let mut carol_ws = listen(&cluster, &carol, &carol_id, "").await?;

    // Create: one participant_joined per member, then talk_created.
    let talk = alice
        .post(
            TALKS,
            json!({"type": "group", "name": "events", "participant_ids": [bob_id]}),
            201,
        )
        .await?;
    let t = id_of(&talk);
    let frames = frames_until(&mut alice_ws, &t, "talk_created").await?;
    assert_eq!(
        kinds(&frames),
        vec!["participant_joined", "participant_joined", "talk_created"]
    );
    let joined: BTreeSet<String> = frames[..2]
        .iter()
        .map(|f| {
            f["data"]["owner_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(joined, set(&[&alice_id, &bob_id]));
    let created = &frames[2];
    assert_eq!(created["data"], talk, "the Talk in its REST shape");
    assert_eq!(created["data"]["name"], "events");
    assert_eq!(created["data"]["member_count"], 2);
    assert_eq!(created["topic"], format!("agent_id:{alice_id}:chat:{t}"));
    assert!(created["cursor"].as_str().is_some_and(|c| !c.is_empty()));
    let frames = frames_until(&mut bob_ws, &t, "chat_created").await?;
    assert_eq!(
        kinds(&frames),
        vec!["chatparticipant_added", "chat_created"],
        "VoIPBIN's names with ?events=voipbin; bob hears the talk from his own joining on"
    );
    assert_eq!(frames[0]["data"]["owner_id"], bob_id.as_str());
    assert_eq!(frames[1]["data"]["member_count"], 2);
    assert_eq!(frames[1]["topic"], format!("agent_id:{bob_id}:chat:{t}"));

    // Update.
    put(
        &alice,
        &format!("{CHATS}/{t}"),
        json!({"name": "renamed", "detail": "d"}),
    )
    .await?;
    let frames = frames_until(&mut alice_ws, &t, "talk_updated").await?;
    assert_eq!(kinds(&frames), vec!["talk_updated"]);
    assert_eq!(frames[0]["data"]["name"], "renamed");
    assert_eq!(frames[0]["data"]["detail"], "d");
    let frames = frames_until(&mut bob_ws, &t, "chat_updated").await?;
    assert_eq!(frames[0]["data"]["name"], "renamed");

    // Add: participant_joined, also to the new member.
    let added = alice
        .post(
            &format!("{CHATS}/{t}/participants"),
            json!({"owner_type": "agent", "owner_id": carol_id}),
            200,
        )
        .await?;
    let frames = frames_until(&mut alice_ws, &t, "participant_joined").await?;
    assert_eq!(
        frames[0]["data"], added,
        "the Participant in its REST shape"
    );
    let frames = frames_until(&mut carol_ws, &t, "participant_joined").await?;
    assert_eq!(frames[0]["data"]["owner_id"], carol_id.as_str());
    let frames = frames_until(&mut bob_ws, &t, "chatparticipant_added").await?;
    assert_eq!(frames[0]["data"]["owner_id"], carol_id.as_str());

    // Remove: participant_left to everyone, the removed agent included (its last frame).
    delete(
        &alice,
        &format!("{CHATS}/{t}/participants/{}", id_of(&added)),
    )
    .await?;
    for socket in [&mut alice_ws, &mut carol_ws] {
        let frames = frames_until(socket, &t, "participant_left").await?;
        assert_eq!(kinds(&frames), vec!["participant_left"]);
        assert_eq!(frames[0]["data"]["owner_id"], carol_id.as_str());
        assert_eq!(frames[0]["data"]["state"], "left");
        assert!(frames[0]["data"]["tm_left"].is_string());
    }
    let frames = frames_until(&mut bob_ws, &t, "chatparticipant_removed").await?;
    assert_eq!(frames[0]["data"]["owner_id"], carol_id.as_str());

    // Close, reopen, delete.
    alice
        .post(&format!("{TALKS}/{t}/close"), json!(null), 200)
        .await?;
    let frames = frames_until(&mut alice_ws, &t, "talk_closed").await?;
    assert_eq!(kinds(&frames), vec!["talk_closed"]);
    assert_eq!(frames[0]["data"]["state"], "closed");
    alice
        .post(&format!("{TALKS}/{t}/reopen"), json!(null), 200)
        .await?;
    let frames = frames_until(&mut alice_ws, &t, "talk_reopened").await?;
    assert_eq!(kinds(&frames), vec!["talk_reopened"]);
    assert_eq!(frames[0]["data"]["state"], "active");
    let frames = frames_until(&mut bob_ws, &t, "chat_updated").await?;
    assert_eq!(
        frames[0]["data"]["state"], "closed",
        "close is a chat_updated for VoIPBIN"
    );
    let frames = frames_until(&mut bob_ws, &t, "chat_updated").await?;
    assert_eq!(frames[0]["data"]["state"], "active");
    delete(&alice, &format!("{TALKS}/{t}")).await?;
    let frames = frames_until(&mut alice_ws, &t, "talk_deleted").await?;
    assert_eq!(kinds(&frames), vec!["talk_deleted"]);
    assert_eq!(frames[0]["data"]["id"], t.as_str());
    assert_eq!(
        frames[0]["data"]["tm_delete"],
        Value::Null,
        "the pre-delete snapshot"
    );
    frames_until(&mut bob_ws, &t, "chat_deleted").await?;

    // Join and leave of a public talk reach its members.
    let lobby = alice
        .post(CHATS, json!({"type": "talk", "name": "lobby"}), 200)
        .await?;
    let l = id_of(&lobby);
    frames_until(&mut alice_ws, &l, "talk_created").await?;
    carol
        .post(&format!("{CHATS}/{l}/join"), json!(null), 200)
        .await?;
    let frames = frames_until(&mut alice_ws, &l, "participant_joined").await?;
    assert_eq!(frames[0]["data"]["owner_id"], carol_id.as_str());
    carol
        .post(&format!("{TALKS}/{l}/leave"), json!(null), 200)
        .await?;
    let frames = frames_until(&mut alice_ws, &l, "participant_left").await?;
    assert_eq!(frames[0]["data"]["owner_id"], carol_id.as_str());

    // carol, removed from the first talk, heard nothing more of it: the next
    // frames she gets are about the lobby (events arrive in order).
    let mut next = Vec::new();
    while next.len() < 2 {
        let frame = carol_ws
            .next_within(WAIT)
            .await?
            .context("carol's lobby frames")?;
        if frame["type"] == "message_created" && frame["data"]["chat_id"] == l.as_str() {
            continue;
        }
        next.push(frame);
    }
    for frame in &next {
        assert_eq!(frame["data"]["chat_id"], l.as_str(), "{frame}");
    }
    assert_eq!(kinds(&next), vec!["participant_joined", "participant_left"]);
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_messages_once_per_change_even_when_retried() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (carol_id, carol) = admin.create_agent("carol", "Carol").await?;
    let (dave_id, _) = admin.create_agent("dave", "Dave").await?;

    let lobby = alice
        .post(
            CHATS,
            json!({"type": "talk", "name": "lobby", "participants": [
            {"owner_type": "agent", "owner_id": dave_id}]}),
            200,
        )
        .await?;
    let l = id_of(&lobby);
    // Every change below is sent twice with one Idempotency-Key.
    let twice = |api: &Api, method: Method, path: String, key: &'static str| {
        let api = api.clone();
        async move {
            let first = with_key(&api, method.clone(), &path, None, key).await?;
            let second = with_key(&api, method, &path, None, key).await?;
            anyhow::ensure!(
                first.status == 200 && second.status == 200,
                "{first:?} {second:?}"
            );
            anyhow::ensure!(first.body == second.body, "{first:?} {second:?}");
            anyhow::Ok(first.body)
        }
    };
    twice(&bob, Method::POST, format!("{CHATS}/{l}/join"), "join").await?;
    twice(&bob, Method::POST, format!("{TALKS}/{l}/leave"), "leave").await?;
    twice(&alice, Method::POST, format!("{TALKS}/{l}/close"), "close").await?;
    twice(
        &alice,
        Method::POST,
        format!("{TALKS}/{l}/reopen"),
        "reopen",
    )
    .await?;
    let dave_record = alice
        .get(&format!("{CHATS}/{l}/participants"))
        .await?
        .as_array()
        .and_then(|l| {
            l.iter()
                .find(|p| p["owner_id"] == dave_id.as_str())
                .map(id_of)
        })
        .context("dave's record")?;
    twice(
        &alice,
        Method::DELETE,
        format!("{CHATS}/{l}/participants/{dave_record}"),
        "remove",
    )
    .await?;
    // A last change whose message arrives after every earlier one.
    carol
        .post(&format!("{TALKS}/{l}/join"), json!(null), 200)
        .await?;
    let found = wait_for_system(&alice, &l, "Carol joined the conversation.").await?;
    let texts: Vec<&str> = found.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(
        texts,
        vec![
            "Bob joined the conversation.",
            "Bob left the conversation.",
            "The conversation was closed.",
            "The conversation was reopened.",
            "Dave left the conversation.",
            "Carol joined the conversation.",
        ],
        "one per change, in order, none for the members a talk was created with"
    );
    assert_eq!(found[0].0, bob_id);
    assert_eq!(found[4].0, dave_id);
    assert_eq!(found[5].0, carol_id);
    // Participants read them in the VoIPBIN family too.
    let page = carol
        .get(&format!("/v1.0/service_agents/talk_messages?chat_id={l}"))
        .await?;
    let system = page["result"]
        .as_array()
        .map_or(0, |r| r.iter().filter(|m| m["type"] == "system").count());
    assert_eq!(system, 6);

    // A private talk: the same for joins by add and a leave.
    let group = alice
        .post(
            TALKS,
            json!({"type": "group", "participant_ids": [bob_id]}),
            201,
        )
        .await?;
    let g = id_of(&group);
    let add = |key: &'static str| {
        let alice = alice.clone();
        let path = format!("{TALKS}/{g}/participants");
        let body = json!({"agent_id": carol_id});
        async move { with_key(&alice, Method::POST, &path, Some(body), key).await }
    };
    assert_eq!(add("add").await?.status, 201);
    assert_eq!(add("add").await?.status, 201);
    carol
        .post(&format!("{TALKS}/{g}/leave"), json!(null), 200)
        .await?;
    alice
        .post(&format!("{TALKS}/{g}/close"), json!(null), 200)
        .await?;
    let found = wait_for_system(&bob, &g, "The conversation was closed.").await?;
    let texts: Vec<&str> = found.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(
        texts,
        vec![
            "Carol joined the conversation.",
            "Carol left the conversation.",
            "The conversation was closed.",
        ]
    );
    cluster.stop().await;
    Ok(())
}
