//! The loss tests: a 500-message stream interrupted mid-way, 200 more posted meanwhile, and a resume that ends with exactly the 700, in order, once.

use anyhow::{Context, bail};
use serde_json::json;
use talk_e2e::cluster::{ADMIN_PASSWORD, Gateway};
use talk_e2e::ws::Incoming;
use talk_e2e::{Api, Cluster, Socket};

use super::{
    SERVICES, WAIT, assert_all_once_in_order, next, open_talk, post_many, take_message, token,
};

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

    let mut posted: Vec<String> = poster.await??;
    let more = post_many(
        alice.clone(),
        talk_id.clone(),
        FIRST..FIRST + MORE,
        8,
        |i| format!("m{i}"),
    )
    .await?;
    posted.extend(more);
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
