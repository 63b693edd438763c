//! Malformed input: a 400 with a reason, and nothing changed.

use anyhow::Context;
use reqwest::Method;
use serde_json::{Value, json};
use talk_e2e::client::assert_error;

use super::{
    CHANNELS, CHATS, TALKS, id_of, message_of, my_talks, participant_agents, put, set, start, walk,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_input_gets_400_with_a_reason_and_changes_nothing() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (alice_id, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (carol_id, carol) = admin.create_agent("carol", "Carol").await?;
    let base = alice
        .post(
            TALKS,
            json!({"type": "group", "name": "base", "detail": "kept", "participant_ids": [bob_id]}),
            201,
        )
        .await?;
    let g = id_of(&base);
    let g_before = alice.get(&format!("{CHATS}/{g}")).await?;
    let bob_record = bob
        .get(&format!("{CHATS}/{g}/participants"))
        .await?
        .as_array()
        .and_then(|l| {
            l.iter()
                .find(|p| p["owner_id"] == bob_id.as_str())
                .map(id_of)
        })
        .context("bob's record")?;
    let unknown = uuid::Uuid::new_v4().to_string();
    let long_name = "n".repeat(256);
    let long_detail = "d".repeat(4097);

    // Create, in both families.
    let creates: Vec<(String, &str)> = vec![
        ("{not json".into(), "INVALID_JSON_BODY"),
        (String::new(), "INVALID_JSON_BODY"),
        ("[]".into(), "INVALID_JSON_BODY"),
        ("\"group\"".into(), "INVALID_JSON_BODY"),
        (json!({"type": 7}).to_string(), "INVALID_JSON_BODY"),
        (json!({"type": "group", "name": 5}).to_string(), "INVALID_JSON_BODY"),
        (json!({"type": "group", "detail": true}).to_string(), "INVALID_JSON_BODY"),
        (json!({"type": "group", "participants": "bob"}).to_string(), "INVALID_JSON_BODY"),
        (json!({"type": "group", "participants": [{"owner_type": "agent"}]}).to_string(), "INVALID_JSON_BODY"),
        (json!({"type": "group", "participants": [{"owner_id": 5}]}).to_string(), "INVALID_JSON_BODY"),
        (json!({"type": "group", "participant_ids": [5]}).to_string(), "INVALID_JSON_BODY"),
        (json!({"type": "group", "participant_ids": bob_id}).to_string(), "INVALID_JSON_BODY"),
        (json!({"type": "group", "participant_ids": ["not-a-uuid"]}).to_string(), "INVALID_ID"),
        (json!({"type": "group", "participants": [{"owner_type": "agent", "owner_id": "12345"}]}).to_string(), "INVALID_ID"),
        (json!({"type": "group", "participants": [{"owner_type": "customer", "owner_id": bob_id}]}).to_string(), "INVALID_OWNER_TYPE"),
        (json!({"type": "channel"}).to_string(), "INVALID_TYPE"),
        (json!({"type": "direct"}).to_string(), "INVALID_PARTICIPANTS"),
        (json!({"type": "direct", "participant_ids": [alice_id]}).to_string(), "INVALID_PARTICIPANTS"),
        (json!({"type": "direct", "participant_ids": [bob_id, carol_id]}).to_string(), "INVALID_PARTICIPANTS"),
        (json!({"type": "group", "participant_ids": [carol_id, unknown]}).to_string(), "UNKNOWN_AGENT"),
        (json!({"type": "direct", "participants": [{"owner_type": "agent", "owner_id": unknown}]}).to_string(), "UNKNOWN_AGENT"),
        (json!({"participant_ids": [unknown]}).to_string(), "UNKNOWN_AGENT"),
        (json!({"type": "group", "name": long_name}).to_string(), "FIELD_TOO_LONG"),
        (json!({"type": "talk", "detail": long_detail}).to_string(), "FIELD_TOO_LONG"),
    ];
    for path in [CHATS, TALKS] {
        for (body, reason) in &creates {
            let reply = alice.raw(Method::POST, path, body).await?;
            assert_error(&reply, 400, reason);
            if *reason == "UNKNOWN_AGENT" {
                let message = message_of(&reply);
                assert!(message.contains(&unknown), "names the agent: {message}");
                assert!(
                    !message.contains(&carol_id),
                    "only the unknown one: {message}"
                );
            }
            if *reason == "INVALID_JSON_BODY" && body.contains("owner_type\":\"agent\"}") {
                assert!(message_of(&reply).contains("owner_id"), "{}", reply.body);
            }
        }
    }

    // Bad ids in paths.
    let bad_paths: Vec<(Method, String, Option<Value>, &str)> = vec![
        (Method::GET, format!("{CHATS}/not-a-uuid"), None, "id"),
        (Method::GET, format!("{TALKS}/123"), None, "id"),
        (
            Method::PUT,
            format!("{CHATS}/123"),
            Some(json!({"name": "x"})),
            "id",
        ),
        (
            Method::PUT,
            format!("{TALKS}/xyz"),
            Some(json!({"name": "x"})),
            "id",
        ),
        (Method::DELETE, format!("{CHATS}/xyz"), None, "id"),
        (Method::DELETE, format!("{TALKS}/xyz"), None, "id"),
        (Method::POST, format!("{CHATS}/xyz/join"), None, "id"),
        (Method::POST, format!("{TALKS}/xyz/join"), None, "id"),
        (Method::POST, format!("{TALKS}/xyz/leave"), None, "id"),
        (Method::POST, format!("{TALKS}/xyz/close"), None, "id"),
        (Method::POST, format!("{TALKS}/xyz/reopen"), None, "id"),
        (Method::GET, format!("{CHATS}/xyz/participants"), None, "id"),
        (Method::GET, format!("{TALKS}/xyz/participants"), None, "id"),
        (
            Method::POST,
            format!("{CHATS}/xyz/participants"),
            Some(json!({"owner_type": "agent", "owner_id": carol_id})),
            "id",
        ),
        (
            Method::POST,
            format!("{TALKS}/xyz/participants"),
            Some(json!({"agent_id": carol_id})),
            "id",
        ),
        (
            Method::DELETE,
            format!("{CHATS}/{g}/participants/nope"),
            None,
            "participant_id",
        ),
        (
            Method::DELETE,
            format!("{TALKS}/{g}/participants/nope"),
            None,
            "participant_id",
        ),
        (
            Method::DELETE,
            format!("{CHATS}/nope/participants/{bob_record}"),
            None,
            "id",
        ),
    ];
    for (method, path, body, field) in bad_paths {
        let reply = alice.call(method, &path, body).await?;
        assert_error(&reply, 400, "INVALID_ID");
        assert_eq!(
            message_of(&reply),
            format!("The provided {field} is not a valid UUID."),
            "{path}"
        );
    }

    // Update.
    let updates: Vec<(String, &str)> = vec![
        ("{}".into(), "MISSING_FIELD"),
        ("{bad".into(), "INVALID_JSON_BODY"),
        (String::new(), "INVALID_JSON_BODY"),
        (json!({"name": 3}).to_string(), "INVALID_JSON_BODY"),
        (json!({"detail": ["x"]}).to_string(), "INVALID_JSON_BODY"),
        (json!({"name": long_name}).to_string(), "FIELD_TOO_LONG"),
        (
            json!({"name": "ok", "detail": long_detail}).to_string(),
            "FIELD_TOO_LONG",
        ),
    ];
    for path in [format!("{CHATS}/{g}"), format!("{TALKS}/{g}")] {
        for (body, reason) in &updates {
            let reply = alice.raw(Method::PUT, &path, body).await?;
            assert_error(&reply, 400, reason);
        }
    }

    // Add participant.
    let adds: Vec<(String, String, &str)> = vec![
        (CHATS.into(), "{}".into(), "MISSING_FIELD"),
        (TALKS.into(), "{}".into(), "MISSING_FIELD"),
        (TALKS.into(), "nope".into(), "INVALID_JSON_BODY"),
        (TALKS.into(), String::new(), "INVALID_JSON_BODY"),
        (
            CHATS.into(),
            json!({"owner_id": 7}).to_string(),
            "INVALID_JSON_BODY",
        ),
        (
            TALKS.into(),
            json!({"agent_id": [carol_id]}).to_string(),
            "INVALID_JSON_BODY",
        ),
        (
            TALKS.into(),
            json!({"agent_id": "nope"}).to_string(),
            "INVALID_ID",
        ),
        (
            CHATS.into(),
            json!({"owner_type": "agent", "owner_id": "nope"}).to_string(),
            "INVALID_ID",
        ),
        (
            CHATS.into(),
            json!({"owner_type": "bot", "owner_id": carol_id}).to_string(),
            "INVALID_OWNER_TYPE",
        ),
        (
            TALKS.into(),
            json!({"agent_id": unknown}).to_string(),
            "UNKNOWN_AGENT",
        ),
        (
            CHATS.into(),
            json!({"owner_type": "agent", "owner_id": unknown}).to_string(),
            "UNKNOWN_AGENT",
        ),
    ];
    for (family, body, reason) in &adds {
        let reply = alice
            .raw(Method::POST, &format!("{family}/{g}/participants"), body)
            .await?;
        assert_error(&reply, 400, reason);
        if *reason == "UNKNOWN_AGENT" {
            assert!(message_of(&reply).contains(&unknown), "{}", reply.body);
        }
    }

    // Nothing changed: the same talks, the same talk, the same members, no messages.
    assert_eq!(my_talks(&alice).await?, vec![g.clone()]);
    assert_eq!(my_talks(&bob).await?, vec![g.clone()]);
    assert!(my_talks(&carol).await?.is_empty());
    assert!(walk(&carol, CHANNELS, 100).await?.is_empty());
    assert_eq!(alice.get(&format!("{CHATS}/{g}")).await?, g_before);
    assert_eq!(
        participant_agents(&alice, &g).await?,
        set(&[&alice_id, &bob_id])
    );
    let messages = alice.get(&format!("{TALKS}/{g}/messages")).await?;
    assert_eq!(messages["result"], json!([]));

    // The limits count characters, not bytes: 255 and 4,096 are fine.
    let at_limit = alice
        .post(
            CHATS,
            json!({"type": "group", "name": "é".repeat(255), "detail": "語".repeat(4096)}),
            200,
        )
        .await?;
    assert_eq!(
        at_limit["name"].as_str().map(|n| n.chars().count()),
        Some(255)
    );
    assert_eq!(
        at_limit["detail"].as_str().map(|d| d.chars().count()),
        Some(4096)
    );
    let renamed = put(
        &alice,
        &format!("{TALKS}/{g}"),
        json!({"name": "ü".repeat(255)}),
    )
    .await?;
    assert_eq!(renamed["detail"], "kept");
    cluster.stop().await;
    Ok(())
}
