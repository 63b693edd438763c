//! JSON shapes and status codes of both families.

use super::*;

#[tokio::test]
async fn talk_shapes_and_statuses() {
    let edge = start().await;
    let page = edge
        .call(Method::GET, "/v1.0/service_agents/talk_chats", None)
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.body.as_object().expect("object").len(),
        2,
        "{}",
        page.text
    );
    assert_eq!(page.body["next_page_token"], "2026-01-15T09:30:00.123456Z");
    let talk = &page.body["result"][0];
    assert_eq!(
        talk["unread_count"], 2,
        "unread_count comes from message-service"
    );
    assert!(
        talk.get("name").is_none() && talk.get("detail").is_none(),
        "empty fields are omitted: {talk}"
    );
    assert_eq!(talk["tm_create"], "2026-01-15T09:30:00.123456Z");
    assert_eq!(talk["tm_delete"], Value::Null);

    let voipbin = edge
        .call(Method::POST, "/v1.0/service_agents/talk_chats", Some(json!({"type": "direct", "participants": [{"owner_type": "agent", "owner_id": OTHER}]})))
        .await;
    assert_eq!(voipbin.status, 200, "VoIPBIN creates answer 200");
    assert_eq!(voipbin.body["id"], TALK);
    let seed = edge
        .call(
            Method::POST,
            "/v1.0/talks",
            Some(json!({"name": "t", "participant_ids": [OTHER]})),
        )
        .await;
    assert_eq!(seed.status, 201, "seed creates answer 201");
    assert_eq!(
        edge.recorder.last("CreateTalk").expect("call").detail,
        format!("agent:{OTHER}")
    );

    let participants = edge
        .call(
            Method::GET,
            &format!("/v1.0/service_agents/talk_chats/{TALK}/participants"),
            None,
        )
        .await;
    assert!(
        participants.body.is_array(),
        "bare array: {}",
        participants.text
    );
    let removed = edge
        .call(
            Method::DELETE,
            &format!("/v1.0/service_agents/talk_chats/{TALK}/participants/{OTHER}"),
            None,
        )
        .await;
    assert_eq!(removed.status, 200);
    assert_eq!(removed.text, "null");
    let seed_removed = edge
        .call(
            Method::DELETE,
            &format!("/v1.0/talks/{TALK}/participants/{OTHER}"),
            None,
        )
        .await;
    assert_eq!(seed_removed.body["state"], "left");
    let added = edge
        .call(
            Method::POST,
            &format!("/v1.0/talks/{TALK}/participants"),
            Some(json!({"agent_id": OTHER})),
        )
        .await;
    assert_eq!(added.status, 201);
    let added = edge
        .call(
            Method::POST,
            &format!("/v1.0/service_agents/talk_chats/{TALK}/participants"),
            Some(json!({"owner_type": "agent", "owner_id": OTHER})),
        )
        .await;
    assert_eq!(added.status, 200);
    let read = edge
        .call(
            Method::POST,
            &format!("/v1.0/talks/{TALK}/read"),
            Some(json!({"seq": 2})),
        )
        .await;
    assert_eq!(
        read.body,
        json!({"chat_id": TALK, "last_read_seq": 2, "last_seq": 3, "unread_count": 1})
    );
}

#[tokio::test]
async fn message_shapes_and_statuses() {
    let edge = start().await;
    let posted = edge
        .call(
            Method::POST,
            "/v1.0/service_agents/talk_messages",
            Some(json!({"chat_id": TALK, "type": "normal", "text": "hi", "parent_id": "", "medias": [
                {"type": "file", "file_id": OTHER, "agent_id": "00000000-0000-0000-0000-000000000000", "address": {}},
                {"type": "image/png", "url": "https://x.example/a.png", "name": "a.png"}
            ]})),
        )
        .await;
    assert_eq!(posted.status, 200, "{}", posted.text);
    assert!(
        posted.body.get("parent_id").is_none(),
        "top-level messages have no parent_id"
    );
    assert_eq!(
        posted.body["metadata"],
        json!({"reactions": [], "reaction_counts": []})
    );
    let detail = edge.recorder.last("PostMessage").expect("call").detail;
    assert!(
        detail.contains("parent=None")
            && detail.contains("agent_id: None")
            && detail.contains("address: None"),
        "{detail}"
    );
    let seed = edge
        .call(
            Method::POST,
            &format!("/v1.0/talks/{TALK}/messages"),
            Some(json!({"text": "yo"})),
        )
        .await;
    assert_eq!(seed.status, 201);
    assert_eq!(seed.body["text"], "yo");

    let page = edge
        .call(
            Method::GET,
            &format!("/v1.0/service_agents/talk_messages?chat_id={TALK}&page_size=5"),
            None,
        )
        .await;
    assert_eq!(page.body["next_page_token"], "2026-01-15T09:30:00.123456Z");
    assert_eq!(page.body["result"][0]["id"], MESSAGE);
    let changes = edge
        .call(
            Method::GET,
            &format!("/v1.0/talks/{TALK}/messages?after_seq=4"),
            None,
        )
        .await;
    assert_eq!(
        changes.body.as_object().expect("object").len(),
        1,
        "{}",
        changes.text
    );
    assert_eq!(changes.body["result"][0]["text"], "changed");
    assert_eq!(edge.recorder.last("ListChanges").expect("call").detail, "4");
    let listed = edge
        .call(Method::GET, &format!("/v1.0/talks/{TALK}/messages"), None)
        .await;
    assert!(listed.body.get("next_page_token").is_some());

    let history = edge
        .call(
            Method::GET,
            &format!("/v1.0/messages/{MESSAGE}/history"),
            None,
        )
        .await;
    assert_eq!(history.body["result"][0]["text"], "before");
    let thread = edge
        .call(
            Method::GET,
            &format!("/v1.0/messages/{MESSAGE}/thread"),
            None,
        )
        .await;
    assert_eq!(thread.body["result"][0]["text"], "root");
    let edited = edge
        .call(
            Method::PUT,
            &format!("/v1.0/messages/{MESSAGE}"),
            Some(json!({"text": "new"})),
        )
        .await;
    assert_eq!(edited.body["text"], "new");

    let reacted = edge
        .call(
            Method::POST,
            &format!("/v1.0/messages/{MESSAGE}/reactions"),
            Some(json!({"emoji": "👍"})),
        )
        .await;
    assert_eq!(reacted.status, 200);
    let removed = edge
        .call(
            Method::DELETE,
            &format!("/v1.0/messages/{MESSAGE}/reactions/%F0%9F%91%8D"),
            None,
        )
        .await;
    assert_eq!(removed.status, 200, "{}", removed.text);
    assert_eq!(
        edge.recorder.last("RemoveReaction").expect("call").detail,
        "👍"
    );
    let body_removed = edge
        .call(
            Method::DELETE,
            &format!("/v1.0/service_agents/talk_messages/{MESSAGE}/reactions"),
            Some(json!({"emoji": ":tada:"})),
        )
        .await;
    assert_eq!(body_removed.status, 200);
    assert_eq!(
        edge.recorder.last("RemoveReaction").expect("call").detail,
        ":tada:"
    );
}

#[tokio::test]
async fn openapi_lists_every_route() {
    let edge = start().await;
    let spec = edge
        .send(edge.http.get(format!("{}/openapi.json", edge.base)))
        .await;
    assert_eq!(spec.status, 200);
    let paths = spec.body["paths"].as_object().expect("paths");
    for path in [
        "/auth/login",
        "/v1.0/service_agents/talk_chats",
        "/v1.0/service_agents/talk_chats/{id}/participants/{participant_id}",
        "/v1.0/service_agents/talk_messages",
        "/v1.0/talks/{id}/messages",
        "/v1.0/messages/{id}/reactions/{emoji}",
        "/v1.0/agents/{id}",
    ] {
        assert!(paths.contains_key(path), "{path} missing");
    }
    assert!(paths["/v1.0/talks/{id}"].get("put").is_some());
    assert!(spec.body["components"]["schemas"]["Talk"].is_object());
    assert!(spec.body["components"]["schemas"]["CreateTalkBody"].is_object());
}
