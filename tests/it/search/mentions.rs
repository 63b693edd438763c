//! Mentions: parsed on post and edit into the message's `mentions`, counted
//! beside `unread_count` in talk listings and reset by reading, listed at
//! `GET /v1.0/me/mentions` — the same test on both stores.

use serde_json::{Value, json};
use talk_e2e::{Api, Topology};

use super::{id, start, talk};

/// `(agent_id, kind, start, end)` of a message's mentions.
fn mentions(message: &Value) -> Vec<(String, String, u64, u64)> {
    message["mentions"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|m| {
                    (
                        m["agent_id"].as_str().unwrap_or_default().to_owned(),
                        m["kind"].as_str().unwrap_or_default().to_owned(),
                        m["start"].as_u64().unwrap_or(u64::MAX),
                        m["end"].as_u64().unwrap_or(u64::MAX),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn m(agent: &str, kind: &str, start: u64, end: u64) -> (String, String, u64, u64) {
    (agent.to_owned(), kind.to_owned(), start, end)
}

/// The caller's `mention_count` of `talk` in both families' listings (which agree).
async fn mention_count(api: &Api, talk: &str) -> anyhow::Result<u64> {
    let mut seen = Vec::new();
    for path in ["/v1.0/talks", "/v1.0/service_agents/talk_chats"] {
        let page = api.get(path).await?;
        let found = page["result"]
            .as_array()
            .and_then(|all| all.iter().find(|t| t["id"] == talk))
            .and_then(|t| t["mention_count"].as_u64());
        seen.push(found.unwrap_or(u64::MAX));
    }
    assert_eq!(seen[0], seen[1], "both listings agree on mention_count");
    Ok(seen[0])
}

async fn my_mentions(api: &Api) -> anyhow::Result<Vec<String>> {
    let page = api.get("/v1.0/me/mentions").await?;
    Ok(page["result"]
        .as_array()
        .map(|all| all.iter().map(id).collect())
        .unwrap_or_default())
}

async fn mentions_are_parsed_counted_and_listed(topology: Topology) -> anyhow::Result<()> {
    let (cluster, admin) = start(topology).await?;
    let (alice_id, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (carol_id, carol) = admin.create_agent("carol", "Carol").await?;
    let (_, dave) = admin.create_agent("dave", "Dave").await?;
    let team = talk(&alice, "group", "team", &[&bob_id, &carol_id]).await?;
    let post = |text: &str| {
        let (alice, path) = (alice.clone(), format!("/v1.0/talks/{team}/messages"));
        let body = json!({"text": text});
        async move { alice.post(&path, body, 201).await }
    };

    // @username of members, any case; a non-member and an e-mail stay text.
    let first = post("Hi @bob and @Carol, see @dave or x@y.example").await?;
    assert_eq!(
        mentions(&first),
        vec![m(&bob_id, "agent", 3, 7), m(&carol_id, "agent", 12, 18)]
    );
    assert_eq!(mention_count(&bob, &team).await?, 1);
    assert_eq!(mention_count(&alice, &team).await?, 0);
    // @here: every member but the author, at the same place.
    let standup = post("🎉 @here standup").await?;
    let mut here = mentions(&standup);
    here.sort();
    let mut expected = vec![m(&bob_id, "here", 3, 8), m(&carol_id, "here", 3, 8)];
    expected.sort();
    assert_eq!(here, expected);
    assert!(!here.iter().any(|(a, ..)| *a == alice_id));
    assert_eq!(mention_count(&bob, &team).await?, 2);
    assert_eq!(mention_count(&carol, &team).await?, 2);
    // The mentions are in the message wherever it is read.
    let read_back = bob.get(&format!("/v1.0/messages/{}", id(&first))).await?;
    assert_eq!(mentions(&read_back), mentions(&first));

    // Newest first at /me/mentions.
    assert_eq!(my_mentions(&bob).await?, vec![id(&standup), id(&first)]);
    assert!(my_mentions(&dave).await?.is_empty());

    // Reading resets the count.
    bob.post(
        &format!("/v1.0/talks/{team}/read"),
        json!({"seq": standup["seq"]}),
        200,
    )
    .await?;
    assert_eq!(mention_count(&bob, &team).await?, 0);
    assert_eq!(mention_count(&carol, &team).await?, 2);

    // An edit re-parses: bob is no longer mentioned by the first message.
    let edited = alice
        .call(
            reqwest::Method::PUT,
            &format!("/v1.0/messages/{}", id(&first)),
            Some(json!({"text": "Only @carol now"})),
        )
        .await?
        .expect(200)?;
    assert_eq!(mentions(&edited), vec![m(&carol_id, "agent", 5, 11)]);
    assert_eq!(my_mentions(&bob).await?, vec![id(&standup)]);
    assert_eq!(my_mentions(&carol).await?, vec![id(&standup), id(&first)]);
    // A delete removes its mentions.
    alice
        .call(
            reqwest::Method::DELETE,
            &format!("/v1.0/messages/{}", id(&standup)),
            None,
        )
        .await?
        .expect(200)?;
    assert_eq!(my_mentions(&carol).await?, vec![id(&first)]);
    assert_eq!(mention_count(&carol, &team).await?, 1);
    assert!(my_mentions(&bob).await?.is_empty());
    // Leaving a private talk: its mentions are no longer listed.
    carol
        .post(&format!("/v1.0/talks/{team}/leave"), json!(null), 200)
        .await?;
    assert!(my_mentions(&carol).await?.is_empty());
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mentions_are_parsed_counted_reset_by_reading_and_listed() -> anyhow::Result<()> {
    mentions_are_parsed_counted_and_listed(Topology::Services { nats_url: None }).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mentions_are_parsed_counted_reset_by_reading_and_listed_embedded() -> anyhow::Result<()> {
    mentions_are_parsed_counted_and_listed(Topology::Embedded).await
}
