//! Creation rules of every talk type and the de-duplication of direct pairs.

use std::collections::BTreeSet;

use anyhow::Context;
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use talk_e2e::client::assert_error;

use super::{CHATS, TALKS, delete, id_of, me, participant_agents, set, start, walk};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creation_rules_of_every_type_and_direct_pair_de_duplication() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (alice_id, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (carol_id, carol) = admin.create_agent("carol", "Carol").await?;
    let (dave_id, dave) = admin.create_agent("dave", "Dave").await?;
    let customer = me(&alice).await?["customer_id"].clone();

    // group (VoIPBIN): the creator plus the listed agents, name and detail kept.
    let team = alice
        .post(
            CHATS,
            json!({"type": "group", "name": "team", "detail": "the team", "participants": [
                {"owner_type": "agent", "owner_id": bob_id},
                {"owner_type": "agent", "owner_id": carol_id}]}),
            200,
        )
        .await?;
    assert_eq!(team["type"], "group");
    assert_eq!(team["name"], "team");
    assert_eq!(team["detail"], "the team");
    assert_eq!(team["member_count"], 3);
    assert_eq!(team["state"], "active");
    assert_eq!(team["customer_id"], customer);
    assert_eq!(team["tm_delete"], Value::Null);
    let tm = team["tm_create"].as_str().unwrap_or_default();
    assert_eq!(tm.len(), 27, "YYYY-MM-DDTHH:MM:SS.ffffffZ: {tm}");
    assert!(tm.ends_with('Z'));
    let team_id = id_of(&team);
    assert_eq!(
        participant_agents(&alice, &team_id).await?,
        set(&[&alice_id, &bob_id, &carol_id])
    );
    // Every member sees it, as VoIPBIN shapes it.
    assert_eq!(
        bob.get(&format!("{CHATS}/{team_id}")).await?["name"],
        "team"
    );

    // Without name and detail, VoIPBIN omits the keys; a group may be just the creator.
    let solo = alice.post(CHATS, json!({"type": "group"}), 200).await?;
    let object = solo.as_object().context("talk is an object")?;
    assert!(!object.contains_key("name"), "{solo}");
    assert!(!object.contains_key("detail"), "{solo}");
    assert_eq!(solo["member_count"], 1, "the creator is always a member");
    assert_eq!(
        participant_agents(&alice, &id_of(&solo)).await?,
        set(&[&alice_id])
    );

    // The creator named explicitly and duplicates collapse to one record each.
    let dup = alice
        .post(
            TALKS,
            json!({"type": "group", "participant_ids": [alice_id, bob_id, bob_id]}),
            201,
        )
        .await?;
    assert_eq!(dup["member_count"], 2);
    assert_eq!(
        participant_agents(&alice, &id_of(&dup)).await?,
        set(&[&alice_id, &bob_id])
    );

    // talk (public channel): needs nobody else.
    let channel = alice
        .post(TALKS, json!({"type": "talk", "name": "lobby"}), 201)
        .await?;
    assert_eq!(channel["type"], "talk");
    assert_eq!(channel["member_count"], 1);

    // Without a type: two agents make a direct talk, more make a group, the
    // creator alone (even named) a group.
    let inferred_direct = alice
        .call(
            Method::POST,
            TALKS,
            Some(json!({"participant_ids": [bob_id]})),
        )
        .await?;
    assert_eq!(inferred_direct.status, 201, "{}", inferred_direct.body);
    assert_eq!(inferred_direct.body["type"], "direct");
    assert_eq!(inferred_direct.body["member_count"], 2);
    let direct_id = id_of(&inferred_direct.body);
    let inferred_group = alice
        .post(TALKS, json!({"participant_ids": [bob_id, carol_id]}), 201)
        .await?;
    assert_eq!(inferred_group["type"], "group");
    assert_eq!(inferred_group["member_count"], 3);
    assert_eq!(alice.post(TALKS, json!({}), 201).await?["type"], "group");
    let only_me = alice
        .post(TALKS, json!({"participant_ids": [alice_id]}), 201)
        .await?;
    assert_eq!(only_me["type"], "group");
    assert_eq!(only_me["member_count"], 1);

    // The same pair gets the same direct talk: again, through the other
    // family, from the other side, and with the creator listed too.
    let again = alice
        .call(
            Method::POST,
            TALKS,
            Some(json!({"participant_ids": [bob_id]})),
        )
        .await?;
    assert_eq!(
        again.status, 200,
        "an existing direct talk is returned with 200"
    );
    assert_eq!(id_of(&again.body), direct_id);
    let voipbin = alice
        .post(
            CHATS,
            json!({"type": "direct", "participants": [{"owner_type": "agent", "owner_id": bob_id}]}),
            200,
        )
        .await?;
    assert_eq!(id_of(&voipbin), direct_id);
    let from_bob = bob
        .post(
            CHATS,
            json!({"type": "direct", "participants": [{"owner_type": "agent", "owner_id": alice_id}]}),
            200,
        )
        .await?;
    assert_eq!(id_of(&from_bob), direct_id);
    assert_eq!(from_bob["member_count"], 2);
    let both_listed = bob
        .call(
            Method::POST,
            TALKS,
            Some(json!({"type": "direct", "participant_ids": [alice_id, bob_id]})),
        )
        .await?;
    assert_eq!(both_listed.status, 200);
    assert_eq!(id_of(&both_listed.body), direct_id);
    let directs = |talks: Vec<Value>| -> Vec<String> {
        talks
            .iter()
            .filter(|t| t["type"] == "direct")
            .map(id_of)
            .collect()
    };
    assert_eq!(
        directs(walk(&alice, CHATS, 100).await?),
        vec![direct_id.clone()]
    );
    assert_eq!(
        directs(walk(&bob, TALKS, 100).await?),
        vec![direct_id.clone()]
    );

    // Another pair is another talk.
    let with_carol = alice
        .post(
            CHATS,
            json!({"type": "direct", "participants": [{"owner_type": "agent", "owner_id": carol_id}]}),
            200,
        )
        .await?;
    assert_ne!(id_of(&with_carol), direct_id);

    // A direct talk needs exactly one other agent.
    for participants in [json!([]), json!([alice_id]), json!([bob_id, carol_id])] {
        let reply = alice
            .call(
                Method::POST,
                TALKS,
                Some(json!({"type": "direct", "participant_ids": participants})),
            )
            .await?;
        assert_error(&reply, 400, "INVALID_PARTICIPANTS");
    }

    // Racing creates of one pair, from both sides and both families, end with one talk.
    let racing = (0..10).map(|i| {
        let (api, other) = if i % 2 == 0 {
            (carol.clone(), dave_id.clone())
        } else {
            (dave.clone(), carol_id.clone())
        };
        async move {
            if i % 4 < 2 {
                api.post(
                    CHATS,
                    json!({"type": "direct", "participants": [{"owner_type": "agent", "owner_id": other}]}),
                    200,
                )
                .await
            } else {
                let reply = api
                    .call(
                        Method::POST,
                        TALKS,
                        Some(json!({"type": "direct", "participant_ids": [other]})),
                    )
                    .await?;
                anyhow::ensure!(reply.status == 200 || reply.status == 201, "{reply:?}");
                Ok(reply.body)
            }
        }
    });
    let results = join_all(racing).await;
    let ids: BTreeSet<String> = results
        .into_iter()
        .map(|r| r.map(|t| id_of(&t)))
        .collect::<anyhow::Result<_>>()?;
    assert_eq!(ids.len(), 1, "one direct talk for the pair: {ids:?}");
    assert_eq!(directs(walk(&dave, CHATS, 100).await?).len(), 1);

    // Deleting a direct talk frees the pair: the next create starts a new one.
    let deleted = delete(&alice, &format!("{TALKS}/{direct_id}")).await?;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    let fresh = alice
        .call(
            Method::POST,
            TALKS,
            Some(json!({"type": "direct", "participant_ids": [bob_id]})),
        )
        .await?;
    assert_eq!(fresh.status, 201, "{}", fresh.body);
    assert_ne!(id_of(&fresh.body), direct_id);
    assert_eq!(
        directs(walk(&bob, CHATS, 100).await?),
        vec![id_of(&fresh.body)]
    );
    cluster.stop().await;
    Ok(())
}
