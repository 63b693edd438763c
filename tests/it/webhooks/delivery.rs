//! Every event of a scripted talk, once, signed, in both namings; the
//! filters; a ping; a rotated secret signing beside the old one.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context;
use reqwest::Method;
use serde_json::{Value, json};
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::{Api, Cluster};

use super::{Answer, Receiver, SERVICES, create, id_of, post, verify};

/// The event id inside a `webhook-id` (`msg_<event>_<endpoint>`).
fn event_of(id: &str) -> &str {
    id.split('_').nth(1).unwrap_or_default()
}

/// Waits until every delivery in `webhook`'s log succeeded and `receiver`
/// got exactly one request for each (no more: a duplicate never settles).
async fn settled(
    api: &Api,
    webhook: &str,
    receiver: &Receiver,
) -> anyhow::Result<(Vec<Value>, Vec<super::Hit>)> {
    let deadline = tokio::time::Instant::now() + super::WAIT;
    loop {
        let entries = super::log(api, webhook).await?;
        let hits = receiver.hits();
        let logged: BTreeSet<&str> = entries
            .iter()
            .filter_map(|d| d["message_id"].as_str())
            .collect();
        let got: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
        let done = !entries.is_empty()
            && entries.iter().all(|d| d["status"] == "succeeded")
            && got.len() == logged.len()
            && got.iter().all(|id| logged.contains(id));
        if done {
            return Ok((entries, hits));
        }
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!("{webhook} never settled: log {entries:#?}, requests {got:#?}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Changes a talk in every way that has an event; answers the talk's id.
async fn script(alice: &Api, bob_id: &str, carol_id: &str) -> anyhow::Result<String> {
    let talk = alice
        .post(
            "/v1.0/talks",
            json!({"type": "group", "name": "ops", "participant_ids": [bob_id]}),
            201,
        )
        .await?;
    let talk_id = id_of(&talk);
    alice
        .call(
            Method::PUT,
            &format!("/v1.0/talks/{talk_id}"),
            Some(json!({"name": "ops, renamed"})),
        )
        .await?
        .expect(200)?;
    let added = alice
        .post(
            &format!("/v1.0/talks/{talk_id}/participants"),
            json!({"agent_id": carol_id}),
            201,
        )
        .await?;
    let carol_participant = id_of(&added);
    alice
        .call(
            Method::PUT,
            &format!("/v1.0/talks/{talk_id}/participants/{carol_participant}"),
            Some(json!({"role": "moderator"})),
        )
        .await?
        .expect(200)?;
    let message_id = id_of(&post(alice, &talk_id, "hello").await?);
    alice
        .call(
            Method::PUT,
            &format!("/v1.0/messages/{message_id}"),
            Some(json!({"text": "hello, edited"})),
        )
        .await?
        .expect(200)?;
    alice
        .post(
            &format!("/v1.0/messages/{message_id}/reactions"),
            json!({"emoji": "👍"}),
            200,
        )
        .await?;
    alice
        .call(
            Method::DELETE,
            &format!("/v1.0/messages/{message_id}/reactions/%F0%9F%91%8D"),
            None,
        )
        .await?
        .expect(200)?;
    alice
        .call(
            Method::DELETE,
            &format!("/v1.0/messages/{message_id}"),
            None,
        )
        .await?
        .expect(200)?;
    alice
        .call(
            Method::DELETE,
            &format!("/v1.0/talks/{talk_id}/participants/{carol_participant}"),
            None,
        )
        .await?
        .expect(200)?;
    alice
        .post(&format!("/v1.0/talks/{talk_id}/close"), json!({}), 200)
        .await?;
    alice
        .post(&format!("/v1.0/talks/{talk_id}/reopen"), json!({}), 200)
        .await?;
    alice
        .call(Method::DELETE, &format!("/v1.0/talks/{talk_id}"), None)
        .await?
        .expect(200)?;
    Ok(talk_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_of_a_talk_arrives_once_signed_in_both_namings() -> anyhow::Result<()> {
    let cluster = Cluster::start(SERVICES).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, _) = admin.create_agent("bob", "Bob").await?;
    let (carol_id, _) = admin.create_agent("carol", "Carol").await?;
    let voipbin = Receiver::start(Answer::Ok).await?;
    let seed = Receiver::start(Answer::Ok).await?;
    let messages = Receiver::start(Answer::Ok).await?;
    let (voipbin_id, voipbin_secret) =
        create(&admin, json!({"url": voipbin.url, "description": "all"})).await?;
    let (seed_id, seed_secret) = create(&admin, json!({"url": seed.url, "naming": "seed"})).await?;
    let (messages_id, messages_secret) = create(
        &admin,
        json!({"url": messages.url, "event_types": ["chatmessage_created", "message_deleted"]}),
    )
    .await?;
    let shown = admin.get(&format!("/v1.0/webhooks/{voipbin_id}")).await?;
    assert_eq!(shown["status"], "enabled");
    assert_eq!(shown["naming"], "voipbin");
    assert!(
        shown.get("secret").is_none(),
        "the secret is shown at creation only: {shown}"
    );

    let talk_id = script(&alice, &bob_id, &carol_id).await?;

    // The seed endpoint gets every kind of event there is.
    let kinds = [
        "talk_created",
        "talk_updated",
        "talk_closed",
        "talk_reopened",
        "talk_deleted",
        "participant_joined",
        "participant_updated",
        "participant_left",
        "message_created",
        "message_updated",
        "message_deleted",
        "reaction_added",
        "reaction_removed",
    ];
    let types = |hits: &[super::Hit]| -> BTreeSet<String> {
        hits.iter()
            .filter_map(|h| h.body["type"].as_str().map(str::to_owned))
            .collect()
    };
    seed.until("every kind in the seed's names", |hits| {
        types(hits).len() == kinds.len()
    })
    .await?;
    assert_eq!(
        types(&seed.hits()),
        kinds.iter().map(|k| (*k).to_owned()).collect()
    );
    // Every delivery of the log is answered, with one request each.
    for (receiver, webhook, secret) in [
        (&voipbin, &voipbin_id, &voipbin_secret),
        (&seed, &seed_id, &seed_secret),
        (&messages, &messages_id, &messages_secret),
    ] {
        let (entries, hits) = settled(&admin, webhook, receiver).await?;
        for entry in &entries {
            assert_eq!(entry["attempts"], 1, "{entry}");
            assert_eq!(entry["response_status"], 204, "{entry}");
        }
        for hit in &hits {
            verify(secret, hit).with_context(|| format!("{hit:?}"))?;
            assert!(hit.body["data"].is_object(), "{hit:?}");
            assert!(hit.body["timestamp"].is_string(), "{hit:?}");
        }
    }
    // VoIPBIN's names for the same events, one for one.
    let voipbin_hits = voipbin.hits();
    let seed_hits = seed.hits();
    let by_event = |hits: &[super::Hit]| -> BTreeMap<String, String> {
        hits.iter()
            .map(|h| {
                (
                    event_of(&h.id).to_owned(),
                    h.body["type"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    };
    let (voipbin_events, seed_events) = (by_event(&voipbin_hits), by_event(&seed_hits));
    assert_eq!(
        voipbin_events.keys().collect::<Vec<_>>(),
        seed_events.keys().collect::<Vec<_>>(),
        "both endpoints get the same events"
    );
    let voipbin_name = |seed: &str| match seed {
        "talk_created" => "chat_created",
        "talk_updated" | "talk_closed" | "talk_reopened" => "chat_updated",
        "talk_deleted" => "chat_deleted",
        "participant_joined" => "chatparticipant_added",
        "participant_left" => "chatparticipant_removed",
        "participant_updated" => "chatparticipant_updated",
        "message_created" => "chatmessage_created",
        "message_updated" => "chatmessage_updated",
        "message_deleted" => "chatmessage_deleted",
        "reaction_added" | "reaction_removed" => "chatmessage_reaction_updated",
        other => panic!("unknown event {other}"),
    };
    for (event, seed_type) in &seed_events {
        assert_eq!(voipbin_events[event], voipbin_name(seed_type), "{event}");
    }
    // The REST shapes: the talk as the API shows it.
    let created = seed_hits
        .iter()
        .find(|h| h.body["type"] == "talk_created")
        .context("talk_created")?;
    assert_eq!(created.body["data"]["id"], talk_id.as_str());
    // The filtered endpoint got just its two kinds, in whichever naming it named them.
    let filtered: BTreeSet<String> = types(&messages.hits());
    assert_eq!(
        filtered,
        BTreeSet::from([
            "chatmessage_created".to_owned(),
            "chatmessage_deleted".to_owned()
        ])
    );

    // A ping, signed.
    let ping = admin
        .post(&format!("/v1.0/webhooks/{voipbin_id}/test"), json!({}), 200)
        .await?;
    let hits = voipbin
        .until("the ping", |hits| {
            hits.iter().any(|h| h.body["type"] == "ping")
        })
        .await?;
    let got = hits
        .iter()
        .find(|h| h.body["type"] == "ping")
        .context("ping")?;
    assert_eq!(got.id, ping["message_id"].as_str().unwrap_or_default());
    verify(&voipbin_secret, got)?;

    // A rotation: the new secret signs, and the old one too for a while.
    let rotated = admin
        .post(
            &format!("/v1.0/webhooks/{voipbin_id}/rotate"),
            json!({}),
            200,
        )
        .await?;
    let new_secret = rotated["secret"]
        .as_str()
        .context("the new secret")?
        .to_owned();
    assert_ne!(new_secret, voipbin_secret);
    let before = voipbin.hits().len();
    let other_talk = alice
        .post(
            "/v1.0/talks",
            json!({"type": "group", "name": "after"}),
            201,
        )
        .await?;
    post(&alice, &id_of(&other_talk), "after the rotation").await?;
    let hits = voipbin
        .until("an event after the rotation", |hits| {
            hits[before..]
                .iter()
                .any(|h| h.body["type"] == "chatmessage_created")
        })
        .await?;
    let after = hits[before..]
        .iter()
        .find(|h| h.body["type"] == "chatmessage_created")
        .context("message after rotation")?;
    assert_eq!(after.signature.split(' ').count(), 2, "{after:?}");
    verify(&new_secret, after)?;
    verify(&voipbin_secret, after)?;

    let listed = admin.get("/v1.0/webhooks").await?;
    assert_eq!(listed["result"].as_array().map(Vec::len), Some(3));
    cluster.stop().await;
    Ok(())
}
