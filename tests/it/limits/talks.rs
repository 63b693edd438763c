//! Participants per talk and talks per customer (talk-service).

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::json;
use talk_e2e::client::Reply;

use super::{CHATS, TALKS, id, member_count, my_talks, participants, start};

/// How many replies of `replies` have `status`; the others must be 400 `reason`.
fn split(replies: &[Reply], status: u16, reason: &str) -> usize {
    let accepted = replies
        .iter()
        .filter(|r| r.status.as_u16() == status)
        .count();
    for refused in replies.iter().filter(|r| r.status.as_u16() != status) {
        refused.assert_error(400, reason);
    }
    accepted
}

/// At most `max_participants_per_talk` active participants (3 here): a
/// create, an add and a join up to the cap are accepted; one past it is 400
/// `TOO_MANY_PARTICIPANTS` in both families and changes nothing. A leave
/// makes room again, and concurrent joins stop exactly at the cap (counted
/// under the talk's row lock).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn participants_per_talk() -> anyhow::Result<()> {
    let (cluster, admin) = start(|config| config.max_participants_per_talk = 3).await?;
    let admin_id = id(&admin.get("/v1.0/me").await?);
    let mut agents = Vec::new();
    for name in ["alice", "bob", "carol", "dave", "erin", "frank"] {
        agents.push(admin.create_agent(name, name).await?);
    }
    let ids: Vec<&str> = agents.iter().map(|(id, _)| id.as_str()).collect();

    let talk = admin
        .post(
            TALKS,
            json!({"type": "group", "name": "full", "participant_ids": [ids[0], ids[1]]}),
            201,
        )
        .await?;
    assert_eq!(talk["member_count"], 3, "a create at the cap: {talk}");
    let talk = id(&talk);

    let before = my_talks(&admin).await?;
    let too_big = json!({"type": "group", "participant_ids": [ids[0], ids[1], ids[2]]});
    admin
        .call(Method::POST, TALKS, Some(too_big))
        .await?
        .assert_error(400, "TOO_MANY_PARTICIPANTS");
    let voipbin = json!({"type": "group", "participants": [
        {"owner_type": "agent", "owner_id": ids[0]},
        {"owner_type": "agent", "owner_id": ids[1]},
        {"owner_type": "agent", "owner_id": ids[2]},
    ]});
    admin
        .call(Method::POST, CHATS, Some(voipbin))
        .await?
        .assert_error(400, "TOO_MANY_PARTICIPANTS");
    assert_eq!(my_talks(&admin).await?, before, "no talk was created");

    let adds = [
        (
            format!("{TALKS}/{talk}/participants"),
            json!({"agent_id": ids[2]}),
        ),
        (
            format!("{CHATS}/{talk}/participants"),
            json!({"owner_type": "agent", "owner_id": ids[2]}),
        ),
    ];
    for (path, body) in &adds {
        admin
            .call(Method::POST, path, Some(body.clone()))
            .await?
            .assert_error(400, "TOO_MANY_PARTICIPANTS");
    }
    let members = [admin_id.as_str(), ids[0], ids[1]].map(String::from);
    assert_eq!(participants(&admin, &talk).await?, members.into());
    assert_eq!(member_count(&admin, &talk).await?, 3);
    // An active member added again is answered as is, even at the cap.
    admin
        .post(&adds[0].0, json!({"agent_id": ids[0]}), 201)
        .await?;

    // A leave makes room for one.
    agents[1]
        .1
        .post(&format!("{TALKS}/{talk}/leave"), json!(null), 200)
        .await?;
    admin.post(&adds[0].0, adds[0].1.clone(), 201).await?;
    let members = [admin_id.as_str(), ids[0], ids[2]].map(String::from);
    assert_eq!(participants(&admin, &talk).await?, members.into());

    // A public talk: four agents join at once, two find room.
    let channel = id(&admin
        .post(TALKS, json!({"type": "talk", "name": "open"}), 201)
        .await?);
    let join = format!("{TALKS}/{channel}/join");
    let joins = join_all(
        agents[1..5]
            .iter()
            .map(|(_, api)| api.call(Method::POST, &join, None)),
    )
    .await
    .into_iter()
    .collect::<Result<Vec<_>, _>>()?;
    assert_eq!(split(&joins, 200, "TOO_MANY_PARTICIPANTS"), 2);
    assert_eq!(member_count(&admin, &channel).await?, 3);
    assert_eq!(participants(&admin, &channel).await?.len(), 3);
    agents[5]
        .1
        .call(Method::POST, &format!("{CHATS}/{channel}/join"), None)
        .await?
        .assert_error(400, "TOO_MANY_PARTICIPANTS");
    cluster.stop().await;
    Ok(())
}

/// At most `max_talks_per_customer` live talks per customer (3 here), of
/// every type and whoever creates them: the third is accepted, a fourth is
/// 400 `TOO_MANY_CUSTOMER_TALKS` in both families and creates nothing; an
/// existing direct talk is still answered; another customer is not
/// affected; deleting talks makes room, and concurrent creates stop exactly
/// at the cap (counted under the customer's row lock).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn talks_per_customer() -> anyhow::Result<()> {
    let (cluster, admin) = start(|config| config.max_talks_per_customer = 3).await?;
    let admin_id = id(&admin.get("/v1.0/me").await?);
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let group = id(&admin.post(TALKS, json!({"type": "group"}), 201).await?);
    let direct = id(&admin
        .post(
            TALKS,
            json!({"type": "direct", "participant_ids": [bob_id]}),
            201,
        )
        .await?);
    let channel = id(&admin.post(TALKS, json!({"type": "talk"}), 201).await?);

    admin
        .call(Method::POST, TALKS, Some(json!({"type": "group"})))
        .await?
        .assert_error(400, "TOO_MANY_CUSTOMER_TALKS");
    bob.call(Method::POST, CHATS, Some(json!({"type": "talk"})))
        .await?
        .assert_error(400, "TOO_MANY_CUSTOMER_TALKS");
    let again = bob
        .post(
            TALKS,
            json!({"type": "direct", "participant_ids": [admin_id]}),
            200,
        )
        .await?;
    assert_eq!(id(&again), direct, "the pair's direct talk, not a new one");
    let all = [&group, &direct, &channel].map(|t| t.to_string());
    assert_eq!(my_talks(&admin).await?, all.into());
    assert_eq!(my_talks(&bob).await?, [direct.clone()].into());

    let zed = cluster.other_customer("zed", "Zed").await?;
    zed.post(TALKS, json!({"type": "group"}), 201).await?;

    for talk in [&group, &channel] {
        admin
            .call(Method::DELETE, &format!("{TALKS}/{talk}"), None)
            .await?
            .expect(200)?;
    }
    let creates = join_all((0..5).map(|i| {
        admin.call(
            Method::POST,
            TALKS,
            Some(json!({"type": "group", "name": format!("race {i}")})),
        )
    }))
    .await
    .into_iter()
    .collect::<Result<Vec<_>, _>>()?;
    assert_eq!(split(&creates, 201, "TOO_MANY_CUSTOMER_TALKS"), 2);
    assert_eq!(my_talks(&admin).await?.len(), 3);
    cluster.stop().await;
    Ok(())
}
