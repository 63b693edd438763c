//! A client that stops reading is shed and closed; others are not slowed.

use talk_types::TalkId;

use crate::support::{Received, World, posted};

#[tokio::test]
async fn a_slow_consumer_is_closed_with_the_resume_code_and_slows_nobody() {
    let world = World::nats().await;
    let mut config = world.config();
    config.ws_queue_len = 8;
    // Only the slow client's reading, or its pong timeout, could free a fast
    // client held back by it: the timeout is put far beyond the fast client's
    // wait for a frame (`support::client::WAIT`).
    config.ws_pong_timeout_secs = 3600;
    let gateway = world.gateway_with(config).await;
    let talk = TalkId::new();
    let slow_agent = world.agent(&[talk]);
    let fast_agent = world.agent(&[talk]);
    let mut slow = gateway.subscribed(&slow_agent).await;
    let mut fast = gateway.subscribed(&fast_agent).await;

    // ~13 MB: far more than the socket buffers and the queue of 8 hold.
    let big = "x".repeat(32 * 1024);
    let c = world.customer;
    // Published in small rounds, each only once the fast client has the
    // previous one, while the slow client reads nothing and its queue
    // overflows. Proof by order, not by time: the fast client gets all 400
    // before the slow one reads a byte, which it could not if it were held
    // back by the slow one.
    for round in 0..100 {
        let events: Vec<_> = (round * 4..round * 4 + 4)
            .map(|i| posted(c, talk, fast_agent.id, &format!("m{i} {big}")))
            .collect();
        world.publish(&events).await;
        for i in round * 4..round * 4 + 4 {
            let frame = fast.frame().await;
            let text = frame["data"]["text"].as_str().unwrap();
            assert!(text.starts_with(&format!("m{i} ")));
        }
    }

    // Only now does the slow client read: a prefix of the stream, then 4008.
    let mut last = 0u64;
    let (code, reason) = loop {
        match slow.receive().await {
            Received::Frame(frame) => {
                let at: u64 = frame["cursor"].as_str().unwrap().parse().unwrap();
                assert!(
                    last == 0 || at == last + 1,
                    "gap before the close: {last} → {at}"
                );
                last = at;
            }
            Received::Closed(code, reason) => break (code, reason),
            Received::Ended => panic!("cut off without the resume close code"),
        }
    };
    assert_eq!(code, push_gateway::close::SLOW_CONSUMER);
    assert!(reason.contains("resume"), "{reason}");
    // The gateway counts it once the closing handshake is over.
    drop(slow);
    let metrics = format!("http://{}/metrics", gateway.ops);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let body = reqwest::get(&metrics).await.unwrap().text().await.unwrap();
        if body.contains("talk_ws_disconnects_total{reason=\"slow_consumer\"}") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no slow_consumer disconnect metric"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn sockets_that_do_not_answer_pings_are_closed() {
    let world = World::nats().await;
    let mut config = world.config();
    config.ws_ping_secs = 1;
    config.ws_pong_timeout_secs = 2;
    let gateway = world.gateway_with(config).await;
    let agent = world.agent(&[]);
    let mut alive = gateway.subscribed(&agent).await;
    let mut dead = gateway.subscribed(&agent).await;
    // From here only timers move the test on: on a paused clock the 4 s
    // below take no real time.
    tokio::time::pause();

    // The live client reads (and so answers pings) for longer than the timeout.
    let quiet = tokio::time::timeout(std::time::Duration::from_secs(4), alive.receive()).await;
    assert!(quiet.is_err(), "the answering client got {quiet:?}");

    // The other read nothing meanwhile: it was closed.
    let (code, _) = dead.closed().await;
    assert_eq!(code, push_gateway::close::PONG_TIMEOUT);
}
