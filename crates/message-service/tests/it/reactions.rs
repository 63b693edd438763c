//! Reactions: validation, one per (agent, emoji), the distinct cap, removal and concurrency.

use talk_proto::{Message, ReactionRequest};
use talk_types::ApiError;

use crate::harness::{Harness, api, assert_err};

async fn react(h: &Harness, agent: &str, message: &str, emoji: &str) -> Result<Message, ApiError> {
    let request = talk_runtime::grpc::acting(
        h.caller(agent),
        ReactionRequest {
            options: None,
            message_id: message.to_owned(),
            emoji: emoji.to_owned(),
        },
    );
    api(h.client.clone().add_reaction(request).await)
}

async fn unreact(
    h: &Harness,
    agent: &str,
    message: &str,
    emoji: &str,
) -> Result<Message, ApiError> {
    let request = talk_runtime::grpc::acting(
        h.caller(agent),
        ReactionRequest {
            options: None,
            message_id: message.to_owned(),
            emoji: emoji.to_owned(),
        },
    );
    api(h.client.clone().remove_reaction(request).await)
}

#[tokio::test]
async fn a_quick_decision_counted_by_thumbs() {
    let h = Harness::start().await;
    let (alice, bob, carol) = (h.agent(), h.agent(), h.agent());
    let talk = h.talk("group", &[&alice, &bob, &carol]);
    let question = h.post(&alice, &talk, "Lunch at noon?").await.unwrap();

    react(&h, &bob, &question.id, "👍").await.unwrap();
    react(&h, &carol, &question.id, ":thumbsup:").await.unwrap();
    let after = react(&h, &alice, &question.id, "thumbsdown").await.unwrap();
    assert_eq!(after.reactions.len(), 3);
    let emoji: Vec<&str> = after.reactions.iter().map(|r| r.emoji.as_str()).collect();
    assert_eq!(emoji, ["👍", "👍", "👎"], "stored as the Unicode emoji");
    assert_eq!(after.reactions[0].owner_id, bob);
    assert_eq!(after.reactions[0].owner_type, "agent");
    assert!(after.reactions[0].tm_create > 0);
    assert!(after.tm_update > question.tm_update);
    assert!(after.change_seq > question.change_seq);

    // Adding again, in any spelling, is a no-op that returns the message.
    for again in ["👍", "+1", ":+1:", "thumbsup", "👍\u{FE0F}"] {
        let same = react(&h, &bob, &question.id, again).await.unwrap();
        assert_eq!(same.reactions.len(), 3, "{again}");
        assert_eq!(same.change_seq, after.change_seq);
    }

    let removed = unreact(&h, &alice, &question.id, ":-1:").await.unwrap();
    assert_eq!(removed.reactions.len(), 2);
    assert_err(
        unreact(&h, &alice, &question.id, "👎").await,
        404,
        "REACTION_NOT_FOUND",
    );
    assert_err(
        unreact(&h, &alice, &question.id, "🎉").await,
        404,
        "REACTION_NOT_FOUND",
    );

    for bad in [
        "nope",
        ":not_an_emoji:",
        "",
        "👍 and text",
        "12",
        "<b>",
        "notanemoji_xyz",
    ] {
        assert_err(
            react(&h, &bob, &question.id, bad).await,
            400,
            "INVALID_EMOJI",
        );
    }
    assert_err(react(&h, &bob, "not-a-uuid", "👍").await, 400, "INVALID_ID");
    assert_err(
        react(&h, &bob, &uuid::Uuid::new_v4().to_string(), "👍").await,
        404,
        "MESSAGE_NOT_FOUND",
    );
    h.stop().await;
}

#[tokio::test]
async fn twenty_concurrent_reactions_all_land() {
    let h = Harness::start().await;
    let agents: Vec<String> = (0..20).map(|_| h.agent()).collect();
    let refs: Vec<&str> = agents.iter().map(String::as_str).collect();
    let talk = h.talk("group", &refs);
    let message = h.post(&agents[0], &talk, "react!").await.unwrap();
    let emoji = ["👍", "🎉", "❤️", "🚀"];
    let adds = agents
        .iter()
        .enumerate()
        .map(|(i, agent)| react(&h, agent, &message.id, emoji[i % emoji.len()]));
    for result in futures_util::future::join_all(adds).await {
        result.unwrap();
    }
    let read = talk_runtime::grpc::acting(
        h.caller(&agents[0]),
        talk_proto::MessageRef {
            message_id: message.id.clone(),
        },
    );
    let message = api(h.client.clone().get_message(read).await).unwrap();
    assert_eq!(message.reactions.len(), 20);
    let owners: std::collections::HashSet<_> =
        message.reactions.iter().map(|r| &r.owner_id).collect();
    assert_eq!(owners.len(), 20);
    h.stop().await;
}

#[tokio::test]
async fn at_most_fifty_distinct_emoji() {
    let h = Harness::start().await;
    let (alice, bob) = (h.agent(), h.agent());
    let talk = h.talk("group", &[&alice, &bob]);
    let message = h.post(&alice, &talk, "so many feelings").await.unwrap();
    let faces: Vec<String> = (0x1F600u32..0x1F633)
        .filter_map(char::from_u32)
        .map(String::from)
        .collect();
    for face in &faces[..50] {
        react(&h, &alice, &message.id, face).await.unwrap();
    }
    assert_err(
        react(&h, &alice, &message.id, &faces[50]).await,
        400,
        "TOO_MANY_REACTIONS",
    );
    // An emoji already there can still be added by someone else.
    let message = react(&h, &bob, &message.id, &faces[0]).await.unwrap();
    assert_eq!(message.reactions.len(), 51);
    h.stop().await;
}

/// Reactions stored as sent by an earlier version (`:thumbsup:` beside `👍`,
/// `❤` without its selector, a short name no table knows) become one
/// reaction per emoji when the upgrade's migration runs.
async fn stored_spellings_are_merged_on_upgrade(mut h: Harness) {
    use message_service::db::entities::reaction;
    use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};

    let (alice, bob) = (h.agent(), h.agent());
    let talk = h.talk("group", &[&alice, &bob]);
    let message = h.post(&alice, &talk, "legacy").await.unwrap();
    react(&h, &bob, &message.id, "👍").await.unwrap();
    h.halt().await;

    let db = talk_store::connect(&h.config.database_url, "message", 1)
        .await
        .unwrap();
    for (owner, emoji) in [
        (&alice, ":thumbsup:"),
        (&bob, ":+1:"),
        (&alice, "❤"),
        (&bob, ":shipit:"),
    ] {
        let row = reaction::ActiveModel {
            message_id: Set(message.id.parse().unwrap()),
            owner_id: Set(owner.parse().unwrap()),
            emoji: Set(emoji.to_owned()),
            tm_create: Set(talk_types::time::now()),
            ..Default::default()
        };
        reaction::Entity::insert(row)
            .exec_without_returning(&db)
            .await
            .unwrap();
    }
    db.execute_unprepared(
        "DELETE FROM seaql_migrations WHERE version = 'm0003_07_message_reaction_emoji'",
    )
    .await
    .unwrap();
    db.close().await.unwrap();
    h.boot().await;

    let message = react(&h, &alice, &message.id, "thumbsup").await.unwrap();
    let stored: Vec<(&str, &str)> = message
        .reactions
        .iter()
        .map(|r| (r.emoji.as_str(), r.owner_id.as_str()))
        .collect();
    assert_eq!(
        stored,
        [
            ("👍", bob.as_str()),
            ("👍", alice.as_str()),
            ("❤\u{FE0F}", alice.as_str()),
            (":shipit:", bob.as_str()),
        ],
        "bob's :+1: was his 👍 again"
    );
    // A value no table knows is still removable by its owner.
    let message = unreact(&h, &bob, &message.id, ":shipit:").await.unwrap();
    assert_eq!(message.reactions.len(), 3);
    h.stop().await;
}

#[tokio::test]
async fn stored_spellings_are_merged_on_upgrade_postgres() {
    stored_spellings_are_merged_on_upgrade(Harness::start().await).await;
}

#[tokio::test]
async fn stored_spellings_are_merged_on_upgrade_sqlite() {
    stored_spellings_are_merged_on_upgrade(Harness::start_sqlite().await).await;
}
