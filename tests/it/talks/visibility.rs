//! Who sees which talk: participants, outsiders, public channels, other customers.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};
use talk_e2e::client::assert_error;

use super::{
    CHANNELS, CHATS, TALKS, delete, id_of, me, members, message_of, my_talks, participant_agents,
    set, start, walk,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visibility_for_participants_outsiders_channels_and_other_customers() -> anyhow::Result<()>
{
    let (cluster, admin) = start().await?;
    let (alice_id, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (_, carol) = admin.create_agent("carol", "Carol").await?;
    let zed = cluster.other_customer("zed", "Zed").await?;
    let zed_id = id_of(&me(&zed).await?);
    let (yan_id, yan) = zed.create_agent("yan", "Yan").await?;
    assert_ne!(
        me(&zed).await?["customer_id"],
        me(&alice).await?["customer_id"]
    );

    let group = alice
        .post(
            TALKS,
            json!({"type": "group", "name": "secret", "participant_ids": [bob_id]}),
            201,
        )
        .await?;
    let g = id_of(&group);
    let direct = alice
        .post(
            TALKS,
            json!({"type": "direct", "participant_ids": [bob_id]}),
            201,
        )
        .await?;
    let d = id_of(&direct);
    let channel = alice
        .post(CHATS, json!({"type": "talk", "name": "lobby"}), 200)
        .await?;
    let c = id_of(&channel);
    alice
        .post(
            &format!("{TALKS}/{c}/messages"),
            json!({"text": "welcome"}),
            201,
        )
        .await?;
    alice
        .post(
            &format!("{TALKS}/{g}/messages"),
            json!({"text": "private"}),
            201,
        )
        .await?;

    // Participants see their talks, in both families.
    for path in [
        format!("{CHATS}/{g}"),
        format!("{TALKS}/{g}"),
        format!("{CHATS}/{d}"),
    ] {
        assert_eq!(
            id_of(&bob.get(&path).await?),
            path.rsplit('/').next().unwrap_or_default()
        );
    }
    assert_eq!(
        participant_agents(&bob, &g).await?,
        set(&[&alice_id, &bob_id])
    );
    let bob_talks: BTreeSet<String> = my_talks(&bob).await?.into_iter().collect();
    assert_eq!(bob_talks, set(&[&g, &d]));

    // An agent of the customer who is not in a private talk: 403 for everything.
    for (method, path, body) in [
        (Method::GET, format!("{CHATS}/{g}"), None),
        (Method::GET, format!("{TALKS}/{d}"), None),
        (Method::GET, format!("{CHATS}/{g}/participants"), None),
        (Method::GET, format!("{TALKS}/{g}/messages"), None),
        (
            Method::GET,
            format!("/v1.0/service_agents/talk_messages?chat_id={g}"),
            None,
        ),
        (
            Method::PUT,
            format!("{CHATS}/{g}"),
            Some(json!({"name": "mine"})),
        ),
        (Method::DELETE, format!("{TALKS}/{g}"), None),
        (Method::POST, format!("{TALKS}/{g}/close"), None),
        (
            Method::POST,
            format!("{TALKS}/{g}/participants"),
            Some(json!({"agent_id": id_of(&me(&carol).await?)})),
        ),
        (
            Method::POST,
            format!("{TALKS}/{g}/messages"),
            Some(json!({"text": "hi"})),
        ),
    ] {
        let reply = carol.call(method.clone(), &path, body).await?;
        assert_error(&reply, 403, "PERMISSION_DENIED");
    }
    let join_private = carol
        .call(Method::POST, &format!("{CHATS}/{g}/join"), None)
        .await?;
    assert_error(&join_private, 400, "NOT_PUBLIC");
    assert_eq!(my_talks(&carol).await?, Vec::<String>::new());
    let g_now = alice.get(&format!("{TALKS}/{g}")).await?;
    assert_eq!(g_now["name"], "secret");
    assert_eq!(members(&g_now), 2);

    // A public talk: any agent of the customer reads it, its members and messages;
    // posting and changing it need membership.
    assert_eq!(carol.get(&format!("{CHATS}/{c}")).await?["name"], "lobby");
    assert_eq!(participant_agents(&carol, &c).await?, set(&[&alice_id]));
    let messages = carol
        .get(&format!("/v1.0/service_agents/talk_messages?chat_id={c}"))
        .await?;
    assert!(
        messages["result"]
            .as_array()
            .is_some_and(|r| r.iter().any(|m| m["text"] == "welcome"))
    );
    let channels: Vec<String> = walk(&carol, CHANNELS, 100)
        .await?
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(channels, vec![c.clone()], "only public talks are channels");
    assert!(
        my_talks(&carol).await?.is_empty(),
        "a channel is not 'mine' before joining"
    );
    let post = carol
        .call(
            Method::POST,
            &format!("{TALKS}/{c}/messages"),
            Some(json!({"text": "hi"})),
        )
        .await?;
    assert_error(&post, 403, "PERMISSION_DENIED");
    let rename = carol
        .call(
            Method::PUT,
            &format!("{CHATS}/{c}"),
            Some(json!({"name": "mine"})),
        )
        .await?;
    assert_error(&rename, 403, "PERMISSION_DENIED");
    carol
        .post(&format!("{CHATS}/{c}/join"), json!(null), 200)
        .await?;
    assert_eq!(my_talks(&carol).await?, vec![c.clone()]);
    carol
        .post(&format!("{TALKS}/{c}/messages"), json!({"text": "hi"}), 201)
        .await?;

    // Another customer's agents: every talk is 404, nothing is listed, and
    // agents do not cross (400 naming the id).
    for talk in [&g, &d, &c] {
        for (method, path) in [
            (Method::GET, format!("{CHATS}/{talk}")),
            (Method::GET, format!("{TALKS}/{talk}")),
            (Method::GET, format!("{CHATS}/{talk}/participants")),
            (Method::POST, format!("{CHATS}/{talk}/join")),
            (Method::POST, format!("{TALKS}/{talk}/leave")),
            (Method::DELETE, format!("{CHATS}/{talk}")),
        ] {
            for api in [&zed, &yan] {
                let reply = api.call(method.clone(), &path, None).await?;
                assert_error(&reply, 404, "TALK_NOT_FOUND");
            }
        }
        let messages = zed
            .call(Method::GET, &format!("{TALKS}/{talk}/messages"), None)
            .await?;
        assert_error(&messages, 404, "TALK_NOT_FOUND");
        let post = zed
            .call(
                Method::POST,
                "/v1.0/service_agents/talk_messages",
                Some(json!({"chat_id": talk, "type": "normal", "text": "hello?"})),
            )
            .await?;
        assert_error(&post, 404, "TALK_NOT_FOUND");
    }
    let self_add = yan
        .call(
            Method::POST,
            &format!("{CHATS}/{c}/participants"),
            Some(json!({"owner_type": "agent", "owner_id": yan_id})),
        )
        .await?;
    assert_error(&self_add, 404, "TALK_NOT_FOUND");
    assert_eq!(walk(&zed, CHANNELS, 100).await?, Vec::<Value>::new());
    assert_eq!(walk(&yan, CHATS, 100).await?, Vec::<Value>::new());
    let cross_create = zed
        .call(
            Method::POST,
            CHATS,
            Some(json!({"type": "direct", "participants": [{"owner_type": "agent", "owner_id": alice_id}]})),
        )
        .await?;
    assert_error(&cross_create, 400, "UNKNOWN_AGENT");
    assert!(message_of(&cross_create).contains(&alice_id));
    let cross_add = alice
        .call(
            Method::POST,
            &format!("{CHATS}/{g}/participants"),
            Some(json!({"owner_type": "agent", "owner_id": zed_id})),
        )
        .await?;
    assert_error(&cross_add, 400, "UNKNOWN_AGENT");
    assert!(message_of(&cross_add).contains(&zed_id));
    assert_eq!(
        participant_agents(&alice, &g).await?,
        set(&[&alice_id, &bob_id])
    );
    assert!(
        walk(&zed, CHATS, 100).await?.is_empty(),
        "nothing was created"
    );

    // ...and the other way round.
    let theirs = zed
        .post(CHATS, json!({"type": "talk", "name": "elsewhere"}), 200)
        .await?;
    let z = id_of(&theirs);
    let look = alice
        .call(Method::GET, &format!("{CHATS}/{z}"), None)
        .await?;
    assert_error(&look, 404, "TALK_NOT_FOUND");
    let join = alice
        .call(Method::POST, &format!("{CHATS}/{z}/join"), None)
        .await?;
    assert_error(&join, 404, "TALK_NOT_FOUND");
    let ours: Vec<String> = walk(&alice, CHANNELS, 100)
        .await?
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(ours, vec![c.clone()]);
    assert_eq!(
        walk(&yan, CHANNELS, 100)
            .await?
            .iter()
            .map(id_of)
            .collect::<Vec<_>>(),
        vec![z]
    );

    // A deleted talk: gone from lists, still readable by its participants (VoIPBIN), 404 to others.
    let snapshot = delete(&alice, &format!("{CHATS}/{g}")).await?;
    assert_eq!(snapshot.status, 200);
    assert_eq!(
        snapshot.body["tm_delete"],
        Value::Null,
        "the pre-delete snapshot"
    );
    let after = bob.get(&format!("{CHATS}/{g}")).await?;
    assert!(after["tm_delete"].is_string(), "{after}");
    assert!(!my_talks(&bob).await?.contains(&g));
    let outsider = carol
        .call(Method::GET, &format!("{CHATS}/{g}"), None)
        .await?;
    assert_error(&outsider, 404, "TALK_NOT_FOUND");
    let delete_public = delete(&alice, &format!("{TALKS}/{c}")).await?;
    assert_eq!(delete_public.status, 200);
    assert!(walk(&carol, CHANNELS, 100).await?.is_empty());
    cluster.stop().await;
    Ok(())
}
