//! Close, reopen and auto-close, and the 409 TALK_CLOSED of a closed talk.

use anyhow::Context;
use reqwest::Method;
use serde_json::{Value, json};
use talk_e2e::client::assert_error;

use super::{
    CHANNELS, CHATS, TALKS, delete, id_of, me, members, my_talks, participant_agents, start, walk,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_reopen_and_auto_close_with_409_talk_closed() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (carol_id, carol) = admin.create_agent("carol", "Carol").await?;
    let (_, dave) = admin.create_agent("dave", "Dave").await?;

    let group = alice
        .post(
            TALKS,
            json!({"type": "group", "name": "ops", "participant_ids": [bob_id]}),
            201,
        )
        .await?;
    let g = id_of(&group);

    // Only owners, moderators and admins close a talk (docs/DOMAIN.md, "Roles").
    let outsider = carol
        .call(Method::POST, &format!("{TALKS}/{g}/close"), None)
        .await?;
    assert_error(&outsider, 403, "PERMISSION_DENIED");

    let closed = alice
        .post(&format!("{TALKS}/{g}/close"), json!(null), 200)
        .await?;
    assert_eq!(closed["state"], "closed");
    assert_eq!(closed["member_count"], 2);
    assert_eq!(bob.get(&format!("{CHATS}/{g}")).await?["state"], "closed");
    let twice = alice
        .call(Method::POST, &format!("{TALKS}/{g}/close"), None)
        .await?;
    assert_error(&twice, 409, "TALK_ALREADY_CLOSED");

    // A closed talk takes no new participants and no new messages, in either family.
    let add_voipbin = alice
        .call(
            Method::POST,
            &format!("{CHATS}/{g}/participants"),
            Some(json!({"owner_type": "agent", "owner_id": carol_id})),
        )
        .await?;
    assert_error(&add_voipbin, 409, "TALK_CLOSED");
    let add_seed = bob
        .call(
            Method::POST,
            &format!("{TALKS}/{g}/participants"),
            Some(json!({"agent_id": carol_id})),
        )
        .await?;
    assert_error(&add_seed, 409, "TALK_CLOSED");
    let post_seed = alice
        .call(
            Method::POST,
            &format!("{TALKS}/{g}/messages"),
            Some(json!({"text": "anyone?"})),
        )
        .await?;
    assert_error(&post_seed, 409, "TALK_CLOSED");
    let post_voipbin = bob
        .call(
            Method::POST,
            "/v1.0/service_agents/talk_messages",
            Some(json!({"chat_id": g, "type": "normal", "text": "anyone?"})),
        )
        .await?;
    assert_error(&post_voipbin, 409, "TALK_CLOSED");
    assert_eq!(
        participant_agents(&alice, &g).await?.len(),
        2,
        "nobody was added"
    );
    assert_eq!(members(&alice.get(&format!("{TALKS}/{g}")).await?), 2);
    let normal = |page: &Value| {
        page["result"]
            .as_array()
            .map_or(0, |r| r.iter().filter(|m| m["type"] == "normal").count())
    };
    assert_eq!(
        normal(&alice.get(&format!("{TALKS}/{g}/messages")).await?),
        0,
        "nothing was posted"
    );

    // Reopen (an owner, a moderator or an admin; not a plain member), then
    // everything works again.
    let member = bob
        .call(Method::POST, &format!("{TALKS}/{g}/reopen"), None)
        .await?;
    assert_error(&member, 403, "PERMISSION_DENIED");
    let reopened = alice
        .post(&format!("{TALKS}/{g}/reopen"), json!(null), 200)
        .await?;
    assert_eq!(reopened["state"], "active");
    let again = alice
        .call(Method::POST, &format!("{TALKS}/{g}/reopen"), None)
        .await?;
    assert_error(&again, 409, "TALK_NOT_CLOSED");
    alice
        .post(
            &format!("{TALKS}/{g}/messages"),
            json!({"text": "back"}),
            201,
        )
        .await?;
    bob.post(
        "/v1.0/service_agents/talk_messages",
        json!({"chat_id": g, "type": "normal", "text": "yes"}),
        200,
    )
    .await?;
    alice
        .post(
            &format!("{CHATS}/{g}/participants"),
            json!({"owner_type": "agent", "owner_id": carol_id}),
            200,
        )
        .await?;
    assert_eq!(members(&carol.get(&format!("{CHATS}/{g}")).await?), 3);

    // A closed public talk cannot be joined, by either family's join or by adding oneself.
    let channel = alice
        .post(CHATS, json!({"type": "talk", "name": "lobby"}), 200)
        .await?;
    let c = id_of(&channel);
    alice
        .post(&format!("{TALKS}/{c}/close"), json!(null), 200)
        .await?;
    let join_voipbin = dave
        .call(Method::POST, &format!("{CHATS}/{c}/join"), None)
        .await?;
    assert_error(&join_voipbin, 409, "TALK_CLOSED");
    let join_seed = dave
        .call(Method::POST, &format!("{TALKS}/{c}/join"), None)
        .await?;
    assert_error(&join_seed, 409, "TALK_CLOSED");
    let me_dave = me(&dave).await?;
    let self_add = dave
        .call(
            Method::POST,
            &format!("{CHATS}/{c}/participants"),
            Some(json!({"owner_type": "agent", "owner_id": me_dave["id"]})),
        )
        .await?;
    assert_error(&self_add, 409, "TALK_CLOSED");
    assert_eq!(members(&dave.get(&format!("{CHATS}/{c}")).await?), 1);
    alice
        .post(&format!("{TALKS}/{c}/reopen"), json!(null), 200)
        .await?;
    dave.post(&format!("{CHATS}/{c}/join"), json!(null), 200)
        .await?;
    assert_eq!(members(&dave.get(&format!("{CHATS}/{c}")).await?), 2);

    // Auto-close: when the last participant leaves, the talk closes by itself.
    let public = alice
        .post(TALKS, json!({"type": "talk", "name": "fading"}), 201)
        .await?;
    let p = id_of(&public);
    bob.post(&format!("{TALKS}/{p}/join"), json!(null), 200)
        .await?;
    let left = alice
        .post(&format!("{TALKS}/{p}/leave"), json!(null), 200)
        .await?;
    assert_eq!(left["state"], "left");
    let still = carol.get(&format!("{CHATS}/{p}")).await?;
    assert_eq!(still["state"], "active", "one member is left");
    assert_eq!(members(&still), 1);
    let list = bob.get(&format!("{CHATS}/{p}/participants")).await?;
    let bob_record = list
        .as_array()
        .and_then(|l| l.iter().find(|r| r["owner_id"] == bob_id.as_str()))
        .map(id_of)
        .context("bob is a participant")?;
    let gone = delete(&bob, &format!("{CHATS}/{p}/participants/{bob_record}")).await?;
    assert_eq!(gone.status, 200);
    let auto = carol.get(&format!("{CHATS}/{p}")).await?;
    assert_eq!(auto["state"], "closed", "{auto}");
    assert!(
        auto.get("member_count").is_none(),
        "member_count 0 is omitted: {auto}"
    );
    assert_eq!(
        carol.get(&format!("{CHATS}/{p}/participants")).await?,
        json!([])
    );
    let channels = walk(&carol, CHANNELS, 100).await?;
    let listed = channels
        .iter()
        .find(|t| id_of(t) == p)
        .context("an auto-closed public talk is still a channel")?;
    assert_eq!(listed["state"], "closed");
    let reopen = carol
        .call(Method::POST, &format!("{TALKS}/{p}/reopen"), None)
        .await?;
    assert_error(&reopen, 403, "PERMISSION_DENIED");
    // Abandoned: the next agent who joins revives it and owns it.
    let late = carol
        .post(&format!("{CHATS}/{p}/join"), json!(null), 200)
        .await?;
    assert_eq!(late["role"], "owner", "{late}");
    let revived = carol.get(&format!("{CHATS}/{p}")).await?;
    assert_eq!(
        (revived["state"].as_str(), members(&revived)),
        (Some("active"), 1)
    );

    // A private talk auto-closes too; nobody is left to see it.
    let pair = alice
        .post(
            TALKS,
            json!({"type": "group", "participant_ids": [bob_id]}),
            201,
        )
        .await?;
    let q = id_of(&pair);
    alice
        .post(&format!("{TALKS}/{q}/leave"), json!(null), 200)
        .await?;
    assert_eq!(members(&bob.get(&format!("{TALKS}/{q}")).await?), 1);
    bob.post(&format!("{TALKS}/{q}/leave"), json!(null), 200)
        .await?;
    let hidden = bob.call(Method::GET, &format!("{TALKS}/{q}"), None).await?;
    assert_error(&hidden, 403, "PERMISSION_DENIED");
    assert!(!my_talks(&bob).await?.contains(&q));
    cluster.stop().await;
    Ok(())
}
