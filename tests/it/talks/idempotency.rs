//! Idempotent retries: the first answer replayed, or 422 for another body.

use std::collections::BTreeSet;

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use talk_e2e::client::assert_error;

use super::{
    CHATS, TALKS, id_of, members, my_talks, participant_agents, put, start, walk, with_key,
};

/// A reused key on VoIPBIN's paths: 422, with `status` in VoIPBIN's enum
/// (it has no UNPROCESSABLE_ENTITY; docs/API.md, "Error statuses").
#[track_caller]
fn assert_voipbin_422(reply: &talk_e2e::client::Reply) {
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert_eq!(reply.body["error"]["status"], "FAILED_PRECONDITION");
    assert_eq!(reply.body["error"]["reason"], "IDEMPOTENCY_KEY_REUSED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_retries_replay_the_first_answer_or_422() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (carol_id, carol) = admin.create_agent("carol", "Carol").await?;

    // Create: same key and body → the same answer and one talk.
    let body = json!({"type": "group", "name": "retry", "participants": [{"owner_type": "agent", "owner_id": bob_id}]});
    let first = with_key(&alice, Method::POST, CHATS, Some(body.clone()), "create-1").await?;
    assert_eq!(first.status, 200, "{}", first.body);
    let second = with_key(&alice, Method::POST, CHATS, Some(body.clone()), "create-1").await?;
    assert_eq!(second.status, 200);
    assert_eq!(second.body, first.body, "the first response, replayed");
    let t = id_of(&first.body);
    assert_eq!(my_talks(&alice).await?, vec![t.clone()]);
    // Same key, another body → 422, nothing created.
    let other = json!({"type": "group", "name": "something else"});
    let reused = with_key(&alice, Method::POST, CHATS, Some(other.clone()), "create-1").await?;
    assert_voipbin_422(&reused);
    assert_eq!(my_talks(&alice).await?, vec![t.clone()]);
    // Keys belong to their agent: bob's "create-1" is his own.
    let bobs = with_key(&bob, Method::POST, CHATS, Some(other.clone()), "create-1").await?;
    assert_eq!(bobs.status, 200, "{}", bobs.body);
    assert_ne!(id_of(&bobs.body), t);

    // Seed create: the replay keeps the 201.
    let seed_body = json!({"type": "talk", "name": "seed retry"});
    let a = with_key(
        &alice,
        Method::POST,
        TALKS,
        Some(seed_body.clone()),
        "create-2",
    )
    .await?;
    let b = with_key(
        &alice,
        Method::POST,
        TALKS,
        Some(seed_body.clone()),
        "create-2",
    )
    .await?;
    assert_eq!((a.status.as_u16(), b.status.as_u16()), (201, 201));
    assert_eq!(a.body, b.body);
    let channel = id_of(&a.body);

    // Concurrent retries with one key: one talk, one answer.
    let racing = join_all((0..6).map(|_| {
        let alice = alice.clone();
        async move {
            with_key(
                &alice,
                Method::POST,
                TALKS,
                Some(json!({"type": "group", "name": "race"})),
                "create-3",
            )
            .await
        }
    }))
    .await
    .into_iter()
    .collect::<anyhow::Result<Vec<_>>>()?;
    let answers: BTreeSet<String> = racing.iter().map(|r| r.body.to_string()).collect();
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert!(racing.iter().all(|r| r.status == 201));
    let names: Vec<String> = walk(&alice, TALKS, 100)
        .await?
        .iter()
        .map(|t| t["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(names.iter().filter(|n| *n == "race").count(), 1);

    // Update: the replay answers the first result and does not apply it again.
    let path = format!("{CHATS}/{t}");
    let renamed = with_key(
        &alice,
        Method::PUT,
        &path,
        Some(json!({"name": "n1"})),
        "put-1",
    )
    .await?;
    assert_eq!(renamed.body["name"], "n1");
    put(&alice, &path, json!({"name": "n2"})).await?;
    let replay = with_key(
        &alice,
        Method::PUT,
        &path,
        Some(json!({"name": "n1"})),
        "put-1",
    )
    .await?;
    assert_eq!(replay.status, 200);
    assert_eq!(replay.body, renamed.body);
    assert_eq!(
        alice.get(&path).await?["name"],
        "n2",
        "the replay changed nothing"
    );
    let changed = with_key(
        &alice,
        Method::PUT,
        &path,
        Some(json!({"name": "n3"})),
        "put-1",
    )
    .await?;
    assert_voipbin_422(&changed);
    assert_eq!(alice.get(&path).await?["name"], "n2");

    // Add, remove, re-add: a replayed add does not add again.
    let add_path = format!("{TALKS}/{t}/participants");
    let added = with_key(
        &alice,
        Method::POST,
        &add_path,
        Some(json!({"agent_id": carol_id})),
        "add-1",
    )
    .await?;
    assert_eq!(added.status, 201, "{}", added.body);
    let record = id_of(&added.body);
    assert_eq!(members(&alice.get(&path).await?), 3);
    let remove_path = format!("{CHATS}/{t}/participants/{record}");
    let removed = with_key(&alice, Method::DELETE, &remove_path, None, "remove-1").await?;
    let removed_again = with_key(&alice, Method::DELETE, &remove_path, None, "remove-1").await?;
    assert_eq!(
        (removed.status.as_u16(), removed_again.status.as_u16()),
        (200, 200)
    );
    assert_eq!(removed_again.body, Value::Null);
    assert_eq!(members(&alice.get(&path).await?), 2);
    let replayed_add = with_key(
        &alice,
        Method::POST,
        &add_path,
        Some(json!({"agent_id": carol_id})),
        "add-1",
    )
    .await?;
    assert_eq!(replayed_add.status, 201);
    assert_eq!(replayed_add.body, added.body);
    assert_eq!(
        members(&alice.get(&path).await?),
        2,
        "carol was not added again"
    );
    assert!(!participant_agents(&alice, &t).await?.contains(&carol_id));

    // Join and leave: the retry of a leave is not a 404.
    let join_path = format!("{CHATS}/{channel}/join");
    let joined = with_key(&carol, Method::POST, &join_path, None, "join-1").await?;
    let joined_again = with_key(&carol, Method::POST, &join_path, None, "join-1").await?;
    assert_eq!(joined.status, 200, "{}", joined.body);
    assert_eq!(joined_again.body, joined.body);
    let leave_path = format!("{TALKS}/{channel}/leave");
    let left = with_key(&carol, Method::POST, &leave_path, None, "leave-1").await?;
    let left_again = with_key(&carol, Method::POST, &leave_path, None, "leave-1").await?;
    assert_eq!(
        (left.status.as_u16(), left_again.status.as_u16()),
        (200, 200),
        "{}",
        left_again.body
    );
    assert_eq!(left_again.body, left.body);
    assert_eq!(members(&alice.get(&format!("{TALKS}/{channel}")).await?), 1);

    // Close and reopen: the retry is not a 409.
    for (action, key) in [("close", "close-1"), ("reopen", "reopen-1")] {
        let p = format!("{TALKS}/{t}/{action}");
        let once = with_key(&alice, Method::POST, &p, None, key).await?;
        let twice = with_key(&alice, Method::POST, &p, None, key).await?;
        assert_eq!(
            (once.status.as_u16(), twice.status.as_u16()),
            (200, 200),
            "{}",
            twice.body
        );
        assert_eq!(once.body, twice.body);
    }
    assert_eq!(alice.get(&path).await?["state"], "active");

    // Delete: the retry answers the same snapshot instead of 404.
    let gone = with_key(&alice, Method::DELETE, &path, None, "delete-1").await?;
    let gone_again = with_key(&alice, Method::DELETE, &path, None, "delete-1").await?;
    assert_eq!(
        (gone.status.as_u16(), gone_again.status.as_u16()),
        (200, 200),
        "{}",
        gone_again.body
    );
    assert_eq!(gone.body, gone_again.body);
    assert!(!my_talks(&alice).await?.contains(&t));

    // A key that is not 1–255 visible ASCII characters is refused, and nothing happens.
    let long = "k".repeat(256);
    let before = my_talks(&alice).await?;
    let refused = with_key(
        &alice,
        Method::POST,
        TALKS,
        Some(json!({"name": "x"})),
        &long,
    )
    .await?;
    assert_error(&refused, 400, "INVALID_IDEMPOTENCY_KEY");
    assert_eq!(my_talks(&alice).await?, before);
    cluster.stop().await;
    Ok(())
}
