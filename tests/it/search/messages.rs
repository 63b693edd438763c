//! Words, phrases, prefixes, filters, ranking, highlights, paging, edits and
//! deletes, unspaced scripts and emoji — the same test on both stores.

use serde_json::json;
use talk_e2e::Topology;

use super::{found, marked, post, say, search_page, spans, start, talk};

async fn finds_what_it_should(topology: Topology) -> anyhow::Result<()> {
    let (cluster, admin) = start(topology).await?;
    let (alice_id, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (_, carol) = admin.create_agent("carol", "Carol").await?;
    let team = talk(&alice, "group", "team", &[&bob_id]).await?;
    let public = talk(&alice, "talk", "announcements", &[]).await?;
    let private = talk(&carol, "group", "carol and alice", &[&alice_id]).await?;

    let approved = say(&alice, &team, "The refund for order 1234 was approved").await?;
    let angry = say(&alice, &team, "Refund refund REFUND: the customer is angry").await?;
    let late = say(&bob, &team, "Late delivery of the package, again").await?;
    let refunded = post(
        &bob,
        &team,
        json!({"text": "refunded yesterday", "parent_id": approved}),
    )
    .await?;
    let receipt = post(
        &alice,
        &team,
        json!({"text": "refund receipt attached", "medias": [
            {"type": "application/pdf", "url": "https://x.example/r.pdf", "name": "r.pdf"}
        ]}),
    )
    .await?;
    let policy = say(&alice, &public, "Our public refund policy").await?;
    let secret = say(&carol, &private, "a secret refund").await?;

    // Words: every readable message with the word, newest first — the public
    // talk's too, not carol's private talk, not "refunded".
    assert_eq!(
        found(&bob, "refund", "").await?,
        vec![
            policy.clone(),
            receipt.clone(),
            angry.clone(),
            approved.clone()
        ]
    );
    assert_eq!(found(&alice, "refund", "").await?[0], secret);
    // Case does not matter; every word is required.
    assert_eq!(
        found(&bob, "ANGRY Customer", "").await?,
        vec![angry.clone()]
    );
    // Prefixes.
    assert_eq!(
        found(&bob, "refund*", "").await?,
        vec![
            policy.clone(),
            receipt.clone(),
            refunded.clone(),
            angry.clone(),
            approved.clone()
        ]
    );
    // Phrases: in order, next to each other.
    assert_eq!(
        found(&bob, "\"late delivery\"", "").await?,
        vec![late.clone()]
    );
    assert!(found(&bob, "\"delivery late\"", "").await?.is_empty());
    assert!(found(&bob, "\"refund angry\"", "").await?.is_empty());

    // Filters.
    let t = format!("talk_id={team}");
    assert_eq!(
        found(&bob, "refund", &t).await?,
        vec![receipt.clone(), angry.clone(), approved.clone()]
    );
    assert_eq!(
        found(&bob, "refund", &format!("chat_id={public}")).await?,
        vec![policy.clone()]
    );
    assert!(
        found(&bob, "refund", &format!("talk_id={private}"))
            .await?
            .is_empty()
    );
    assert_eq!(
        found(&bob, "refund*", &format!("author_id={bob_id}")).await?,
        vec![refunded.clone()]
    );
    assert_eq!(
        found(&bob, "refund", "has_file=true").await?,
        vec![receipt.clone()]
    );
    assert_eq!(
        found(&bob, "refund", "has_file=false").await?,
        vec![policy.clone(), angry.clone(), approved.clone()]
    );
    assert_eq!(
        found(&bob, "refund*", "in_thread=true").await?,
        vec![refunded.clone(), approved.clone()]
    );
    assert_eq!(
        found(&bob, "refund", "in_thread=false").await?,
        vec![policy.clone(), receipt.clone(), angry.clone()]
    );
    let at = |m: &serde_json::Value| m["tm_create"].as_str().unwrap_or_default().to_owned();
    let angry_at = at(&bob.get(&format!("/v1.0/messages/{angry}")).await?);
    assert_eq!(
        found(&bob, "refund", &format!("before={angry_at}")).await?,
        vec![approved.clone()]
    );
    assert_eq!(
        found(&bob, "refund", &format!("after={angry_at}")).await?,
        vec![policy.clone(), receipt.clone()]
    );
    assert_eq!(
        found(
            &bob,
            "refund",
            &format!("after={angry_at}&before=2999-01-01&talk_id={team}")
        )
        .await?,
        vec![receipt.clone()]
    );
    assert!(found(&bob, "refund", "before=2000-01-01").await?.is_empty());

    // Ranking: three "refund"s beat one.
    let ranked = found(&bob, "refund", "sort=relevance").await?;
    assert_eq!(ranked[0], angry);
    assert_eq!(ranked.len(), 4);

    // Highlights: where the words matched, in UTF-16 units, and a snippet.
    let page = search_page(&bob, "refund* customer", &format!("talk_id={team}")).await?;
    let hit = &page["result"][0];
    assert_eq!(hit["message"]["id"], angry.as_str());
    assert_eq!(marked(hit), vec!["Refund", "refund", "REFUND", "customer"]);
    assert_eq!(hit["snippet"], hit["message"]["text"]);
    assert_eq!(spans(hit, "snippet_highlights"), spans(hit, "highlights"));
    let page = search_page(&bob, "\"late delivery\"", "").await?;
    assert_eq!(marked(&page["result"][0]), vec!["Late delivery"]);

    // Pages: no hit twice, none left out, in both orders.
    for sort in ["newest", "relevance"] {
        let mut seen = Vec::new();
        let mut token = String::new();
        loop {
            let page = search_page(
                &bob,
                "refund*",
                &format!("sort={sort}&page_size=2&page_token={token}"),
            )
            .await?;
            seen.extend(super::ids(&page));
            token = page["next_page_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if token.is_empty() {
                break;
            }
        }
        seen.sort();
        let mut all = found(&bob, "refund*", "").await?;
        all.sort();
        assert_eq!(seen, all, "{sort}");
    }

    // An edit is found by its new text, not its old; a delete not at all.
    alice
        .call(
            reqwest::Method::PUT,
            &format!("/v1.0/messages/{approved}"),
            Some(json!({"text": "The reimbursement for order 1234 was approved"})),
        )
        .await?
        .expect(200)?;
    assert_eq!(
        found(&bob, "reimbursement", "").await?,
        vec![approved.clone()]
    );
    assert!(!found(&bob, "refund", "").await?.contains(&approved));
    alice
        .call(
            reqwest::Method::DELETE,
            &format!("/v1.0/messages/{angry}"),
            None,
        )
        .await?
        .expect(200)?;
    assert!(found(&bob, "angry", "").await?.is_empty());
    assert_eq!(
        found(&bob, "refund", "").await?,
        vec![policy.clone(), receipt.clone()]
    );

    // Korean, Japanese, emoji: found inside words, highlighted.
    let korean = say(&alice, &team, "환불을 요청합니다").await?;
    let japanese = say(&alice, &team, "返金をお願いします").await?;
    let party = say(&alice, &team, "Great job 🎉 team, 👍🏽").await?;
    assert_eq!(found(&bob, "환불", "").await?, vec![korean.clone()]);
    assert_eq!(found(&bob, "요청", "").await?, vec![korean.clone()]);
    assert_eq!(found(&bob, "返金", "").await?, vec![japanese.clone()]);
    assert_eq!(found(&bob, "お願い", "").await?, vec![japanese.clone()]);
    assert_eq!(found(&bob, "🎉", "").await?, vec![party.clone()]);
    assert_eq!(found(&bob, "👍🏽 great", "").await?, vec![party.clone()]);
    assert!(found(&bob, "환불 refund", "").await?.is_empty());
    let page = search_page(&bob, "요청", "").await?;
    assert_eq!(marked(&page["result"][0]), vec!["요청"]);
    let page = search_page(&bob, "🎉 team", "").await?;
    assert_eq!(marked(&page["result"][0]), vec!["🎉", "team"]);
    assert_eq!(
        spans(&page["result"][0], "highlights"),
        vec![(10, 12), (13, 17)]
    );

    // Leaving a private talk ends finding its messages; public talks stay.
    bob.post(&format!("/v1.0/talks/{team}/leave"), json!(null), 200)
        .await?;
    assert_eq!(found(&bob, "refund*", "").await?, vec![policy.clone()]);
    assert!(found(&bob, "환불", "").await?.is_empty());
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_words_phrases_prefixes_with_filters_ranks_and_highlights()
-> anyhow::Result<()> {
    finds_what_it_should(Topology::Services { nats_url: None }).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_words_phrases_prefixes_with_filters_ranks_and_highlights_embedded()
-> anyhow::Result<()> {
    finds_what_it_should(Topology::Embedded).await
}
