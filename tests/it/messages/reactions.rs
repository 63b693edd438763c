//! Reactions as the seed shows them and VoIPBIN serves them: shortcodes
//! (`{"emoji": "thumbsup"}`) and Unicode are one reaction, every message
//! carries `metadata.reaction_counts` (with `me` for whoever looks) the same
//! in REST answers, live events and a resume, reaction events are never lost
//! to a slow client, and `agent_id` names the agent who wrote a message.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, bail};
use futures_util::{StreamExt, TryStreamExt};
use reqwest::Method;
use serde_json::{Value, json};
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::ws::Incoming;
use talk_e2e::{Api, Cluster, Socket, Topology};

use super::{WAIT, frame_about, group, id, listen, message, reactions, say, start};

/// `metadata.reaction_counts` of a message.
fn counts_of(message: &Value) -> Value {
    message["metadata"]["reaction_counts"].clone()
}

/// A count entry.
fn count(emoji: &str, count: u64, me: bool) -> Value {
    json!({"emoji": emoji, "count": count, "me": me})
}

fn cursor_of(frame: &Value) -> u64 {
    frame["cursor"]
        .as_str()
        .and_then(|c| c.parse().ok())
        .unwrap_or_default()
}

/// POST a reaction through VoIPBIN's family.
async fn react_chat(api: &Api, message: &str, emoji: &str) -> anyhow::Result<Value> {
    api.post(
        &format!("/v1.0/service_agents/talk_messages/{message}/reactions"),
        json!({"emoji": emoji}),
        200,
    )
    .await
}

/// POST a reaction through the seed's family, with the seed's body.
async fn react_seed(api: &Api, message: &str, emoji: &str) -> anyhow::Result<Value> {
    api.post(
        &format!("/v1.0/messages/{message}/reactions"),
        json!({"emoji": emoji}),
        200,
    )
    .await
}

/// DELETE the caller's reaction through the seed's path (`emoji` as is: a
/// shortcode needs no encoding).
async fn unreact_seed(api: &Api, message: &str, emoji: &str) -> anyhow::Result<Value> {
    api.call(
        Method::DELETE,
        &format!("/v1.0/messages/{message}/reactions/{emoji}"),
        None,
    )
    .await?
    .expect(200)
}

/// `thumbsup`, `:thumbsup:` and 👍 from three agents are one reaction counted
/// three times; a removal counts down; an unknown shortcode is a 400 naming it.
async fn spellings_are_one_reaction(topology: Topology) -> anyhow::Result<()> {
    let cluster = Cluster::start(topology).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let (alice_id, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (carol_id, carol) = admin.create_agent("carol", "Carol").await?;
    let (dave_id, dave) = admin.create_agent("dave", "Dave").await?;
    let talk = group(&alice, "release", &[&bob_id, &carol_id, &dave_id]).await?;
    let msg = id(&say(&alice, &talk, "Ship 2.4 today?").await?);

    let first = react_seed(&alice, &msg, "thumbsup").await?;
    assert_eq!(counts_of(&first), json!([count("👍", 1, true)]));
    react_chat(&bob, &msg, ":thumbsup:").await?;
    let third = react_seed(&carol, &msg, "👍").await?;
    assert_eq!(counts_of(&third), json!([count("👍", 3, true)]));
    let owners = [alice_id.clone(), bob_id.clone(), carol_id.clone()];
    let expected: Vec<(String, String)> = owners.iter().map(|o| ("👍".into(), o.clone())).collect();
    assert_eq!(
        reactions(&third),
        expected,
        "three entries, all the Unicode emoji"
    );
    // `+1` is the same reaction again: nothing changes.
    let again = react_seed(&alice, &msg, "+1").await?;
    assert_eq!(reactions(&again), expected);
    assert_eq!(again["change_seq"], third["change_seq"]);
    // Whoever looks: `me` is theirs.
    let seen_by_dave = message(&dave, &msg).await?;
    assert_eq!(counts_of(&seen_by_dave), json!([count("👍", 3, false)]));
    assert_eq!(
        counts_of(&message(&bob, &msg).await?),
        json!([count("👍", 3, true)])
    );

    // Unknown: 400 naming it, on both families, and nothing changes.
    for path in [
        format!("/v1.0/messages/{msg}/reactions"),
        format!("/v1.0/service_agents/talk_messages/{msg}/reactions"),
    ] {
        let refused = dave
            .call(
                Method::POST,
                &path,
                Some(json!({"emoji": "notanemoji_xyz"})),
            )
            .await?;
        refused.assert_error(400, "INVALID_EMOJI");
        let said = refused.body["error"]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(said.contains("notanemoji_xyz"), "{said}");
    }
    assert_eq!(message(&dave, &msg).await?, seen_by_dave);

    // Bob takes his back by shortcode: two left, and they are not his.
    let removed = unreact_seed(&bob, &msg, "thumbsup").await?;
    assert_eq!(counts_of(&removed), json!([count("👍", 2, false)]));
    assert_eq!(reactions(&removed).len(), 2);
    assert_eq!(
        counts_of(&message(&alice, &msg).await?),
        json!([count("👍", 2, true)])
    );

    // More emoji: one entry each, in the order each was first used.
    react_chat(&dave, &msg, ":tada:").await?;
    react_seed(&bob, &msg, "eyes").await?;
    let later = react_seed(&bob, &msg, "🎉").await?;
    assert_eq!(
        counts_of(&later),
        json!([
            count("👍", 2, false),
            count("🎉", 2, true),
            count("👀", 1, true)
        ])
    );
    // Real sequences of every kind are kept as they are.
    for emoji in ["👨‍👩‍👧‍👦", "🇯🇵", "👍🏽", "🧑🏽‍💻", "🏳️‍🌈"]
    {
        let reacted = react_seed(&dave, &msg, emoji).await?;
        let counted = counts_of(&reacted);
        let last = counted
            .as_array()
            .and_then(|all| all.last())
            .context("a count")?;
        assert_eq!(*last, count(emoji, 1, true));
    }
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reactions_by_shortcode_and_unicode_are_one_count() -> anyhow::Result<()> {
    spellings_are_one_reaction(Topology::Services { nats_url: None }).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reactions_by_shortcode_and_unicode_are_one_count_embedded() -> anyhow::Result<()> {
    spellings_are_one_reaction(Topology::Embedded).await
}

/// Reads each socket past `message_created` of `msg`; returns their cursors there.
async fn past_creation(sockets: &mut [&mut Socket], msg: &str) -> anyhow::Result<Vec<Value>> {
    let mut cursors = Vec::new();
    for socket in sockets.iter_mut() {
        let frame = frame_about(socket, "message_created", msg).await?;
        cursors.push(frame["cursor"].clone());
    }
    Ok(cursors)
}

/// The next `n` reaction events about `msg` on `socket` (other frames are skipped).
async fn reaction_frames(socket: &mut Socket, msg: &str, n: usize) -> anyhow::Result<Vec<Value>> {
    let mut frames = Vec::new();
    while frames.len() < n {
        let frame = socket.next_within(WAIT).await?.context("no frame")?;
        let kind = frame["type"].as_str().unwrap_or_default();
        if kind.starts_with("reaction_") && frame["data"]["id"] == msg {
            frames.push(frame);
        }
    }
    Ok(frames)
}

/// The counts of the REST answer, of the live event and of the replay after
/// a resume agree, with `me` for whoever holds the socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reaction_counts_agree_in_rest_events_and_resume() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (alice_id, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let talk = group(&alice, "standup", &[&bob_id]).await?;
    let mut alices = listen(&cluster, &alice, &alice_id).await?;
    let mut bobs = listen(&cluster, &bob, &bob_id).await?;
    let msg = id(&say(&alice, &talk, "Standup moved to 9:30").await?);
    let cursors = past_creation(&mut [&mut alices, &mut bobs], &msg).await?;

    // Three changes: Alice 👍, Bob 👍, Alice takes hers back.
    let by_alice = react_seed(&alice, &msg, "thumbsup").await?;
    let by_bob = react_chat(&bob, &msg, ":+1:").await?;
    let taken_back = unreact_seed(&alice, &msg, "+1").await?;
    assert_eq!(counts_of(&by_alice), json!([count("👍", 1, true)]));
    assert_eq!(counts_of(&by_bob), json!([count("👍", 2, true)]));
    assert_eq!(counts_of(&taken_back), json!([count("👍", 1, false)]));

    let alice_live = reaction_frames(&mut alices, &msg, 3).await?;
    let bob_live = reaction_frames(&mut bobs, &msg, 3).await?;
    let kinds: Vec<&Value> = alice_live.iter().map(|f| &f["type"]).collect();
    assert_eq!(
        kinds,
        ["reaction_added", "reaction_added", "reaction_removed"]
    );
    // Each one's own answer is exactly its own event.
    assert_eq!(alice_live[0]["data"], by_alice);
    assert_eq!(bob_live[1]["data"], by_bob);
    assert_eq!(alice_live[2]["data"], taken_back);
    let seen =
        |frames: &[Value]| -> Vec<Value> { frames.iter().map(|f| counts_of(&f["data"])).collect() };
    assert_eq!(
        seen(&alice_live),
        [
            json!([count("👍", 1, true)]),
            json!([count("👍", 2, true)]),
            json!([count("👍", 1, false)])
        ]
    );
    assert_eq!(
        seen(&bob_live),
        [
            json!([count("👍", 1, false)]),
            json!([count("👍", 2, true)]),
            json!([count("👍", 1, true)])
        ]
    );
    // Now, over REST: what each one's socket said last.
    assert_eq!(message(&alice, &msg).await?, alice_live[2]["data"]);
    assert_eq!(message(&bob, &msg).await?, bob_live[2]["data"]);

    // A resume from before the reactions replays the same frames.
    for ((api, agent, live), cursor) in
        [(&alice, &alice_id, &alice_live), (&bob, &bob_id, &bob_live)]
            .into_iter()
            .zip(cursors)
    {
        let token = api.token.as_deref().unwrap_or_default();
        let mut socket = Socket::connect(&cluster.push, token, "").await?;
        socket
            .send(json!({"type": "resume", "cursor": cursor, "id": "resume"}))
            .await?;
        socket
            .send(json!({"type": "subscribe", "topics": [format!("agent_id:{agent}:chat")], "id": "sub"}))
            .await?;
        let replayed = reaction_frames(&mut socket, &msg, 3).await?;
        assert_eq!(&replayed, live, "the replay is the live stream again");
    }
    cluster.stop().await;
    Ok(())
}

/// One agent's part of the burst: `ops` changes on each of `messages` — a
/// ❤️ that stays, then adding (by shortcode) and removing (by Unicode) other
/// emoji in turn; the answers.
async fn churn(api: Api, messages: Vec<String>, ops: usize) -> anyhow::Result<Vec<Value>> {
    const EMOJI: [(&str, &str); 3] = [("thumbsup", "👍"), (":tada:", "🎉"), ("eyes", "👀")];
    let mut answers = Vec::new();
    for round in 0..ops {
        for (i, msg) in messages.iter().enumerate() {
            let Some(turn) = round.checked_sub(1) else {
                answers.push(react_chat(&api, msg, "heart").await?);
                continue;
            };
            let (code, unicode) = EMOJI[(turn / 2 + i) % EMOJI.len()];
            let answer = if turn % 2 == 0 {
                react_seed(&api, msg, code).await?
            } else {
                let path = format!("/v1.0/service_agents/talk_messages/{msg}/reactions");
                api.call(Method::DELETE, &path, Some(json!({"emoji": unicode})))
                    .await?
                    .expect(200)?
            };
            answers.push(answer);
        }
    }
    Ok(answers)
}

/// 1,000 acknowledged reaction changes while one client reads nothing: it is
/// closed to resume, and after the resume it holds every reaction event
/// exactly once, in the talk's order, with the counts of the last answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reactions_burst_to_a_slow_consumer_is_not_lost_after_resume() -> anyhow::Result<()> {
    const AGENTS: usize = 4;
    const MESSAGES: usize = 5;
    const OPS: usize = 50; // per agent and message: 4 × 5 × 50 = 1,000
    let cluster = Cluster::start_with(Topology::Services { nats_url: None }, |config| {
        config.ws_queue_len = 16;
        // Only the slow client's reading could end its wait, not a pong timeout.
        config.ws_pong_timeout_secs = 3600;
    })
    .await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let (erin_id, erin) = admin.create_agent("erin", "Erin").await?;
    let mut agents = Vec::new();
    for i in 0..AGENTS {
        agents.push(
            admin
                .create_agent(&format!("agent{i}"), &format!("Agent {i}"))
                .await?,
        );
    }
    let mut members: Vec<&str> = agents.iter().map(|(id, _)| id.as_str()).collect();
    members.push(&erin_id);
    let talk = group(&agents[0].1, "burst", &members).await?;
    let mut slow = listen(&cluster, &erin, &erin_id).await?;
    // ~20 kB a message, and every reaction event carries its message: the
    // burst is far more than the socket buffers and a queue of 16 hold.
    let mut messages = Vec::new();
    for i in 0..MESSAGES {
        let text = format!("{i} {}", "🙂".repeat(4_990));
        messages.push(id(&say(&agents[0].1, &talk, &text).await?));
    }
    let mut cursor = Value::Null;
    for msg in &messages {
        cursor = frame_about(&mut slow, "message_created", msg).await?["cursor"].clone();
    }

    // The burst: every agent churns every message; Erin reads nothing.
    let answers: Vec<Vec<Value>> = futures_util::stream::iter(agents.iter())
        .map(|(_, api)| churn(api.clone(), messages.clone(), OPS))
        .buffer_unordered(AGENTS)
        .try_collect()
        .await?;
    let answers: Vec<Value> = answers.into_iter().flatten().collect();
    assert_eq!(answers.len(), AGENTS * MESSAGES * OPS);
    let acknowledged: BTreeSet<u64> = answers
        .iter()
        .filter_map(|a| a["change_seq"].as_u64())
        .collect();
    assert_eq!(
        acknowledged.len(),
        answers.len(),
        "each change its own change_seq"
    );

    // Erin now reads: what was buffered, then the close that says "resume".
    let mut got: Vec<Value> = Vec::new();
    let close = loop {
        match slow.next_or_close(WAIT).await? {
            Some(Incoming::Frame(frame)) => {
                cursor = frame["cursor"].clone();
                got.push(frame);
            }
            Some(Incoming::Closed(close)) => break close,
            None => bail!("the slow client was not disconnected"),
        }
    };
    let (code, reason) = close.context("closed without a close frame")?;
    assert_eq!(code, 4008, "{reason}");
    let before = got.len();
    assert!(before < answers.len(), "{before} frames before the close");

    let token = erin.token.as_deref().unwrap_or_default();
    let mut again = Socket::connect(&cluster.push, token, "").await?;
    again
        .send(json!({"type": "resume", "cursor": cursor, "id": "resume"}))
        .await?;
    again
        .send(json!({"type": "subscribe", "topics": [format!("agent_id:{erin_id}:chat")], "id": "sub"}))
        .await?;
    while got.len() < answers.len() {
        let frame = again
            .next_within(WAIT)
            .await?
            .with_context(|| format!("{} of {} reaction events", got.len(), answers.len()))?;
        if frame["type"] != "ack" {
            got.push(frame);
        }
    }

    for frame in &got {
        let kind = frame["type"].as_str().unwrap_or_default();
        assert!(
            kind == "reaction_added" || kind == "reaction_removed",
            "only reaction events: {kind}"
        );
    }
    let seqs: Vec<u64> = got
        .iter()
        .filter_map(|f| f["data"]["change_seq"].as_u64())
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "once each, in talk order"
    );
    assert_eq!(seqs.into_iter().collect::<BTreeSet<_>>(), acknowledged);
    let cursors: Vec<u64> = got.iter().map(cursor_of).collect();
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "bus order");
    // The last event of each message shows what REST shows Erin now.
    let mut last: BTreeMap<String, &Value> = BTreeMap::new();
    for frame in &got {
        last.insert(id(&frame["data"]), &frame["data"]);
    }
    for msg in &messages {
        let now = message(&erin, msg).await?;
        assert_eq!(counts_of(&now)[0], count("❤️", AGENTS as u64, false));
        assert_eq!(Some(&&now), last.get(msg), "{msg}");
    }
    eprintln!(
        "slow consumer: closed with {code} after {before} of {} reaction events, the rest replayed",
        answers.len()
    );
    cluster.stop().await;
    Ok(())
}

/// The data of the next system message announced on `socket`.
async fn system_message(socket: &mut Socket) -> anyhow::Result<Value> {
    loop {
        let frame = socket.expect("message_created", WAIT).await?;
        if frame["data"]["type"] == "system" {
            return Ok(frame["data"].clone());
        }
    }
}

/// `agent_id` is the author on an agent's message (REST in both families, and
/// events), and absent on a system message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_id_is_on_agent_messages_only() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (alice_id, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let mut alices = listen(&cluster, &alice, &alice_id).await?;
    let talk = id(&alice
        .post("/v1.0/talks", json!({"type": "talk", "name": "lobby"}), 201)
        .await?);
    let seed = say(&alice, &talk, "Welcome").await?;
    assert_eq!(seed["agent_id"], alice_id.as_str());
    assert_eq!(seed["owner_id"], alice_id.as_str());
    let frame = frame_about(&mut alices, "message_created", &id(&seed)).await?;
    assert_eq!(frame["data"]["agent_id"], alice_id.as_str());

    bob.post(&format!("/v1.0/talks/{talk}/join"), json!({}), 200)
        .await?;
    let joined = system_message(&mut alices).await?;
    assert_eq!(joined["text"], "Bob joined the conversation.");
    assert!(joined.get("agent_id").is_none(), "{joined}");
    let voipbin = bob
        .post(
            "/v1.0/service_agents/talk_messages",
            json!({"chat_id": talk, "type": "normal", "text": "Hi all"}),
            200,
        )
        .await?;
    assert_eq!(voipbin["agent_id"], bob_id.as_str());

    let page = bob
        .get(&format!(
            "/v1.0/service_agents/talk_messages?chat_id={talk}"
        ))
        .await?;
    let listed = page["result"].as_array().cloned().unwrap_or_default();
    assert_eq!(listed.len(), 3);
    for message in &listed {
        match message["type"].as_str() {
            Some("system") => assert!(message.get("agent_id").is_none(), "{message}"),
            _ => assert_eq!(message["agent_id"], message["owner_id"], "{message}"),
        }
    }
    cluster.stop().await;
    Ok(())
}
