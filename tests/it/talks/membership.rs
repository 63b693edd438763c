//! Join, leave, remove and re-add, with an exact `member_count` (also under concurrent joins).

use std::collections::BTreeSet;

use anyhow::Context;
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use talk_e2e::Api;
use talk_e2e::client::assert_error;

use super::{CHATS, TALKS, delete, id_of, me, members, participant_agents, set, start, walk};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_leave_remove_and_re_add_keep_member_count_exact() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (alice_id, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (carol_id, carol) = admin.create_agent("carol", "Carol").await?;
    let (dave_id, dave) = admin.create_agent("dave", "Dave").await?;
    let (eve_id, eve) = admin.create_agent("eve", "Eve").await?;
    let (_, frank) = admin.create_agent("frank", "Frank").await?;

    let group = alice
        .post(
            CHATS,
            json!({"type": "group", "participants": [{"owner_type": "agent", "owner_id": bob_id}]}),
            200,
        )
        .await?;
    let g = id_of(&group);
    let count = |api: &Api| {
        let api = api.clone();
        let path = format!("{CHATS}/{g}");
        async move { anyhow::Ok(members(&api.get(&path).await?)) }
    };
    assert_eq!(count(&alice).await?, 2);

    // Add (VoIPBIN shape): a Participant record, active.
    let added = alice
        .post(
            &format!("{CHATS}/{g}/participants"),
            json!({"owner_type": "agent", "owner_id": carol_id}),
            200,
        )
        .await?;
    assert_eq!(added["owner_type"], "agent");
    assert_eq!(added["owner_id"], carol_id.as_str());
    assert_eq!(added["chat_id"], g.as_str());
    assert_eq!(added["state"], "active");
    assert_eq!(added["tm_left"], Value::Null);
    assert_eq!(added["customer_id"], group["customer_id"]);
    let first_record = id_of(&added);
    assert_eq!(count(&alice).await?, 3);
    let list = alice.get(&format!("{CHATS}/{g}/participants")).await?;
    assert_eq!(
        list.as_array().map(Vec::len),
        Some(3),
        "a bare array: {list}"
    );

    // Adding an active member again changes nothing.
    let same = alice
        .post(
            &format!("{TALKS}/{g}/participants"),
            json!({"agent_id": carol_id}),
            201,
        )
        .await?;
    assert_eq!(id_of(&same), first_record);
    assert_eq!(count(&carol).await?, 3);

    // Remove (VoIPBIN): 200 with the literal body null.
    let removed = delete(&alice, &format!("{CHATS}/{g}/participants/{first_record}")).await?;
    assert_eq!(removed.status, 200);
    assert_eq!(removed.body, Value::Null);
    assert_eq!(
        removed
            .headers
            .get("content-length")
            .and_then(|v| v.to_str().ok()),
        Some("4"),
        "the body is the literal `null`"
    );
    assert_eq!(count(&alice).await?, 2);
    assert_eq!(
        participant_agents(&alice, &g).await?,
        set(&[&alice_id, &bob_id])
    );
    let gone = carol
        .call(Method::GET, &format!("{CHATS}/{g}"), None)
        .await?;
    assert_error(&gone, 403, "PERMISSION_DENIED");
    // Removing a record that already left changes nothing.
    let again = delete(&alice, &format!("{CHATS}/{g}/participants/{first_record}")).await?;
    assert_eq!(again.status, 200);
    assert_eq!(count(&alice).await?, 2);

    // Re-adding makes a new active record (seed shape, 201).
    let readded = bob
        .post(
            &format!("{TALKS}/{g}/participants"),
            json!({"agent_id": carol_id}),
            201,
        )
        .await?;
    let second_record = id_of(&readded);
    assert_ne!(second_record, first_record);
    assert_eq!(readded["state"], "active");
    assert_eq!(count(&alice).await?, 3);

    // Remove (seed): answers the record, now left.
    let left = delete(&alice, &format!("{TALKS}/{g}/participants/{second_record}")).await?;
    assert_eq!(left.status, 200, "{}", left.body);
    assert_eq!(id_of(&left.body), second_record);
    assert_eq!(left.body["state"], "left");
    assert!(left.body["tm_left"].is_string());
    assert_eq!(count(&alice).await?, 2);

    // A third time, then carol leaves herself.
    let third = alice
        .post(
            &format!("{CHATS}/{g}/participants"),
            json!({"owner_type": "agent", "owner_id": carol_id}),
            200,
        )
        .await?;
    assert!(![first_record.as_str(), second_record.as_str()].contains(&id_of(&third).as_str()));
    assert_eq!(count(&carol).await?, 3);
    let bye = carol
        .post(&format!("{TALKS}/{g}/leave"), json!(null), 200)
        .await?;
    assert_eq!(id_of(&bye), id_of(&third));
    assert_eq!(bye["state"], "left");
    assert_eq!(count(&alice).await?, 2);
    let not_in = carol
        .call(Method::POST, &format!("{TALKS}/{g}/leave"), None)
        .await?;
    assert_error(&not_in, 403, "PERMISSION_DENIED");
    let self_readd = carol
        .call(
            Method::POST,
            &format!("{TALKS}/{g}/participants"),
            Some(json!({"agent_id": carol_id})),
        )
        .await?;
    assert_error(&self_readd, 403, "PERMISSION_DENIED");

    // Unknown records and records of another talk are 404.
    let unknown = delete(
        &alice,
        &format!("{CHATS}/{g}/participants/{}", uuid::Uuid::new_v4()),
    )
    .await?;
    assert_error(&unknown, 404, "PARTICIPANT_NOT_FOUND");
    let other = alice
        .post(
            TALKS,
            json!({"type": "group", "participant_ids": [dave_id]}),
            201,
        )
        .await?;
    let dave_record = dave
        .get(&format!("{TALKS}/{}/participants", id_of(&other)))
        .await?
        .as_array()
        .and_then(|l| {
            l.iter()
                .find(|p| p["owner_id"] == dave_id.as_str())
                .map(id_of)
        })
        .context("dave's record")?;
    let elsewhere = delete(&alice, &format!("{TALKS}/{g}/participants/{dave_record}")).await?;
    assert_error(&elsewhere, 404, "PARTICIPANT_NOT_FOUND");
    assert_eq!(
        members(&dave.get(&format!("{TALKS}/{}", id_of(&other))).await?),
        2
    );
    assert_eq!(count(&alice).await?, 2);

    // Public talk: join in either family (idempotent), leave, join again.
    let channel = alice
        .post(CHATS, json!({"type": "talk", "name": "lobby"}), 200)
        .await?;
    let c = id_of(&channel);
    let ccount = |api: &Api| {
        let api = api.clone();
        let path = format!("{TALKS}/{c}");
        async move { anyhow::Ok(members(&api.get(&path).await?)) }
    };
    let joined = dave
        .post(&format!("{CHATS}/{c}/join"), json!(null), 200)
        .await?;
    assert_eq!(joined["owner_id"], dave_id.as_str());
    assert_eq!(joined["state"], "active");
    assert_eq!(ccount(&dave).await?, 2);
    let rejoined = dave
        .post(&format!("{TALKS}/{c}/join"), json!(null), 200)
        .await?;
    assert_eq!(
        id_of(&rejoined),
        id_of(&joined),
        "joining twice changes nothing"
    );
    assert_eq!(ccount(&dave).await?, 2);
    dave.post(&format!("{TALKS}/{c}/leave"), json!(null), 200)
        .await?;
    assert_eq!(ccount(&dave).await?, 1);
    let back = dave
        .post(&format!("{TALKS}/{c}/join"), json!(null), 200)
        .await?;
    assert_ne!(id_of(&back), id_of(&joined));
    assert_eq!(ccount(&dave).await?, 2);

    // Leaving a public talk one is not in: 404; joining a group: 400 NOT_PUBLIC.
    let not_member = eve
        .call(Method::POST, &format!("{TALKS}/{c}/leave"), None)
        .await?;
    assert_error(&not_member, 404, "PARTICIPANT_NOT_FOUND");
    let private = eve
        .call(Method::POST, &format!("{CHATS}/{g}/join"), None)
        .await?;
    assert_error(&private, 400, "NOT_PUBLIC");
    assert_eq!(count(&alice).await?, 2);

    // Anyone may add themselves to a public talk; then, as a participant, others too.
    eve.post(
        &format!("{CHATS}/{c}/participants"),
        json!({"owner_type": "agent", "owner_id": eve_id}),
        200,
    )
    .await?;
    eve.post(
        &format!("{TALKS}/{c}/participants"),
        json!({"agent_id": bob_id}),
        201,
    )
    .await?;
    assert_eq!(ccount(&bob).await?, 4);
    let frank_adds = frank
        .call(
            Method::POST,
            &format!("{CHATS}/{c}/participants"),
            Some(json!({"owner_type": "agent", "owner_id": carol_id})),
        )
        .await?;
    assert_error(&frank_adds, 403, "PERMISSION_DENIED");
    assert_eq!(
        participant_agents(&frank, &c).await?,
        set(&[&alice_id, &dave_id, &eve_id, &bob_id])
    );
    // The listing shows the same count as the talk.
    let listed = walk(&bob, CHATS, 100).await?;
    let in_list = listed.iter().find(|t| id_of(t) == c).context("listed")?;
    assert_eq!(members(in_list), 4);
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_joins_count_twenty() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let admin_id = id_of(&me(&admin).await?);
    let agents = join_all((0..25).map(|i| {
        let admin = admin.clone();
        async move {
            admin
                .create_agent(&format!("joiner{i:02}"), &format!("Joiner {i}"))
                .await
        }
    }))
    .await
    .into_iter()
    .collect::<anyhow::Result<Vec<_>>>()?;
    let (joiners, extras) = agents.split_at(20);

    let hall = admin
        .post(CHATS, json!({"type": "talk", "name": "town hall"}), 200)
        .await?;
    let h = id_of(&hall);
    let joins = join_all(joiners.iter().enumerate().map(|(i, (_, api))| {
        let path = if i % 2 == 0 {
            format!("{CHATS}/{h}/join")
        } else {
            format!("{TALKS}/{h}/join")
        };
        async move { api.post(&path, json!(null), 200).await }
    }))
    .await
    .into_iter()
    .collect::<anyhow::Result<Vec<_>>>()?;
    let records: BTreeSet<String> = joins.iter().map(id_of).collect();
    assert_eq!(records.len(), 20, "twenty distinct records");
    assert_eq!(members(&admin.get(&format!("{CHATS}/{h}")).await?), 21);

    // With the creator gone, the count is the twenty who joined.
    admin
        .post(&format!("{TALKS}/{h}/leave"), json!(null), 200)
        .await?;
    let hall = joiners[0].1.get(&format!("{CHATS}/{h}")).await?;
    assert_eq!(members(&hall), 20);
    let expected: BTreeSet<String> = joiners.iter().map(|(id, _)| id.clone()).collect();
    let present = participant_agents(&joiners[0].1, &h).await?;
    assert_eq!(present, expected);
    assert!(!present.contains(&admin_id));

    // Concurrent leaves, joins and repeated joins: still exact.
    let leaves = joiners[..10].iter().map(|(_, api)| {
        let path = format!("{TALKS}/{h}/leave");
        async move { api.post(&path, json!(null), 200).await }
    });
    let joins = extras.iter().chain(&joiners[10..]).map(|(_, api)| {
        let path = format!("{CHATS}/{h}/join");
        async move { api.post(&path, json!(null), 200).await }
    });
    let all: Vec<_> = leaves
        .map(futures_util::FutureExt::boxed)
        .chain(joins.map(futures_util::FutureExt::boxed))
        .collect();
    for result in join_all(all).await {
        result?;
    }
    let expected: BTreeSet<String> = joiners[10..]
        .iter()
        .chain(extras)
        .map(|(id, _)| id.clone())
        .collect();
    let hall = extras[0].1.get(&format!("{CHATS}/{h}")).await?;
    assert_eq!(members(&hall), 15);
    assert_eq!(participant_agents(&extras[0].1, &h).await?, expected);
    cluster.stop().await;
    Ok(())
}
