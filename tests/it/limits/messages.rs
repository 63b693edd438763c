//! Replies per thread, previous texts kept, distinct emoji, text and medias
//! (message-service).

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use talk_e2e::Api;

use super::{TALKS, id, results, start};

/// A group of `creator` with `members`, everyone in it from the start.
async fn group(creator: &Api, members: &[&str]) -> anyhow::Result<String> {
    let talk = creator
        .post(
            TALKS,
            json!({"type": "group", "participant_ids": members}),
            201,
        )
        .await?;
    Ok(id(&talk))
}

async fn post(api: &Api, talk: &str, body: Value) -> anyhow::Result<talk_e2e::client::Reply> {
    api.call(
        Method::POST,
        &format!("{TALKS}/{talk}/messages"),
        Some(body),
    )
    .await
}

/// The seqs of a talk's messages, oldest first.
async fn seqs(api: &Api, talk: &str) -> anyhow::Result<Vec<u64>> {
    let page = api
        .get(&format!("{TALKS}/{talk}/messages?page_size=100"))
        .await?;
    let mut seqs: Vec<u64> = results(&page)
        .iter()
        .filter_map(|m| m["seq"].as_u64())
        .collect();
    seqs.reverse();
    Ok(seqs)
}

async fn thread(api: &Api, message: &str) -> anyhow::Result<Vec<Value>> {
    Ok(results(
        &api.get(&format!("/v1.0/messages/{message}/thread")).await?,
    ))
}

/// At most `max_thread_replies` replies in a thread, at any depth (3 here):
/// the third is accepted, a fourth is 400 `TOO_MANY_REPLIES` in both
/// families and writes nothing (no seq taken, no reply counted); another
/// thread is not affected, and concurrent replies stop exactly at the cap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_per_thread() -> anyhow::Result<()> {
    let (cluster, admin) = start(|config| config.max_thread_replies = 3).await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let talk = group(&alice, &[&bob_id]).await?;
    let say = |api: &Api, body: Value| {
        let (api, talk) = (api.clone(), talk.clone());
        async move { post(&api, &talk, body).await?.expect(201) }
    };
    let root = id(&say(&alice, json!({"text": "root"})).await?);
    let first = id(&say(&bob, json!({"text": "1", "parent_id": root})).await?);
    let deeper = id(&say(&alice, json!({"text": "1.1", "parent_id": first})).await?);
    say(&bob, json!({"text": "2", "parent_id": root})).await?;

    post(
        &alice,
        &talk,
        json!({"text": "one too many", "parent_id": deeper}),
    )
    .await?
    .assert_error(400, "TOO_MANY_REPLIES");
    alice
        .call(
            Method::POST,
            "/v1.0/service_agents/talk_messages",
            Some(json!({"chat_id": talk, "type": "normal", "text": "again", "parent_id": root})),
        )
        .await?
        .assert_error(400, "TOO_MANY_REPLIES");
    let read = thread(&bob, &root).await?;
    assert_eq!(read.len(), 4, "the root and its three replies");
    assert_eq!(read[0]["reply_count"], 2);
    assert_eq!(seqs(&bob, &talk).await?, [1, 2, 3, 4], "no seq taken");

    // Another thread: five replies at once, three find room.
    let other = id(&say(&alice, json!({"text": "another root"})).await?);
    let replies = join_all((0..5).map(|i| {
        post(
            &bob,
            &talk,
            json!({"text": format!("r{i}"), "parent_id": other}),
        )
    }))
    .await
    .into_iter()
    .collect::<Result<Vec<_>, _>>()?;
    let accepted = replies.iter().filter(|r| r.status.as_u16() == 201).count();
    assert_eq!(accepted, 3);
    for refused in replies.iter().filter(|r| r.status.as_u16() != 201) {
        refused.assert_error(400, "TOO_MANY_REPLIES");
    }
    assert_eq!(thread(&bob, &other).await?.len(), 4);
    assert_eq!(seqs(&bob, &talk).await?, (1..=8).collect::<Vec<_>>());
    // Top-level messages are not replies: never capped.
    say(&bob, json!({"text": "top level"})).await?;
    cluster.stop().await;
    Ok(())
}

/// The newest 50 previous texts are kept: the 50th edit keeps all of them,
/// the 51st is accepted too and drops the oldest (a message edited over and
/// over stays editable, its history stays small).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_history_keeps_the_newest_fifty() -> anyhow::Result<()> {
    let (cluster, admin) = start(|_| {}).await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let talk = group(&alice, &[]).await?;
    let message = id(&post(&alice, &talk, json!({"text": "v0"}))
        .await?
        .expect(201)?);
    let path = format!("/v1.0/messages/{message}");
    let history = |alice: Api| {
        let path = format!("{path}/history");
        async move {
            let page = alice.get(&path).await?;
            anyhow::Ok(
                results(&page)
                    .iter()
                    .map(|e| e["text"].as_str().unwrap_or_default().to_owned())
                    .collect::<Vec<_>>(),
            )
        }
    };
    for n in 1..=50 {
        let body = json!({"text": format!("v{n}")});
        alice
            .call(Method::PUT, &path, Some(body))
            .await?
            .expect(200)?;
    }
    let texts =
        |range: std::ops::RangeInclusive<i32>| range.map(|n| format!("v{n}")).collect::<Vec<_>>();
    assert_eq!(history(alice.clone()).await?, texts(0..=49));
    let edited = alice
        .call(Method::PUT, &path, Some(json!({"text": "v51"})))
        .await?
        .expect(200)?;
    assert_eq!(edited["text"], "v51");
    assert_eq!(
        history(alice.clone()).await?,
        texts(1..=50),
        "the oldest text was dropped"
    );
    cluster.stop().await;
    Ok(())
}

/// At most 50 distinct emoji on a message: the 50th is accepted, a 51st is
/// 400 `TOO_MANY_REACTIONS` and adds nothing; an emoji already there can
/// still be added by another agent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distinct_reactions_per_message() -> anyhow::Result<()> {
    let (cluster, admin) = start(|_| {}).await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let talk = group(&alice, &[&bob_id]).await?;
    let message = id(&post(&alice, &talk, json!({"text": "feelings"}))
        .await?
        .expect(201)?);
    let path = format!("/v1.0/messages/{message}/reactions");
    let faces: Vec<String> = (0x1F600u32..0x1F633)
        .filter_map(char::from_u32)
        .map(String::from)
        .collect();
    for face in &faces[..50] {
        alice.post(&path, json!({"emoji": face}), 200).await?;
    }
    alice
        .call(Method::POST, &path, Some(json!({"emoji": faces[50]})))
        .await?
        .assert_error(400, "TOO_MANY_REACTIONS");
    let read = alice.get(&format!("/v1.0/messages/{message}")).await?;
    let reactions = read["metadata"]["reactions"].as_array().map_or(0, Vec::len);
    assert_eq!(reactions, 50, "nothing added");
    let read = bob.post(&path, json!({"emoji": faces[0]}), 200).await?;
    assert_eq!(
        read["metadata"]["reactions"].as_array().map(Vec::len),
        Some(51)
    );
    cluster.stop().await;
    Ok(())
}

/// A text of 20,000 characters and 10 medias are accepted; one character
/// or one media more is 400 `TEXT_TOO_LONG` / `TOO_MANY_MEDIAS` (also for an
/// edit), and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_and_medias_per_message() -> anyhow::Result<()> {
    let (cluster, admin) = start(|_| {}).await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let talk = group(&alice, &[]).await?;
    let longest = "é".repeat(20_000);
    let message = post(&alice, &talk, json!({"text": longest}))
        .await?
        .expect(201)?;
    post(&alice, &talk, json!({"text": "é".repeat(20_001)}))
        .await?
        .assert_error(400, "TEXT_TOO_LONG");
    let path = format!("/v1.0/messages/{}", id(&message));
    alice
        .call(
            Method::PUT,
            &path,
            Some(json!({"text": "é".repeat(20_001)})),
        )
        .await?
        .assert_error(400, "TEXT_TOO_LONG");
    assert_eq!(alice.get(&path).await?["text"], longest.as_str());

    let medias = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| json!({"type": "image/png", "url": format!("https://x.example/{i}.png")}))
            .collect()
    };
    let most = post(&alice, &talk, json!({"text": "", "medias": medias(10)}))
        .await?
        .expect(201)?;
    assert_eq!(most["medias"].as_array().map(Vec::len), Some(10));
    post(&alice, &talk, json!({"text": "", "medias": medias(11)}))
        .await?
        .assert_error(400, "TOO_MANY_MEDIAS");
    assert_eq!(seqs(&alice, &talk).await?, [1, 2], "only the accepted two");
    cluster.stop().await;
    Ok(())
}
