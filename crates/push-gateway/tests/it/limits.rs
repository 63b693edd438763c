//! What one client may cost: its answers take the room of events, so one
//! that sends without reading is closed like a slow consumer. (The caps on
//! frames, ids, topics, rate and sockets are shown end to end in the
//! workspace's `tests/it/push/limits.rs`.)

use std::time::Duration;

use serde_json::json;
use talk_types::TalkId;

use crate::support::{Client, Received, World};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_sends_acked_frames_without_reading_is_closed_with_4008() {
    let world = World::nats().await;
    let mut config = world.config();
    config.ws_queue_len = 8;
    // The flood, not the rate limit, is what this test is about.
    config.ws_frames_per_sec = 0;
    let gateway = world.gateway_with(config).await;
    let agent = world.agent(&[TalkId::new()]);
    let url = gateway.url(&format!("?token={}", agent.token));
    let mut client = Client::connect_small(&url, 4096).await;

    // Acked subscribes with ids of the longest echoed size (128 bytes of JSON).
    let topics = [format!("agent_id:{}:chat", agent.id)];
    let frame = json!({"type": "subscribe", "topics": topics, "id": "i".repeat(126)});
    // It stops when the gateway stops reading it (its answers filled the
    // socket buffers, then the queue), or after 50,000 frames: the gateway
    // may have closed it sooner, when its writer fell behind (it shares the
    // test's runtime with this client), and drops the connection 5 s after
    // the close; the client must read it before.
    let sent = client.flood(&frame, 50_000, Duration::from_secs(1)).await;

    let mut acks = 0;
    let (code, reason) = loop {
        match client.receive().await {
            Received::Frame(frame) => {
                assert_eq!(frame["type"], "ack", "{frame}");
                acks += 1;
            }
            Received::Closed(code, reason) => break (code, reason),
            Received::Ended => panic!("cut off without the resume close code"),
        }
    };
    assert_eq!(code, push_gateway::close::SLOW_CONSUMER, "{reason}");
    assert!(acks < sent, "{acks} acks for {sent} frames");
    eprintln!("flood: {sent} frames sent, {acks} acked, then {code} ({reason})");
}
