//! Reading: read positions and unread counts, catch-up after a seq, VoIPBIN's history paging.

use reqwest::Method;
use serde_json::json;
use talk_e2e::client::assert_error;

use super::{counts, group, id, listing, react, results, say, start, tally, texts, unread};

/// Read state: `POST /talks/{id}/read {seq}` moves the caller's position and
/// both families' talk listings show the caller's own `unread_count`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_positions_drive_unread_counts_in_both_listings() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let talk = group(&alice, "news", &[&bob_id]).await?;
    for n in 1..=3 {
        say(&alice, &talk, &format!("news {n}")).await?;
    }
    assert_eq!(unread(&bob, &talk).await?, 3);
    assert_eq!(
        unread(&alice, &talk).await?,
        0,
        "one's own messages are read"
    );
    assert_eq!(
        bob.get(&format!("/v1.0/talks/{talk}")).await?["unread_count"],
        3
    );

    let read = bob
        .post(&format!("/v1.0/talks/{talk}/read"), json!({"seq": 2}), 200)
        .await?;
    assert_eq!(
        read,
        json!({"chat_id": talk, "last_read_seq": 2, "last_seq": 3, "unread_count": 1})
    );
    assert_eq!(unread(&bob, &talk).await?, 1);
    let back = bob
        .post(&format!("/v1.0/talks/{talk}/read"), json!({"seq": 1}), 200)
        .await?;
    assert_eq!(back["last_read_seq"], 2, "a read position never goes back");
    let ahead = bob
        .call(
            Method::POST,
            &format!("/v1.0/talks/{talk}/read"),
            Some(json!({"seq": 99})),
        )
        .await?;
    assert_error(&ahead, 400, "INVALID_SEQ");
    assert_eq!(unread(&bob, &talk).await?, 1);

    // Posting reads everything up to one's own message.
    say(&bob, &talk, "thanks").await?;
    assert_eq!(unread(&bob, &talk).await?, 0);
    assert_eq!(unread(&alice, &talk).await?, 1);

    // A deleted message no longer counts as unread.
    say(&alice, &talk, "news 4").await?;
    let oops = say(&alice, &talk, "wrong channel").await?;
    assert_eq!(unread(&bob, &talk).await?, 2);
    alice
        .call(
            Method::DELETE,
            &format!("/v1.0/messages/{}", id(&oops)),
            None,
        )
        .await?
        .expect(200)?;
    assert_eq!(unread(&bob, &talk).await?, 1);
    cluster.stop().await;
    Ok(())
}

/// Catch-up without a socket: `?after_seq=N` returns exactly the messages
/// that were posted, edited, deleted or reacted to after N, in change order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_seq_returns_everything_that_changed() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let talk = group(&alice, "sync", &[&bob_id]).await?;
    let to_edit = id(&say(&alice, &talk, "draft").await?);
    let to_delete = id(&say(&alice, &talk, "mistake").await?);
    let to_react = id(&say(&alice, &talk, "good news").await?);
    let untouched = id(&say(&alice, &talk, "nothing happens to me").await?);

    // Bob's client has seen everything so far; it remembers the newest change.
    let seen = listing(&bob, &talk).await?;
    let cursor = seen
        .iter()
        .filter_map(|m| m["change_seq"].as_u64())
        .max()
        .unwrap_or_default();
    let nothing = bob
        .get(&format!("/v1.0/talks/{talk}/messages?after_seq={cursor}"))
        .await?;
    assert_eq!(nothing, json!({"result": []}));

    // While it is offline: a new message, an edit, a delete, a reaction.
    let fresh = id(&say(&alice, &talk, "new while you were away").await?);
    alice
        .call(
            Method::PUT,
            &format!("/v1.0/messages/{to_edit}"),
            Some(json!({"text": "final"})),
        )
        .await?
        .expect(200)?;
    alice
        .call(Method::DELETE, &format!("/v1.0/messages/{to_delete}"), None)
        .await?
        .expect(200)?;
    react(&alice, &to_react, "🎉").await?;

    let caught = results(
        &bob.get(&format!("/v1.0/talks/{talk}/messages?after_seq={cursor}"))
            .await?,
    );
    let ids: Vec<String> = caught.iter().map(id).collect();
    assert_eq!(
        ids,
        [fresh.clone(), to_edit, to_delete, to_react],
        "in change order"
    );
    assert!(!ids.contains(&untouched));
    assert_eq!(caught[0]["text"], "new while you were away");
    assert_eq!(caught[1]["text"], "final");
    assert_eq!(caught[2]["text"], "");
    assert!(caught[2]["tm_delete"].is_string());
    assert_eq!(tally(&caught[3]), counts(&[("🎉", 1)]));
    let changes: Vec<u64> = caught
        .iter()
        .filter_map(|m| m["change_seq"].as_u64())
        .collect();
    assert!(changes.windows(2).all(|w| w[0] < w[1]) && changes[0] > cursor);

    // From the start: every message once; from the newest change: nothing.
    let all = results(
        &bob.get(&format!("/v1.0/talks/{talk}/messages?after_seq=0"))
            .await?,
    );
    assert_eq!(all.len(), 5);
    let newest = changes.last().copied().unwrap_or_default();
    assert_eq!(
        bob.get(&format!("/v1.0/talks/{talk}/messages?after_seq={newest}"))
            .await?,
        json!({"result": []})
    );
    for bad in ["abc", "-1", "1.5"] {
        let reply = bob
            .call(
                Method::GET,
                &format!("/v1.0/talks/{talk}/messages?after_seq={bad}"),
                None,
            )
            .await?;
        assert_error(&reply, 400, "INVALID_REQUEST_PARAMETER");
    }
    cluster.stop().await;
    Ok(())
}

/// VoIPBIN's history listing: `talk_messages?chat_id=`, newest first, paged
/// by `page_size` and the `page_token` of the previous page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voipbin_history_listing_pages_newest_first() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let talk = group(&alice, "history", &[&bob_id]).await?;
    for n in 1..=7 {
        let api = if n % 2 == 0 { &bob } else { &alice };
        say(api, &talk, &format!("m{n}")).await?;
    }
    let base = format!("/v1.0/service_agents/talk_messages?chat_id={talk}&page_size=3");
    let mut pages = Vec::new();
    let mut token = String::new();
    loop {
        let path = if token.is_empty() {
            base.clone()
        } else {
            format!("{base}&page_token={token}")
        };
        let page = bob.get(&path).await?;
        let items = results(&page);
        let next = page["next_page_token"].as_str().unwrap_or_default();
        match items.last() {
            Some(last) => assert_eq!(last["tm_create"], next, "the token is the last tm_create"),
            None => assert_eq!(next, ""),
        }
        pages.push(
            texts(&items)
                .iter()
                .map(|t| (*t).to_owned())
                .collect::<Vec<_>>(),
        );
        if items.is_empty() || pages.len() > 5 {
            break;
        }
        token = next.to_owned();
    }
    assert_eq!(
        pages,
        [
            vec!["m7", "m6", "m5"],
            vec!["m4", "m3", "m2"],
            vec!["m1"],
            vec![]
        ]
    );
    let seed_first = results(
        &bob.get(&format!("/v1.0/talks/{talk}/messages?page_size=3"))
            .await?,
    );
    assert_eq!(texts(&seed_first), ["m7", "m6", "m5"]);
    let oversized = results(
        &bob.get(&format!(
            "/v1.0/service_agents/talk_messages?chat_id={talk}&page_size=0"
        ))
        .await?,
    );
    assert_eq!(oversized.len(), 7, "page_size 0 means the default (100)");

    let missing = bob
        .call(Method::GET, "/v1.0/service_agents/talk_messages", None)
        .await?;
    assert_error(&missing, 400, "MISSING_REQUEST_PARAMETER");
    let bad_id = bob
        .call(
            Method::GET,
            "/v1.0/service_agents/talk_messages?chat_id=chat-1",
            None,
        )
        .await?;
    assert_error(&bad_id, 400, "INVALID_ID");
    for query in ["page_size=ten", "page_token=yesterday"] {
        let reply = bob
            .call(
                Method::GET,
                &format!("/v1.0/service_agents/talk_messages?chat_id={talk}&{query}"),
                None,
            )
            .await?;
        assert_error(&reply, 400, "INVALID_REQUEST_PARAMETER");
    }
    cluster.stop().await;
    Ok(())
}
