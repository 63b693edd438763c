//! Idempotent posts: a retry never makes a second message.

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::json;
use talk_e2e::client::assert_error;

use super::{group, id, listing, seqs, start, texts};

/// `Idempotency-Key` on post: retries (one after another or at once) return
/// the first message and never make a second; reusing a key for another body
/// is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_post_never_makes_two_messages() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let talk = group(&alice, "retries", &[&bob_id]).await?;
    let seed_path = format!("/v1.0/talks/{talk}/messages");
    let body = json!({"text": "sent over a flaky network"});

    let first = alice
        .send(
            Method::POST,
            &seed_path,
            Some(body.clone()),
            &[("Idempotency-Key", "post-1")],
        )
        .await?
        .expect(201)?;
    let retry = alice
        .send(
            Method::POST,
            &seed_path,
            Some(body.clone()),
            &[("Idempotency-Key", "post-1")],
        )
        .await?
        .expect(201)?;
    assert_eq!(retry, first, "the retry answers the first message");

    let voipbin_body =
        json!({"chat_id": talk, "type": "normal", "text": "sent through VoIPBIN's path"});
    let mut voipbin = Vec::new();
    for _ in 0..2 {
        voipbin.push(
            alice
                .send(
                    Method::POST,
                    "/v1.0/service_agents/talk_messages",
                    Some(voipbin_body.clone()),
                    &[("Idempotency-Key", "post-2")],
                )
                .await?
                .expect(200)?,
        );
    }
    assert_eq!(voipbin[0], voipbin[1]);

    // Five retries racing each other: still one message.
    let racing = join_all((0..5).map(|_| {
        alice.send(
            Method::POST,
            &seed_path,
            Some(json!({"text": "double-clicked"})),
            &[("Idempotency-Key", "post-3")],
        )
    }))
    .await;
    let mut ids = Vec::new();
    for reply in racing {
        ids.push(id(&reply?.expect(201)?));
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every racer got the same message");

    // The same key with another body is refused; another agent's key is its own.
    let reused = alice
        .send(
            Method::POST,
            &seed_path,
            Some(json!({"text": "something else"})),
            &[("Idempotency-Key", "post-1")],
        )
        .await?;
    assert_eq!(reused.status.as_u16(), 422, "{}", reused.body);
    assert_eq!(reused.body["error"]["reason"], "IDEMPOTENCY_KEY_REUSED");
    let bobs = bob
        .send(
            Method::POST,
            &seed_path,
            Some(body.clone()),
            &[("Idempotency-Key", "post-1")],
        )
        .await?
        .expect(201)?;
    assert_ne!(bobs["id"], first["id"]);
    let bad_key = alice
        .send(
            Method::POST,
            &seed_path,
            Some(body.clone()),
            &[("Idempotency-Key", "has spaces in it")],
        )
        .await?;
    assert_error(&bad_key, 400, "INVALID_IDEMPOTENCY_KEY");

    let all = listing(&alice, &talk).await?;
    assert_eq!(
        texts(&all),
        [
            "sent over a flaky network",
            "double-clicked",
            "sent through VoIPBIN's path",
            "sent over a flaky network",
        ]
    );
    assert_eq!(seqs(&all), [4, 3, 2, 1], "no seq was spent on a retry");
    cluster.stop().await;
    Ok(())
}
