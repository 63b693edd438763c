//! Edits, deletes and reactions: whose they are, and the events that announce them.

use reqwest::Method;
use serde_json::json;
use talk_e2e::client::assert_error;

use super::{
    WAIT, counts, frame_about, group, id, listen, message, react, reactions, reply, results, say,
    start, tally, texts, thread, unreact,
};

/// The author edits (history kept, others refused) and deletes (soft, text
/// and media cleared, once only); the talk hears of both on its sockets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_and_deletes_are_the_authors_and_are_announced() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let talk = group(&alice, "planning", &[&bob_id]).await?;
    let mut bobs_socket = listen(&cluster, &bob, &bob_id).await?;

    let original = say(&alice, &talk, "Meeting at 3pm").await?;
    let msg = id(&original);
    let edited = alice
        .call(
            Method::PUT,
            &format!("/v1.0/messages/{msg}"),
            Some(json!({"text": "Meeting at 4pm"})),
        )
        .await?
        .expect(200)?;
    assert_eq!(edited["text"], "Meeting at 4pm");
    assert_eq!(edited["tm_create"], original["tm_create"]);
    assert!(
        edited["tm_update"].as_str() > original["tm_update"].as_str(),
        "tm_update moves: {} -> {}",
        original["tm_update"],
        edited["tm_update"]
    );
    let frame = frame_about(&mut bobs_socket, "message_updated", &msg).await?;
    assert_eq!(frame["data"]["text"], "Meeting at 4pm");

    alice
        .call(
            Method::PUT,
            &format!("/v1.0/messages/{msg}"),
            Some(json!({"text": "Meeting at 4:30pm"})),
        )
        .await?
        .expect(200)?;
    let history = results(&bob.get(&format!("/v1.0/messages/{msg}/history")).await?);
    assert_eq!(texts(&history), ["Meeting at 3pm", "Meeting at 4pm"]);
    assert!(history.iter().all(|e| e["tm_edit"].is_string()));

    // Only the author edits; bad edits change nothing.
    let by_bob = bob
        .call(
            Method::PUT,
            &format!("/v1.0/messages/{msg}"),
            Some(json!({"text": "Meeting cancelled"})),
        )
        .await?;
    assert_error(&by_bob, 403, "NOT_MESSAGE_OWNER");
    let empty = alice
        .call(
            Method::PUT,
            &format!("/v1.0/messages/{msg}"),
            Some(json!({"text": "  "})),
        )
        .await?;
    assert_error(&empty, 400, "EMPTY_MESSAGE");
    let long = alice
        .call(
            Method::PUT,
            &format!("/v1.0/messages/{msg}"),
            Some(json!({"text": "a".repeat(20_001)})),
        )
        .await?;
    assert_error(&long, 400, "TEXT_TOO_LONG");
    let nobody = alice
        .call(
            Method::PUT,
            &format!("/v1.0/messages/{}", uuid::Uuid::new_v4()),
            Some(json!({"text": "hello?"})),
        )
        .await?;
    assert_error(&nobody, 404, "MESSAGE_NOT_FOUND");
    assert_eq!(message(&bob, &msg).await?["text"], "Meeting at 4:30pm");
    assert_eq!(
        results(&bob.get(&format!("/v1.0/messages/{msg}/history")).await?).len(),
        2
    );

    // Delete: author only, soft, the thread stays, once only.
    let answer = reply(&bob, &talk, &msg, "I'll book the room.").await?;
    let by_bob = bob
        .call(Method::DELETE, &format!("/v1.0/messages/{msg}"), None)
        .await?;
    assert_error(&by_bob, 403, "NOT_MESSAGE_OWNER");
    let deleted = alice
        .call(
            Method::DELETE,
            &format!("/v1.0/service_agents/talk_messages/{msg}"),
            None,
        )
        .await?
        .expect(200)?;
    assert_eq!(deleted["text"], "");
    assert!(deleted["tm_delete"].is_string());
    let frame = frame_about(&mut bobs_socket, "message_deleted", &msg).await?;
    assert_eq!(frame["data"]["text"], "");
    assert!(frame["data"]["tm_delete"].is_string());
    let again = alice
        .call(Method::DELETE, &format!("/v1.0/messages/{msg}"), None)
        .await?;
    assert_error(&again, 404, "MESSAGE_NOT_FOUND");
    let edit_deleted = alice
        .call(
            Method::PUT,
            &format!("/v1.0/messages/{msg}"),
            Some(json!({"text": "back from the dead"})),
        )
        .await?;
    assert_error(&edit_deleted, 404, "MESSAGE_NOT_FOUND");
    let kept = thread(&bob, &msg).await?;
    assert_eq!(texts(&kept), ["", "I'll book the room."]);
    assert_eq!(kept[1]["id"], answer["id"]);
    let seen = message(&bob, &msg).await?;
    assert_eq!(seen["text"], "");
    assert!(seen["tm_delete"].is_string());

    // Deleting clears media too.
    let with_file = alice
        .post(
            &format!("/v1.0/talks/{talk}/messages"),
            json!({"text": "slides", "medias": [{"type": "application/pdf", "url": "https://x.example/s.pdf", "name": "s.pdf"}]}),
            201,
        )
        .await?;
    let gone = alice
        .call(
            Method::DELETE,
            &format!("/v1.0/messages/{}", id(&with_file)),
            None,
        )
        .await?
        .expect(200)?;
    assert_eq!(gone["medias"], json!([]));
    assert_eq!(gone["text"], "");
    cluster.stop().await;
    Ok(())
}

/// Reactions: add by both families, once per agent and emoji, removal by the
/// seed's path and VoIPBIN's body, bad emoji refused; the talk hears of each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reactions_are_added_removed_and_announced() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (alice_id, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let talk = group(&alice, "lunch", &[&bob_id]).await?;
    let mut alices_socket = listen(&cluster, &alice, &alice_id).await?;
    let msg = id(&say(&alice, &talk, "Lunch at noon?").await?);

    let liked = react(&bob, &msg, "👍").await?;
    let entries = liked["metadata"]["reactions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["emoji"], "👍");
    assert_eq!(entries[0]["owner_type"], "agent");
    assert_eq!(entries[0]["owner_id"], bob_id.as_str());
    assert!(entries[0]["tm_create"].is_string());
    let frame = frame_about(&mut alices_socket, "reaction_added", &msg).await?;
    assert_eq!(tally(&frame["data"]), counts(&[("👍", 1)]));

    // Adding the same one again changes nothing and announces nothing: the
    // next reaction event is the next real change.
    let twice = react(&bob, &msg, "👍").await?;
    assert_eq!(reactions(&twice), reactions(&liked));
    let pizza = bob
        .post(
            &format!("/v1.0/service_agents/talk_messages/{msg}/reactions"),
            json!({"emoji": "🍕"}),
            200,
        )
        .await?;
    assert_eq!(tally(&pizza), counts(&[("👍", 1), ("🍕", 1)]));
    let frame = alices_socket.expect("reaction_added", WAIT).await?;
    assert_eq!(
        tally(&frame["data"]),
        counts(&[("👍", 1), ("🍕", 1)]),
        "no second event for the duplicate"
    );
    // A shortcode is stored as its emoji.
    let short = react(&alice, &msg, ":tada:").await?;
    assert_eq!(tally(&short), counts(&[("👍", 1), ("🍕", 1), ("🎉", 1)]));

    // Bad emoji: 400 on both families, nothing changes.
    for bad in [
        "yummy",
        ":not_an_emoji:",
        "",
        "👍 and more",
        "notanemoji_xyz",
    ] {
        let seed = bob
            .call(
                Method::POST,
                &format!("/v1.0/messages/{msg}/reactions"),
                Some(json!({"emoji": bad})),
            )
            .await?;
        assert_error(&seed, 400, "INVALID_EMOJI");
        let voipbin = bob
            .call(
                Method::POST,
                &format!("/v1.0/service_agents/talk_messages/{msg}/reactions"),
                Some(json!({"emoji": bad})),
            )
            .await?;
        assert_error(&voipbin, 400, "INVALID_EMOJI");
    }
    assert_eq!(reactions(&message(&alice, &msg).await?), reactions(&short));

    // Removing: Alice cannot remove Bob's 👍 (she has none); Bob can.
    let not_hers = unreact(&alice, &msg, "👍").await?;
    assert_error(&not_hers, 404, "REACTION_NOT_FOUND");
    let removed = unreact(&bob, &msg, "👍").await?.expect(200)?;
    assert_eq!(tally(&removed), counts(&[("🍕", 1), ("🎉", 1)]));
    let frame = frame_about(&mut alices_socket, "reaction_removed", &msg).await?;
    assert_eq!(tally(&frame["data"]), counts(&[("🍕", 1), ("🎉", 1)]));
    let removed = alice
        .call(
            Method::DELETE,
            &format!("/v1.0/messages/{msg}/reactions/:tada:"),
            None,
        )
        .await?
        .expect(200)?;
    assert_eq!(tally(&removed), counts(&[("🍕", 1)]));
    let removed = bob
        .call(
            Method::DELETE,
            &format!("/v1.0/service_agents/talk_messages/{msg}/reactions"),
            Some(json!({"emoji": "🍕"})),
        )
        .await?
        .expect(200)?;
    assert_eq!(
        removed["metadata"],
        json!({"reactions": [], "reaction_counts": []})
    );
    assert_error(&unreact(&bob, &msg, "🍕").await?, 404, "REACTION_NOT_FOUND");
    assert_error(&unreact(&bob, &msg, "nope").await?, 400, "INVALID_EMOJI");

    // A deleted message takes no reactions.
    alice
        .call(Method::DELETE, &format!("/v1.0/messages/{msg}"), None)
        .await?
        .expect(200)?;
    let on_deleted = bob
        .call(
            Method::POST,
            &format!("/v1.0/messages/{msg}/reactions"),
            Some(json!({"emoji": "👍"})),
        )
        .await?;
    assert_error(&on_deleted, 404, "MESSAGE_NOT_FOUND");
    cluster.stop().await;
    Ok(())
}
