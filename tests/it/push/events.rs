//! Every event type caused over REST, with its REST shape, in the seed's and VoIPBIN's naming.

use anyhow::Context;
use reqwest::Method;
use serde_json::{Value, json};
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::{Api, Cluster, Socket};

use super::{SERVICES, cursor, id_of, is_system, next, subscribed};

/// Bob's two sockets on one subscription: seed naming and `?events=voipbin`.
struct Both {
    seed: Socket,
    voipbin: Socket,
}

impl Both {
    /// The next event on both sockets (system messages, which the services
    /// write asynchronously, are skipped): named `seed` and `voipbin`, with the
    /// same data, topic and cursor on both. Returns the seed frame.
    async fn next(&mut self, seed: &str, voipbin: &str) -> anyhow::Result<Value> {
        let a = Self::next_event(&mut self.seed).await?;
        let b = Self::next_event(&mut self.voipbin).await?;
        assert_eq!(a["type"], seed, "seed naming: {a}");
        assert_eq!(b["type"], voipbin, "voipbin naming: {b}");
        assert_eq!(a["data"], b["data"], "both namings carry the same data");
        assert_eq!(a["topic"], b["topic"]);
        assert_eq!(a["cursor"], b["cursor"]);
        Ok(a)
    }

    async fn next_event(socket: &mut Socket) -> anyhow::Result<Value> {
        loop {
            let frame = next(socket).await?;
            if !is_system(&frame) {
                return Ok(frame);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_caused_over_rest_arrives_in_both_namings() -> anyhow::Result<()> {
    let cluster = Cluster::start(SERVICES).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let (alice_id, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (carol_id, _carol) = admin.create_agent("carol", "Carol").await?;
    let topics = [format!("agent_id:{bob_id}:chat")];
    let mut both = Both {
        seed: subscribed(&cluster.push, &bob, "", &topics).await?,
        voipbin: subscribed(&cluster.push, &bob, "events=voipbin", &topics).await?,
    };
    let mut cursors = Vec::new();

    // Creation: Bob's own participant_joined (it makes him a member), then talk_created.
    let talk = alice
        .post(
            "/v1.0/talks",
            json!({"type": "group", "name": "ops", "participant_ids": [bob_id]}),
            201,
        )
        .await?;
    let talk_id = id_of(&talk);
    let topic = format!("agent_id:{bob_id}:chat:{talk_id}");
    let joined = both
        .next("participant_joined", "chatparticipant_added")
        .await?;
    assert_eq!(joined["topic"], topic.as_str());
    assert_eq!(joined["data"]["owner_id"], bob_id.as_str());
    assert_eq!(joined["data"]["owner_type"], "agent");
    assert_eq!(joined["data"]["chat_id"], talk_id.as_str());
    let participants = alice
        .get(&format!("/v1.0/talks/{talk_id}/participants"))
        .await?;
    let bob_participant = participants
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["owner_id"] == bob_id.as_str())
        .context("bob is not listed")?;
    assert_eq!(&joined["data"], bob_participant);
    cursors.push(cursor(&joined));
    let created = both.next("talk_created", "chat_created").await?;
    assert_eq!(created["data"]["id"], talk_id.as_str());
    assert_eq!(created["data"]["name"], "ops");
    assert_eq!(created["data"]["type"], "group");
    assert_eq!(created["data"]["member_count"], 2);
    assert_eq!(created["data"], talk);
    cursors.push(cursor(&created));

    let updated = alice
        .call(
            Method::PUT,
            &format!("/v1.0/talks/{talk_id}"),
            Some(json!({"name": "ops, renamed", "detail": "on call"})),
        )
        .await?
        .expect(200)?;
    let frame = both.next("talk_updated", "chat_updated").await?;
    assert_eq!(frame["data"], updated);
    assert_eq!(frame["data"]["name"], "ops, renamed");
    assert_eq!(frame["data"]["detail"], "on call");
    assert_eq!(frame["data"]["tm_update"], updated["tm_update"]);
    cursors.push(cursor(&frame));

    let added = alice
        .post(
            &format!("/v1.0/talks/{talk_id}/participants"),
            json!({"agent_id": carol_id}),
            201,
        )
        .await?;
    let frame = both
        .next("participant_joined", "chatparticipant_added")
        .await?;
    assert_eq!(frame["data"], added);
    assert_eq!(frame["data"]["owner_id"], carol_id.as_str());
    cursors.push(cursor(&frame));

    // A role change (Talk's own event; VoIPBIN participants have no role).
    let carol_participant = id_of(&added);
    let promoted = alice
        .call(
            Method::PUT,
            &format!("/v1.0/talks/{talk_id}/participants/{carol_participant}"),
            Some(json!({"role": "moderator"})),
        )
        .await?
        .expect(200)?;
    let frame = both
        .next("participant_updated", "chatparticipant_updated")
        .await?;
    assert_eq!(frame["data"], promoted);
    assert_eq!(frame["data"]["role"], "moderator");
    cursors.push(cursor(&frame));

    // Messages, through both path families.
    let posted = alice
        .post(
            "/v1.0/service_agents/talk_messages",
            json!({"chat_id": talk_id, "type": "normal", "text": "hello"}),
            200,
        )
        .await?;
    let message_id = id_of(&posted);
    let frame = both.next("message_created", "chatmessage_created").await?;
    assert_eq!(frame["data"], posted);
    assert_eq!(frame["data"]["text"], "hello");
    assert_eq!(frame["data"]["owner_id"], alice_id.as_str());
    assert_eq!(frame["topic"], topic.as_str());
    cursors.push(cursor(&frame));

    let edited = alice
        .call(
            Method::PUT,
            &format!("/v1.0/messages/{message_id}"),
            Some(json!({"text": "hello, edited"})),
        )
        .await?
        .expect(200)?;
    let frame = both.next("message_updated", "chatmessage_updated").await?;
    assert_eq!(frame["data"], edited);
    assert_eq!(frame["data"]["text"], "hello, edited");
    cursors.push(cursor(&frame));

    // A reaction event carries the whole message, with its reactions.
    let reacted = alice
        .post(
            &format!("/v1.0/service_agents/talk_messages/{message_id}/reactions"),
            json!({"emoji": "👍"}),
            200,
        )
        .await?;
    let frame = both
        .next("reaction_added", "chatmessage_reaction_updated")
        .await?;
    // Alice's answer, `me` aside: the sockets are Bob's, who did not react.
    let mut seen_by_bob = reacted.clone();
    seen_by_bob["metadata"]["reaction_counts"][0]["me"] = json!(false);
    assert_eq!(reacted["metadata"]["reaction_counts"][0]["me"], true);
    assert_eq!(frame["data"], seen_by_bob);
    assert_eq!(frame["data"]["id"], message_id.as_str());
    assert_eq!(frame["data"]["text"], "hello, edited");
    assert_eq!(frame["data"]["metadata"]["reactions"][0]["emoji"], "👍");
    assert_eq!(
        frame["data"]["metadata"]["reactions"][0]["owner_id"],
        alice_id.as_str()
    );
    cursors.push(cursor(&frame));
    let unreacted = alice
        .call(
            Method::DELETE,
            &format!("/v1.0/messages/{message_id}/reactions/%F0%9F%91%8D"),
            None,
        )
        .await?
        .expect(200)?;
    let frame = both
        .next("reaction_removed", "chatmessage_reaction_updated")
        .await?;
    assert_eq!(frame["data"], unreacted);
    assert_eq!(frame["data"]["text"], "hello, edited");
    assert_eq!(frame["data"]["metadata"]["reactions"], json!([]));
    cursors.push(cursor(&frame));

    let deleted = alice
        .call(
            Method::DELETE,
            &format!("/v1.0/service_agents/talk_messages/{message_id}"),
            None,
        )
        .await?
        .expect(200)?;
    let frame = both.next("message_deleted", "chatmessage_deleted").await?;
    assert_eq!(frame["data"], deleted);
    assert_eq!(frame["data"]["id"], message_id.as_str());
    assert!(frame["data"]["tm_delete"].is_string(), "{frame}");
    cursors.push(cursor(&frame));

    let removed = alice
        .call(
            Method::DELETE,
            &format!("/v1.0/talks/{talk_id}/participants/{}", id_of(&added)),
            None,
        )
        .await?
        .expect(200)?;
    let frame = both
        .next("participant_left", "chatparticipant_removed")
        .await?;
    assert_eq!(frame["data"], removed);
    assert_eq!(frame["data"]["owner_id"], carol_id.as_str());
    assert!(frame["data"]["tm_left"].is_string(), "{frame}");
    cursors.push(cursor(&frame));

    // Close and reopen are VoIPBIN's chat_updated.
    let closed = alice
        .post(&format!("/v1.0/talks/{talk_id}/close"), json!({}), 200)
        .await?;
    let frame = both.next("talk_closed", "chat_updated").await?;
    assert_eq!(frame["data"], closed);
    assert_eq!(frame["data"]["state"], "closed");
    cursors.push(cursor(&frame));
    let reopened = alice
        .post(&format!("/v1.0/talks/{talk_id}/reopen"), json!({}), 200)
        .await?;
    let frame = both.next("talk_reopened", "chat_updated").await?;
    assert_eq!(frame["data"], reopened);
    assert_eq!(frame["data"]["state"], "active");
    cursors.push(cursor(&frame));

    let gone = alice
        .call(Method::DELETE, &format!("/v1.0/talks/{talk_id}"), None)
        .await?
        .expect(200)?;
    let frame = both.next("talk_deleted", "chat_deleted").await?;
    assert_eq!(frame["data"]["id"], talk_id.as_str());
    // VoIPBIN answers (and announces) the talk as it was before the delete.
    assert_eq!(frame["data"], gone);
    cursors.push(cursor(&frame));

    // Cursors are the bus order of what was caused.
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "{cursors:?}");

    // Nothing came twice: the next events on both sockets are those of a new talk.
    let direct = alice
        .post(
            "/v1.0/service_agents/talk_chats",
            json!({"type": "direct", "participants": [{"owner_type": "agent", "owner_id": bob_id}]}),
            200,
        )
        .await?;
    let frame = both
        .next("participant_joined", "chatparticipant_added")
        .await?;
    assert_eq!(frame["data"]["chat_id"], direct["id"]);
    let frame = both.next("talk_created", "chat_created").await?;
    assert_eq!(frame["data"]["id"], direct["id"]);
    assert_eq!(frame["data"]["type"], "direct");
    cluster.stop().await;
    Ok(())
}
