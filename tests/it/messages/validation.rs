//! Malformed input: a 4xx, and nothing changed.

use reqwest::Method;
use serde_json::{Value, json};
use talk_e2e::client::assert_error;

use super::{group, id, listing, react, results, say, start, text, unread};

/// Every malformed request gets a 4xx with VoIPBIN's error body and leaves
/// the talk exactly as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_input_gets_a_4xx_and_changes_nothing() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let talk = group(&alice, "strict", &[&bob_id]).await?;
    let kept = id(&say(&alice, &talk, "keep me as I am").await?);
    react(&bob, &kept, "👍").await?;
    let before = listing(&alice, &talk).await?;

    let messages = format!("/v1.0/talks/{talk}/messages");
    let chat = "/v1.0/service_agents/talk_messages".to_owned();
    let one = format!("/v1.0/messages/{kept}");
    let reactions = format!("/v1.0/messages/{kept}/reactions");
    let read = format!("/v1.0/talks/{talk}/read");
    let json_cases: Vec<(Method, String, Value, u16, &str)> = vec![
        // Bad UUIDs.
        (
            Method::POST,
            "/v1.0/talks/talk-1/messages".into(),
            json!({"text": "x"}),
            400,
            "INVALID_ID",
        ),
        (
            Method::PUT,
            "/v1.0/messages/42".into(),
            json!({"text": "x"}),
            400,
            "INVALID_ID",
        ),
        (
            Method::POST,
            "/v1.0/messages/msg/reactions".into(),
            json!({"emoji": "👍"}),
            400,
            "INVALID_ID",
        ),
        (
            Method::POST,
            "/v1.0/service_agents/talk_messages/x/reactions".into(),
            json!({"emoji": "👍"}),
            400,
            "INVALID_ID",
        ),
        (
            Method::POST,
            "/v1.0/talks/not-a-talk/read".into(),
            json!({"seq": 1}),
            400,
            "INVALID_ID",
        ),
        (
            Method::POST,
            chat.clone(),
            json!({"chat_id": "chat-1", "type": "normal", "text": "x"}),
            400,
            "INVALID_ID",
        ),
        (
            Method::POST,
            messages.clone(),
            json!({"text": "x", "parent_id": "p"}),
            400,
            "INVALID_ID",
        ),
        // Wrong JSON types.
        (
            Method::POST,
            messages.clone(),
            json!({"text": 7}),
            400,
            "INVALID_JSON_BODY",
        ),
        (
            Method::POST,
            messages.clone(),
            json!({"text": "x", "medias": "pic.png"}),
            400,
            "INVALID_JSON_BODY",
        ),
        (
            Method::POST,
            messages.clone(),
            json!({"text": "x", "medias": [{"type": 1}]}),
            400,
            "INVALID_JSON_BODY",
        ),
        (
            Method::POST,
            messages.clone(),
            json!({"text": "x", "parent_id": 5}),
            400,
            "INVALID_JSON_BODY",
        ),
        (
            Method::POST,
            messages.clone(),
            json!(["text", "x"]),
            400,
            "INVALID_JSON_BODY",
        ),
        (
            Method::POST,
            messages.clone(),
            json!(["hello"]),
            400,
            "INVALID_JSON_BODY",
        ),
        (
            Method::POST,
            chat.clone(),
            json!({"chat_id": 12, "text": "x"}),
            400,
            "INVALID_JSON_BODY",
        ),
        (
            Method::PUT,
            one.clone(),
            json!({"text": false}),
            400,
            "INVALID_JSON_BODY",
        ),
        (
            Method::POST,
            reactions.clone(),
            json!({"emoji": 1}),
            400,
            "INVALID_JSON_BODY",
        ),
        (
            Method::POST,
            read.clone(),
            json!({"seq": "1"}),
            400,
            "INVALID_JSON_BODY",
        ),
        (
            Method::POST,
            read.clone(),
            json!({"seq": -1}),
            400,
            "INVALID_JSON_BODY",
        ),
        // Missing fields.
        (
            Method::POST,
            messages.clone(),
            json!({}),
            400,
            "INVALID_JSON_BODY",
        ),
        (
            Method::POST,
            chat.clone(),
            json!({"type": "normal", "text": "x"}),
            400,
            "INVALID_JSON_BODY",
        ),
        (
            Method::PUT,
            one.clone(),
            json!({}),
            400,
            "INVALID_JSON_BODY",
        ),
        (
            Method::POST,
            reactions.clone(),
            json!({}),
            400,
            "INVALID_JSON_BODY",
        ),
        (
            Method::DELETE,
            format!("{chat}/{kept}/reactions"),
            json!({}),
            400,
            "INVALID_JSON_BODY",
        ),
        (
            Method::POST,
            read.clone(),
            json!({}),
            400,
            "INVALID_JSON_BODY",
        ),
        // Rule violations.
        (
            Method::POST,
            chat.clone(),
            json!({"chat_id": talk, "type": "system", "text": "x"}),
            400,
            "SYSTEM_MESSAGE_FORBIDDEN",
        ),
        (
            Method::POST,
            chat.clone(),
            json!({"chat_id": talk, "type": "shout", "text": "x"}),
            400,
            "INVALID_TYPE",
        ),
        (
            Method::POST,
            messages.clone(),
            json!({"text": ""}),
            400,
            "EMPTY_MESSAGE",
        ),
        (
            Method::POST,
            messages.clone(),
            json!({"text": "nul \u{0} inside"}),
            400,
            "INVALID_TEXT",
        ),
        (
            Method::POST,
            chat.clone(),
            json!({"chat_id": uuid::Uuid::new_v4(), "type": "normal", "text": "x"}),
            404,
            "TALK_NOT_FOUND",
        ),
    ];
    for (method, path, body, status, reason) in json_cases {
        let reply = alice
            .call(method.clone(), &path, Some(body.clone()))
            .await?;
        assert_eq!(
            reply.status.as_u16(),
            status,
            "{method} {path} {body}: {}",
            reply.body
        );
        assert_error(&reply, status, reason);
    }
    for (method, path) in [
        (Method::POST, messages.clone()),
        (Method::POST, chat.clone()),
        (Method::PUT, one.clone()),
        (Method::POST, reactions.clone()),
        (Method::POST, read.clone()),
    ] {
        for raw in ["{\"text\": ", "", "not json"] {
            let reply = alice.raw(method.clone(), &path, raw).await?;
            assert_error(&reply, 400, "INVALID_JSON_BODY");
        }
    }
    for path in [
        "/v1.0/messages/not-a-uuid".to_owned(),
        "/v1.0/messages/1/thread".to_owned(),
        "/v1.0/messages/1/history".to_owned(),
        "/v1.0/service_agents/talk_messages/zzz".to_owned(),
        "/v1.0/talks/zzz/messages".to_owned(),
    ] {
        let reply = alice.call(Method::GET, &path, None).await?;
        assert_error(&reply, 400, "INVALID_ID");
    }
    let bad_delete = alice
        .call(
            Method::DELETE,
            "/v1.0/messages/xyz/reactions/%F0%9F%91%8D",
            None,
        )
        .await?;
    assert_error(&bad_delete, 400, "INVALID_ID");

    // Text over 20,000 characters: 400 that says the limit.
    let long = alice
        .call(
            Method::POST,
            &messages,
            Some(json!({"text": "é".repeat(20_001)})),
        )
        .await?;
    assert_error(&long, 400, "TEXT_TOO_LONG");
    assert!(
        long.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("20,000")),
        "{}",
        long.body
    );
    let long_voipbin = alice
        .call(
            Method::POST,
            &chat,
            Some(json!({"chat_id": talk, "type": "normal", "text": "a".repeat(20_001)})),
        )
        .await?;
    assert_error(&long_voipbin, 400, "TEXT_TOO_LONG");
    // A body over 1 MiB: 413.
    let huge = format!("{{\"text\": \"{}\"}}", "a".repeat(1024 * 1024 + 16));
    let too_large = alice.raw(Method::POST, &messages, &huge).await?;
    assert_error(&too_large, 413, "PAYLOAD_TOO_LARGE");

    let after = listing(&alice, &talk).await?;
    assert_eq!(after, before, "the talk is exactly as it was");
    assert!(results(&alice.get(&format!("/v1.0/messages/{kept}/history")).await?).is_empty());
    assert_eq!(unread(&bob, &talk).await?, 1);

    // The limit itself is allowed (in characters, not bytes).
    let longest = alice
        .post(&messages, json!({"text": "é".repeat(20_000)}), 201)
        .await?;
    assert_eq!(text(&longest).chars().count(), 20_000);
    cluster.stop().await;
    Ok(())
}
