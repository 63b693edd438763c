//! Posting: gapless seqs under concurrent posts (and concurrent reactions), threads, media.

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use talk_e2e::client::assert_error;

use super::{
    counts, group, id, listing, message, post_chat, react, reactions, reply, say, seqs, start,
    tally, texts, thread,
};

/// 50 posts at once to one talk get seqs 1..=50, no gap, no duplicate, and
/// the listing shows them in seq order; 20 agents reacting at once all land.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_posts_get_gapless_seqs_and_concurrent_reactions_all_land() -> anyhow::Result<()>
{
    let (cluster, admin) = start().await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let created = join_all((0..20).map(|i| {
        let admin = admin.clone();
        async move {
            admin
                .create_agent(&format!("agent{i}"), &format!("Agent {i}"))
                .await
        }
    }))
    .await;
    let agents = created.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    let ids: Vec<&str> = agents.iter().map(|(id, _)| id.as_str()).collect();
    // Everyone is in from the start: no system message takes a seq.
    let talk = group(&alice, "busy", &ids).await?;

    let posted = join_all((0..50).map(|i| {
        let api = if i % 5 == 0 {
            alice.clone()
        } else {
            agents[i % 20].1.clone()
        };
        let talk = talk.clone();
        async move {
            if i % 2 == 0 {
                say(&api, &talk, &format!("post {i}")).await
            } else {
                post_chat(&api, &talk, &format!("post {i}"), json!({})).await
            }
        }
    }))
    .await;
    let posted = posted.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    let mut got = seqs(&posted);
    got.sort_unstable();
    assert_eq!(got, (1..=50).collect::<Vec<u64>>());

    let all = listing(&alice, &talk).await?;
    assert_eq!(all.len(), 50);
    assert_eq!(
        seqs(&all),
        (1..=50).rev().collect::<Vec<u64>>(),
        "newest first is seq order: seqs follow commit order"
    );
    let talk_now = alice.get(&format!("/v1.0/talks/{talk}")).await?;
    assert_eq!(talk_now["last_seq"], 50);

    let target = id(&posted[0]);
    let reacted = join_all(agents.iter().map(|(_, api)| react(api, &target, "👍"))).await;
    for r in reacted {
        r?;
    }
    let after = message(&alice, &target).await?;
    let mut owners: Vec<String> = reactions(&after).into_iter().map(|(_, o)| o).collect();
    owners.sort();
    let mut expected: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();
    assert_eq!(owners, expected, "one 👍 per agent, none lost");
    assert_eq!(tally(&after), counts(&[("👍", 20)]));
    cluster.stop().await;
    Ok(())
}

/// Threads: parent and reply counts, thread listing in order at any depth,
/// parents must be in the same talk, deleted parents still take replies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threads_follow_their_rules() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let talk = group(&alice, "here", &[&bob_id]).await?;
    let other_talk = group(&alice, "elsewhere", &[&bob_id]).await?;

    let root = id(&say(&alice, &talk, "root").await?);
    let first = id(&reply(&bob, &talk, &root, "first reply").await?);
    let deeper = reply(&alice, &talk, &first, "reply to a reply").await?;
    assert_eq!(deeper["parent_id"], first.as_str());
    post_chat(&bob, &talk, "second reply", json!({"parent_id": root})).await?;

    assert_eq!(
        texts(&thread(&alice, &root).await?),
        ["root", "first reply", "reply to a reply", "second reply"]
    );
    assert_eq!(
        texts(&thread(&bob, &first).await?),
        ["first reply", "reply to a reply"]
    );
    assert_eq!(message(&alice, &root).await?["reply_count"], 2);
    assert_eq!(message(&alice, &first).await?["reply_count"], 1);
    assert_eq!(message(&alice, &id(&deeper)).await?["reply_count"], 0);

    // A parent in another talk, or no such message: 400, nothing posted.
    let elsewhere = id(&say(&alice, &other_talk, "elsewhere").await?);
    let before = listing(&alice, &talk).await?;
    let cross = alice
        .call(
            Method::POST,
            &format!("/v1.0/talks/{talk}/messages"),
            Some(json!({"text": "sneaky", "parent_id": elsewhere})),
        )
        .await?;
    assert_error(&cross, 400, "INVALID_PARENT");
    let cross_voipbin = alice
        .call(
            Method::POST,
            "/v1.0/service_agents/talk_messages",
            Some(json!({"chat_id": talk, "type": "normal", "text": "sneaky", "parent_id": elsewhere})),
        )
        .await?;
    assert_error(&cross_voipbin, 400, "INVALID_PARENT");
    let unknown = alice
        .call(
            Method::POST,
            &format!("/v1.0/talks/{talk}/messages"),
            Some(json!({"text": "to nobody", "parent_id": uuid::Uuid::new_v4()})),
        )
        .await?;
    assert_error(&unknown, 400, "INVALID_PARENT");
    let bad = alice
        .call(
            Method::POST,
            &format!("/v1.0/talks/{talk}/messages"),
            Some(json!({"text": "to nobody", "parent_id": "message-1"})),
        )
        .await?;
    assert_error(&bad, 400, "INVALID_ID");
    assert_eq!(listing(&alice, &talk).await?, before, "nothing changed");
    assert_eq!(message(&alice, &elsewhere).await?["reply_count"], 0);

    // VoIPBIN's placeholder (nil UUID) means top-level.
    let top = post_chat(
        &alice,
        &talk,
        "top level",
        json!({"parent_id": "00000000-0000-0000-0000-000000000000"}),
    )
    .await?;
    assert!(top.get("parent_id").is_none());

    // A deleted message keeps its thread and still takes replies.
    let doomed = id(&say(&alice, &talk, "about to be deleted").await?);
    alice
        .call(Method::DELETE, &format!("/v1.0/messages/{doomed}"), None)
        .await?
        .expect(200)?;
    let late = reply(&bob, &talk, &doomed, "replying anyway").await?;
    assert_eq!(late["parent_id"], doomed.as_str());
    let kept = thread(&bob, &doomed).await?;
    assert_eq!(texts(&kept), ["", "replying anyway"]);
    assert!(kept[0]["tm_delete"].is_string());
    assert_eq!(kept[0]["reply_count"], 1);
    cluster.stop().await;
    Ok(())
}

/// Media of both shapes come back as sent; too many, script URLs, long names
/// and bad ids are refused and post nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_of_both_shapes_are_returned_as_sent_and_validated() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let talk = group(&alice, "files", &[&bob_id]).await?;

    let seed = json!([
        {"type": "image/png", "url": "https://files.example.com/chart.png", "name": "chart.png"},
        {"type": "application/pdf", "url": "http://files.example.com/q3.pdf", "name": "Q3 report.pdf"},
    ]);
    let posted = alice
        .post(
            &format!("/v1.0/talks/{talk}/messages"),
            json!({"text": "the Q3 numbers", "medias": seed}),
            201,
        )
        .await?;
    assert_eq!(posted["medias"], seed);
    assert_eq!(message(&bob, &id(&posted)).await?["medias"], seed);

    // A file media names an uploaded file (tests/it/files): the message
    // carries it resolved.
    let uploaded = crate::files::upload(&alice, "runbook.txt", "text/plain", b"steps").await?;
    let file_id = uploaded["id"].as_str().unwrap_or_default().to_owned();
    let file = json!({"type": "file", "file_id": file_id, "name": "runbook.txt", "file": {
        "name": "runbook.txt", "size": 5, "mime_type": "text/plain",
        "uri_download": format!("/v1.0/service_agents/files/{file_id}/file")}});
    let voipbin = json!([
        file,
        {"type": "link", "link_url": "https://example.com/runbook"},
        {"type": "agent", "agent_id": bob_id},
        {"type": "address", "address": {"type": "tel", "target": "+15551234567", "target_name": "Front desk", "name": "Reception", "detail": "main line"}},
    ]);
    let posted = post_chat(&alice, &talk, "", json!({"medias": voipbin})).await?;
    assert_eq!(posted["medias"], voipbin, "a media-only message is fine");
    assert_eq!(message(&bob, &id(&posted)).await?["medias"], voipbin);

    // A real VoIPBIN client sends nil-UUID and {} placeholders for unused fields.
    let placeholders = post_chat(
        &alice,
        &talk,
        "as VoIPBIN clients send it",
        json!({"medias": [{"type": "file", "file_id": file_id, "agent_id": "00000000-0000-0000-0000-000000000000", "address": {}}]}),
    )
    .await?;
    assert_eq!(placeholders["medias"], json!([file]));

    let ten: Vec<Value> = (0..10)
        .map(|i| json!({"type": "image/jpeg", "url": format!("https://img.example.com/{i}.jpg"), "name": format!("{i}.jpg")}))
        .collect();
    let tenth = alice
        .post(
            &format!("/v1.0/talks/{talk}/messages"),
            json!({"text": "ten pictures", "medias": ten}),
            201,
        )
        .await?;
    assert_eq!(tenth["medias"].as_array().map(Vec::len), Some(10));

    let before = listing(&alice, &talk).await?;
    let mut eleven = ten.clone();
    eleven.push(json!({"type": "image/jpeg", "url": "https://img.example.com/x.jpg"}));
    let long_name = "n".repeat(256);
    let bad_bodies = [
        (
            json!({"text": "eleven", "medias": eleven}),
            "TOO_MANY_MEDIAS",
        ),
        (
            json!({"text": "x", "medias": [{"type": "text/html", "url": "javascript:alert(1)", "name": "x"}]}),
            "INVALID_URL",
        ),
        (
            json!({"text": "x", "medias": [{"type": "link", "link_url": "javascript:alert(document.cookie)"}]}),
            "INVALID_URL",
        ),
        (
            json!({"text": "x", "medias": [{"type": "image/png", "url": "data:image/png;base64,AAAA"}]}),
            "INVALID_URL",
        ),
        (
            json!({"text": "x", "medias": [{"type": "image/png", "url": "https://x.example/a.png", "name": long_name}]}),
            "INVALID_MEDIA",
        ),
        (
            json!({"text": "x", "medias": [{"type": "file", "file_id": "file-1"}]}),
            "INVALID_ID",
        ),
        (
            json!({"text": "x", "medias": [{"type": "banana", "url": "https://x.example"}]}),
            "INVALID_MEDIA",
        ),
        (
            json!({"text": "x", "medias": [{"type": "link"}]}),
            "INVALID_MEDIA",
        ),
    ];
    for (body, reason) in bad_bodies {
        let seed_reply = alice
            .call(
                Method::POST,
                &format!("/v1.0/talks/{talk}/messages"),
                Some(body.clone()),
            )
            .await?;
        assert_error(&seed_reply, 400, reason);
        let mut voipbin_body = body;
        voipbin_body["chat_id"] = json!(talk);
        let voipbin_reply = alice
            .call(
                Method::POST,
                "/v1.0/service_agents/talk_messages",
                Some(voipbin_body),
            )
            .await?;
        assert_error(&voipbin_reply, 400, reason);
    }
    let mut eleven_again = ten;
    eleven_again.push(json!({"type": "image/jpeg", "url": "https://img.example.com/x.jpg"}));
    let too_many = alice
        .call(
            Method::POST,
            &format!("/v1.0/talks/{talk}/messages"),
            Some(json!({"text": "eleven", "medias": eleven_again})),
        )
        .await?;
    assert!(
        too_many.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("10")),
        "the refusal says the limit: {}",
        too_many.body
    );
    assert_eq!(listing(&alice, &talk).await?, before, "nothing was posted");
    cluster.stop().await;
    Ok(())
}
