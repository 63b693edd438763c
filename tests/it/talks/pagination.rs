//! Paged listings of many talks, newest first.

use anyhow::Context;
use reqwest::Method;
use serde_json::json;
use talk_e2e::client::assert_error;

use super::{CHANNELS, CHATS, TALKS, id_of, start, walk};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_over_250_talks_newest_first() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (_, bob) = admin.create_agent("bob", "Bob").await?;
    let zed = cluster.other_customer("zed", "Zed").await?;

    // 250 talks, one after the other (every fifth public), through both families.
    let mut created = Vec::new();
    for i in 0..250 {
        let kind = if i % 5 == 0 { "talk" } else { "group" };
        let body = json!({"type": kind, "name": format!("t{i:03}")});
        let talk = if i % 2 == 0 {
            alice.post(TALKS, body, 201).await?
        } else {
            alice.post(CHATS, body, 200).await?
        };
        created.push(talk);
    }
    let newest_first: Vec<String> = created.iter().rev().map(id_of).collect();
    let channels_newest_first: Vec<String> = created
        .iter()
        .rev()
        .filter(|t| t["type"] == "talk")
        .map(id_of)
        .collect();

    // Default and cap: 100; the envelope is {result, next_page_token}.
    for query in ["", "?page_size=1000", "?page_size=0", "?page_size=-3"] {
        let page = alice.get(&format!("{CHATS}{query}")).await?;
        let keys: Vec<&String> = page.as_object().context("envelope")?.keys().collect();
        assert_eq!(keys.len(), 2, "{keys:?}");
        let result = page["result"].as_array().context("result")?;
        assert_eq!(result.len(), 100, "{query}");
        let ids: Vec<String> = result.iter().map(id_of).collect();
        assert_eq!(ids, newest_first[..100].to_vec(), "newest first ({query})");
        let token = page["next_page_token"].as_str().context("token")?;
        assert_eq!(token, result[99]["tm_create"].as_str().unwrap_or_default());
        assert_eq!(token.len(), 27, "{token}");
    }

    // Walking the pages gives every talk once, in order, also while new talks
    // arrive (they are newer than the walk's position).
    let mut walked: Vec<String> = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = alice
            .get(&format!("{TALKS}?page_size=30&page_token={token}"))
            .await?;
        let result = page["result"].as_array().context("result")?;
        if result.is_empty() {
            assert_eq!(page["next_page_token"], "");
            break;
        }
        pages += 1;
        assert!(result.len() <= 30);
        walked.extend(result.iter().map(id_of));
        token = page["next_page_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if pages == 1 {
            for n in 0..3 {
                alice
                    .post(
                        CHATS,
                        json!({"type": "group", "name": format!("new{n}")}),
                        200,
                    )
                    .await?;
            }
        }
        anyhow::ensure!(pages < 20, "too many pages");
    }
    assert_eq!(pages, 9, "8 full pages of 30 and one of 10");
    assert_eq!(walked, newest_first, "no duplicates, no gaps, newest first");
    let fresh = alice.get(&format!("{CHATS}?page_size=3")).await?;
    let names: Vec<&str> = fresh["result"]
        .as_array()
        .context("result")?
        .iter()
        .map(|t| t["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, vec!["new2", "new1", "new0"]);

    // The other family walks the same way (with odd page sizes too).
    let voipbin: Vec<String> = walk(&alice, CHATS, 7).await?.iter().map(id_of).collect();
    assert_eq!(voipbin.len(), 253);
    assert_eq!(voipbin[3..].to_vec(), newest_first);

    // Public channels: any agent of the customer pages through all 50.
    let channels: Vec<String> = walk(&bob, CHANNELS, 8).await?.iter().map(id_of).collect();
    assert_eq!(channels, channels_newest_first);
    assert_eq!(channels.len(), 50);
    assert!(
        walk(&bob, CHATS, 100).await?.is_empty(),
        "bob is in none of them"
    );
    assert!(
        walk(&zed, CHANNELS, 100).await?.is_empty(),
        "nor is another customer"
    );

    // Bad paging parameters are 400s.
    for query in ["page_size=ten", "page_size=1.5", "page_token=yesterday"] {
        let reply = alice
            .call(Method::GET, &format!("{CHATS}?{query}"), None)
            .await?;
        assert_error(&reply, 400, "INVALID_REQUEST_PARAMETER");
        let reply = bob
            .call(Method::GET, &format!("{CHANNELS}?{query}"), None)
            .await?;
        assert_error(&reply, 400, "INVALID_REQUEST_PARAMETER");
    }
    cluster.stop().await;
    Ok(())
}
