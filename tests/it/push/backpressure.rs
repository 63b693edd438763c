//! A client that never reads holds back no other and is disconnected with the resume code 4008.

use anyhow::{Context, bail};
use serde_json::{Value, json};
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::ws::Incoming;
use talk_e2e::{Api, Cluster, Socket};

use super::{
    SERVICES, WAIT, assert_all_once_in_order, id_of, next, open_talk, post_many, take_message,
    token,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_holds_back_no_one_and_is_told_to_resume() -> anyhow::Result<()> {
    const QUEUE: usize = 16;
    const MESSAGES: usize = 160;
    let cluster = Cluster::start_with(SERVICES, |config| {
        config.ws_queue_len = QUEUE;
        // Only Carol's reading, or her pong timeout, could free a Bob held back
        // by her socket: the timeout is put far beyond Bob's WAIT for a frame.
        config.ws_pong_timeout_secs = 3600;
    })
    .await?;
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

    // Proof by order, not by time: Bob gets every message before Carol reads
    // a byte. Held back by her socket he could not: nothing would free him
    // (she reads nothing, her pong timeout is an hour away) and `next` would
    // give up on his next frame.
    let reader = tokio::spawn(async move {
        let mut arrived = Vec::new();
        while arrived.len() < MESSAGES {
            arrived.push(next(&mut fast).await?);
        }
        anyhow::Ok(arrived)
    });
    // About 80 kB a frame (20,000 four-byte characters), so ~13 MB in all.
    let ids = post_many(alice.clone(), talk_id.clone(), 0..MESSAGES, 4, |i| {
        format!("{i:05} {}", "🙂".repeat(19_990))
    })
    .await?;
    let frames: Vec<Value> = reader.await??;
    for frame in &frames {
        assert_eq!(frame["type"], "message_created");
    }
    assert_all_once_in_order(&frames, &ids);

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
