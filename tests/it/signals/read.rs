//! Read state across devices: a read on one device reaches the agent's
//! other devices as `read_updated` (on any gateway, and again on resume:
//! it is durable), the talk's other participants as `message_read`, and
//! receipts list exactly the agents who have read a message.

use std::time::Duration;

use serde_json::{Value, json};
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::{Api, Cluster, Socket};

use super::{SERVICES, WAIT, expect, id_of, listen, token};

fn seq_of(message: &Value) -> u64 {
    message["seq"].as_u64().unwrap_or_default()
}

/// The frames other than signals `socket` receives within `wait`.
async fn events_within(socket: &mut Socket, wait: Duration) -> anyhow::Result<Vec<Value>> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut got = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match socket.next_within(left).await? {
            Some(frame) if super::is_signal(&frame) => {}
            Some(frame) => got.push(frame),
            None => return Ok(got),
        }
    }
}

async fn unread(api: &Api, talk: &str) -> anyhow::Result<u64> {
    let talk = api.get(&format!("/v1.0/talks/{talk}")).await?;
    Ok(talk["unread_count"].as_u64().unwrap_or(u64::MAX))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_on_one_device_clears_the_badge_on_the_others() -> anyhow::Result<()> {
    let cluster = Cluster::start(SERVICES).await?;
    let (one, two) = (cluster.gateway().await?, cluster.gateway().await?);
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let (alice_id, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (dave_id, dave) = admin.create_agent("dave", "Dave").await?;
    let (carol_id, carol) = admin.create_agent("carol", "Carol").await?;
    let talk = id_of(
        &bob.post(
            "/v1.0/talks",
            json!({"type": "group", "name": "t", "participant_ids": [alice_id, dave_id]}),
            201,
        )
        .await?,
    );
    let mut phone = listen(&one.url, &alice, &alice_id).await?;
    let mut laptop = listen(&two.url, &alice, &alice_id).await?;
    let mut bob_ws = listen(&one.url, &bob, &bob_id).await?;
    let mut carol_ws = listen(&two.url, &carol, &carol_id).await?;

    let path = format!("/v1.0/talks/{talk}/messages");
    let mut posted = Vec::new();
    for text in ["one", "two", "three"] {
        posted.push(bob.post(&path, json!({"text": text}), 201).await?);
    }
    let mut before_read = String::new();
    for socket in [&mut phone, &mut laptop] {
        for _ in 0..3 {
            let frame = expect(socket, "message_created").await?;
            before_read = frame["cursor"].as_str().unwrap_or_default().to_owned();
        }
    }
    assert_eq!(unread(&alice, &talk).await?, 3);

    // Alice reads up to "two" on her phone (over REST, VoIPBIN's path).
    let two_seq = seq_of(&posted[1]);
    let state = alice
        .post(
            &format!("/v1.0/service_agents/talk_chats/{talk}/read"),
            json!({"seq": two_seq}),
            200,
        )
        .await?;
    assert_eq!(state["unread_count"], 1, "{state}");
    for socket in [&mut laptop, &mut phone] {
        let frame = expect(socket, "read_updated").await?;
        assert_eq!(frame["data"]["chat_id"], talk.as_str(), "{frame}");
        assert_eq!(frame["data"]["agent_id"], alice_id.as_str(), "{frame}");
        assert_eq!(frame["data"]["seq"], two_seq, "{frame}");
        assert_eq!(frame["data"]["unread_count"], 1, "{frame}");
        assert!(frame["cursor"].is_string(), "durable: {frame}");
    }
    let seen = expect(&mut bob_ws, "message_read").await?;
    assert_eq!(seen["data"]["agent_id"], alice_id.as_str(), "{seen}");
    assert_eq!(seen["data"]["seq"], two_seq, "{seen}");
    // Reading what was read already announces nothing.
    alice
        .post(&format!("/v1.0/talks/{talk}/read"), json!({"seq": 1}), 200)
        .await?;
    let again = events_within(&mut laptop, Duration::from_millis(500)).await?;
    assert!(again.is_empty(), "nothing moved: {again:?}");
    let heard = events_within(&mut carol_ws, Duration::from_millis(300)).await?;
    assert!(heard.is_empty(), "carol is not in the talk: {heard:?}");

    // A third device resuming from before the read hears it too.
    let mut tablet =
        Socket::connect(&one.url, token(&alice), &format!("cursor={before_read}")).await?;
    tablet
        .send(json!({"type": "subscribe", "topics": [format!("agent_id:{alice_id}:chat")]}))
        .await?;
    let replayed = tablet.expect("read_updated", WAIT).await?;
    assert_eq!(replayed["data"]["seq"], two_seq, "{replayed}");

    // Receipts: exactly the readers, the author aside.
    let receipts_of = |message: &Value| format!("/v1.0/messages/{}/receipts", id_of(message));
    let got = alice.get(&receipts_of(&posted[1])).await?;
    assert_eq!(got["seq"], two_seq);
    assert_eq!(
        got["result"],
        json!([{"agent_id": alice_id, "last_read_seq": two_seq}])
    );
    dave.post(
        &format!("/v1.0/talks/{talk}/read"),
        json!({"seq": seq_of(&posted[0])}),
        200,
    )
    .await?;
    let readers = |got: &Value| -> Vec<String> {
        got["result"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| r["agent_id"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let mut both = vec![alice_id.clone(), dave_id.clone()];
    both.sort();
    assert_eq!(readers(&bob.get(&receipts_of(&posted[0])).await?), both);
    assert_eq!(
        readers(&bob.get(&receipts_of(&posted[1])).await?),
        vec![alice_id.clone()]
    );
    assert!(readers(&bob.get(&receipts_of(&posted[2])).await?).is_empty());
    let path = format!(
        "/v1.0/service_agents/talk_messages/{}/receipts",
        id_of(&posted[0])
    );
    assert_eq!(readers(&dave.get(&path).await?), both);

    // Bad input: past the talk's end; someone outside the talk.
    alice
        .raw(
            reqwest::Method::POST,
            &format!("/v1.0/talks/{talk}/read"),
            r#"{"seq": 99}"#,
        )
        .await?
        .assert_error(400, "INVALID_SEQ");
    let outside = carol
        .raw(reqwest::Method::GET, &receipts_of(&posted[0]), "")
        .await?;
    assert_eq!(outside.status.as_u16(), 403, "{}", outside.body);
    cluster.stop().await;
    Ok(())
}
