//! Resume: no gap, no duplicate, across client drops, gateway restarts and
//! gateways; `resync_required` beyond retention.

use std::sync::Arc;

use serde_json::json;
use talk_events::memory::MemoryBus;
use talk_types::TalkId;

use crate::support::{Client, Received, World, nats_bus, posted};

fn texts(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("m{i}")).collect()
}

/// Reads message frames until `until`, checking cursors strictly increase.
async fn read_until(client: &mut Client, until: &str, cursor: &mut u64) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let frame = client.frame().await;
        let at: u64 = frame["cursor"].as_str().unwrap().parse().unwrap();
        assert!(at > *cursor, "cursor {at} after {cursor}");
        *cursor = at;
        let text = frame["data"]["text"].as_str().unwrap().to_owned();
        let done = text == until;
        seen.push(text);
        if done {
            return seen;
        }
    }
}

#[tokio::test]
async fn resume_after_a_dropped_socket_loses_and_repeats_nothing() {
    let world = World::nats().await;
    let gateway = world.gateway().await;
    let talk = TalkId::new();
    let agent = world.agent(&[talk]);
    let c = world.customer;
    let batch = |r: std::ops::Range<usize>| {
        r.map(|i| posted(c, talk, agent.id, &format!("m{i}")))
            .collect::<Vec<_>>()
    };

    let mut client = gateway.subscribed(&agent).await;
    world.publish(&batch(0..500)).await;
    let mut cursor = 0;
    let mut received = read_until(&mut client, "m299", &mut cursor).await;
    drop(client);
    world.publish(&batch(500..700)).await;

    // Resume first, subscribe second: delivery waits for the subscription.
    let mut client = Client::connect(&gateway.url(&format!("?token={}", agent.token))).await;
    let before = client
        .request(json!({"type": "resume", "cursor": cursor.to_string()}))
        .await;
    assert!(before.is_empty());
    client
        .subscribe(&[format!("agent_id:{}:chat", agent.id)])
        .await;
    // Live events keep coming while the replay runs.
    let live = {
        let bus = world.bus.clone();
        let prefix = world.prefix.clone();
        let events = batch(700..750);
        tokio::spawn(async move {
            for e in events {
                let subject = talk_events::kinds::subject(&prefix, &e);
                let payload = talk_events::kinds::encode(&e).into();
                bus.publish(&subject, &e.id, "", payload).await.unwrap();
            }
        })
    };
    received.extend(read_until(&mut client, "m749", &mut cursor).await);
    live.await.unwrap();
    assert_eq!(received, texts(0..750));

    // Nothing more is pending: the next frame is the next event.
    world.publish(&batch(750..751)).await;
    assert_eq!(client.texts_until("m750").await, ["m750"]);
}

#[tokio::test]
async fn resume_across_gateway_shutdown_restart_and_another_gateway() {
    let world = World::nats().await;
    let first = world.gateway().await;
    let other = world.gateway().await;
    let talk = TalkId::new();
    let agent = world.agent(&[talk]);
    let c = world.customer;
    let batch = |r: std::ops::Range<usize>| {
        r.map(|i| posted(c, talk, agent.id, &format!("m{i}")))
            .collect::<Vec<_>>()
    };

    let mut client = first.subscribed(&agent).await;
    world.publish(&batch(0..200)).await;
    let mut cursor = 0;
    let mut received = read_until(&mut client, "m99", &mut cursor).await;
    first.shutdown.cancel();
    // Frames already in flight may still arrive, then "going away".
    let code = loop {
        match client.receive().await {
            Received::Frame(frame) => {
                cursor = frame["cursor"].as_str().unwrap().parse().unwrap();
                received.push(frame["data"]["text"].as_str().unwrap().to_owned());
            }
            Received::Closed(code, _) => break code,
            Received::Ended => panic!("closed without a close frame"),
        }
    };
    assert_eq!(code, push_gateway::close::GOING_AWAY);
    first.handle.await.unwrap().unwrap();
    world.publish(&batch(200..300)).await;

    // A gateway started after all of that (its consumer begins past the cursor).
    let restarted = world.gateway().await;
    let url = restarted.url(&format!("?token={}&cursor={cursor}", agent.token));
    let mut client = Client::connect(&url).await;
    client
        .subscribe(&[format!("agent_id:{}:chat", agent.id)])
        .await;
    received.extend(read_until(&mut client, "m299", &mut cursor).await);
    drop(client);
    world.publish(&batch(300..350)).await;

    // The gateway that ran all along.
    let mut client = other.subscribed(&agent).await;
    let before = client
        .request(json!({"type": "resume", "cursor": cursor}))
        .await;
    assert!(before.is_empty());
    received.extend(read_until(&mut client, "m349", &mut cursor).await);
    assert_eq!(received, texts(0..350));
}

#[tokio::test]
async fn a_cursor_older_than_retention_gets_resync_required_on_nats() {
    let (bus, prefix, stream) = nats_bus().await;
    let client = bus.client().clone();
    let world = World::on(bus, prefix).await;
    let gateway = world.gateway().await;
    let talk = TalkId::new();
    let agent = world.agent(&[talk]);
    let c = world.customer;
    let events: Vec<_> = (0..10)
        .map(|i| posted(c, talk, agent.id, &format!("m{i}")))
        .collect();
    world.publish(&events).await;
    async_nats::jetstream::new(client)
        .get_stream(&stream)
        .await
        .unwrap()
        .purge()
        .await
        .unwrap();
    world.publish(&[posted(c, talk, agent.id, "m10")]).await;

    let mut ws = gateway.subscribed(&agent).await;
    let before = ws.request(json!({"type": "resume", "cursor": "2"})).await;
    let frame = match before.first() {
        Some(frame) => frame.clone(),
        None => ws.frame().await,
    };
    assert_eq!(frame["type"], "resync_required");
    assert_eq!(frame["data"]["cursor"], "2");
    assert_eq!(frame["data"]["first_available"], "11");
    // Live delivery goes on after the resync notice.
    world.publish(&[posted(c, talk, agent.id, "live")]).await;
    assert_eq!(ws.texts_until("live").await, ["live"]);
}

#[tokio::test]
async fn the_memory_bus_resumes_within_its_history_and_resyncs_beyond_it() {
    let bus = Arc::new(MemoryBus::new(20));
    let world = World::on(bus, "mem".into()).await;
    let gateway = world.gateway().await;
    let talk = TalkId::new();
    let agent = world.agent(&[talk]);
    let c = world.customer;
    // Paced so the gateway's own consumer never falls out of the small history.
    let mut live = gateway.subscribed(&agent).await;
    for chunk in 0..10 {
        let events: Vec<_> = (chunk * 5..chunk * 5 + 5)
            .map(|i| posted(c, talk, agent.id, &format!("m{i}")))
            .collect();
        world.publish(&events).await;
        let last = format!("m{}", chunk * 5 + 4);
        assert_eq!(live.texts_until(&last).await.len(), 5);
    }

    let mut ws = Client::connect(&gateway.url(&format!("?token={}&cursor=40", agent.token))).await;
    ws.subscribe(&[format!("agent_id:{}:chat", agent.id)]).await;
    let mut cursor = 40;
    assert_eq!(read_until(&mut ws, "m49", &mut cursor).await, texts(40..50));

    let mut old = Client::connect(&gateway.url(&format!("?token={}&cursor=5", agent.token))).await;
    old.subscribe(&[format!("agent_id:{}:chat", agent.id)])
        .await;
    let frame = old.frame().await;
    assert_eq!(frame["type"], "resync_required");
    assert_eq!(frame["data"]["first_available"], "31");
}

/// A client that reconnects subscribes first (VoIPBIN's protocol) and sends
/// its `resume` right after: events published in between are not delivered
/// ahead of the older ones it missed, nor twice. Once live events reached a
/// connection, a resume on it is refused: it could only repeat them or put
/// older events after them.
#[tokio::test]
async fn a_resume_right_after_the_subscribe_keeps_order_and_a_late_one_is_refused() {
    let world = World::nats().await;
    let gateway = world.gateway().await;
    let talk = TalkId::new();
    let agent = world.agent(&[talk]);
    let c = world.customer;
    let cursor = world.publish(&[posted(c, talk, agent.id, "seen")]).await;
    world.publish(&[posted(c, talk, agent.id, "missed")]).await;

    let mut client = gateway.subscribed(&agent).await;
    // Published after the subscribe, before the resume.
    world.publish(&[posted(c, talk, agent.id, "new")]).await;
    let mut at = cursor;
    let before = client
        .request(json!({"type": "resume", "cursor": cursor.to_string()}))
        .await;
    let mut received: Vec<String> = before
        .iter()
        .map(|f| f["data"]["text"].as_str().unwrap_or_default().to_owned())
        .collect();
    if received.last().map(String::as_str) != Some("new") {
        received.extend(read_until(&mut client, "new", &mut at).await);
    }
    assert_eq!(received, ["missed", "new"]);

    client
        .send(json!({"type": "resume", "cursor": cursor.to_string(), "id": "late"}))
        .await;
    let refused = client.frame().await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["id"], "late");
    assert_eq!(refused["data"]["reason"], "RESUME_TOO_LATE");
    world.publish(&[posted(c, talk, agent.id, "live")]).await;
    assert_eq!(client.texts_until("live").await, ["live"]);
}
