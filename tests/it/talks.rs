//! Talks and participants through the public REST API and WebSocket, in both
//! path families (VoIPBIN's `/v1.0/service_agents/talk_chats…` and
//! `talk_channels`, the seed's `/v1.0/talks…`): creation rules of every type,
//! direct-pair de-duplication, close / reopen / auto-close, membership with an
//! exact `member_count` (also under concurrent joins), visibility across
//! participants, outsiders, public channels and customers, pagination,
//! idempotent retries, the events every change publishes, the system messages
//! they leave in the talk, and 400s for every malformed input that change nothing.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::Context;
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use talk_e2e::client::Reply;
use talk_e2e::client::assert_error;
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::{Api, Cluster, Socket, Topology};

const WAIT: Duration = Duration::from_secs(15);
const CHATS: &str = "/v1.0/service_agents/talk_chats";
const CHANNELS: &str = "/v1.0/service_agents/talk_channels";
const TALKS: &str = "/v1.0/talks";

async fn start() -> anyhow::Result<(Cluster, Api)> {
    let cluster = Cluster::start(Topology::Services { nats_url: None }).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    Ok((cluster, admin))
}

fn id_of(value: &Value) -> String {
    value["id"].as_str().unwrap_or_default().to_owned()
}

/// `member_count`, which VoIPBIN's shape omits when it is 0.
fn members(talk: &Value) -> u64 {
    talk["member_count"].as_u64().unwrap_or(0)
}

fn message_of(reply: &Reply) -> String {
    reply.body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn put(api: &Api, path: &str, body: Value) -> anyhow::Result<Value> {
    api.call(Method::PUT, path, Some(body)).await?.expect(200)
}

async fn delete(api: &Api, path: &str) -> anyhow::Result<Reply> {
    api.call(Method::DELETE, path, None).await
}

async fn with_key(
    api: &Api,
    method: Method,
    path: &str,
    body: Option<Value>,
    key: &str,
) -> anyhow::Result<Reply> {
    api.send(method, path, body, &[("Idempotency-Key", key)])
        .await
}

/// Every item of a paged listing, newest first, walking `page_token`.
async fn walk(api: &Api, path: &str, page_size: u32) -> anyhow::Result<Vec<Value>> {
    let mut all = Vec::new();
    let mut token = String::new();
    for _ in 0..1000 {
        let page = api
            .get(&format!(
                "{path}?page_size={page_size}&page_token={}",
                token.replace(':', "%3A")
            ))
            .await?;
        let result = page["result"].as_array().context("no result array")?;
        assert!(result.len() <= page_size as usize, "{page}");
        if result.is_empty() {
            assert_eq!(page["next_page_token"], "", "an empty page has no token");
            return Ok(all);
        }
        token = page["next_page_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            result.last().map(|t| t["tm_create"].clone()),
            Some(Value::String(token.clone())),
            "the token is the last item's tm_create"
        );
        all.extend(result.iter().cloned());
    }
    anyhow::bail!("{path} never ended")
}

/// Ids of the caller's talks (all pages).
async fn my_talks(api: &Api) -> anyhow::Result<Vec<String>> {
    Ok(walk(api, TALKS, 100).await?.iter().map(id_of).collect())
}

/// The agent ids of a talk's active participants, and the list's raw JSON.
async fn participant_agents(api: &Api, talk: &str) -> anyhow::Result<BTreeSet<String>> {
    let list = api.get(&format!("{CHATS}/{talk}/participants")).await?;
    let list = list
        .as_array()
        .context("participants must be a bare array")?;
    Ok(list
        .iter()
        .map(|p| p["owner_id"].as_str().unwrap_or_default().to_owned())
        .collect())
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

/// The talk's system messages (type, owner_id, text), oldest first.
async fn system_messages(api: &Api, talk: &str) -> anyhow::Result<Vec<(String, String)>> {
    let page = api
        .get(&format!("{TALKS}/{talk}/messages?page_size=100"))
        .await?;
    let mut found: Vec<(String, String)> = page["result"]
        .as_array()
        .context("no result")?
        .iter()
        .filter(|m| m["type"] == "system")
        .map(|m| {
            (
                m["owner_id"].as_str().unwrap_or_default().to_owned(),
                m["text"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    found.reverse();
    Ok(found)
}

/// Polls the talk's messages until a system message says `text`; returns them all.
async fn wait_for_system(
    api: &Api,
    talk: &str,
    text: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let found = system_messages(api, talk).await?;
        if found.iter().any(|(_, t)| t == text) {
            return Ok(found);
        }
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!("no system message {text:?} in {found:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn me(api: &Api) -> anyhow::Result<Value> {
    api.get("/v1.0/me").await
}

/// A socket subscribed to `agent_id:<agent>:chat` (acknowledged).
async fn listen(cluster: &Cluster, api: &Api, agent: &str, query: &str) -> anyhow::Result<Socket> {
    Socket::listen(
        &cluster.push,
        api.token.as_deref().unwrap_or_default(),
        agent,
        query,
    )
    .await
}

/// Frames about `talk` (skipping others) until one of type `last`, in order.
async fn frames_until(socket: &mut Socket, talk: &str, last: &str) -> anyhow::Result<Vec<Value>> {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let frame = socket
            .next_within(left)
            .await?
            .with_context(|| format!("no {last} frame; saw {seen:?}"))?;
        let about = frame["data"]["chat_id"] == talk || frame["data"]["id"] == talk;
        if !about || frame["type"] == "message_created" || frame["type"] == "chatmessage_created" {
            continue;
        }
        let done = frame["type"] == last;
        seen.push(frame);
        if done {
            return Ok(seen);
        }
    }
}

fn kinds(frames: &[Value]) -> Vec<&str> {
    frames
        .iter()
        .map(|f| f["type"].as_str().unwrap_or_default())
        .collect()
}

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

    // Only participants close a talk.
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

    // Reopen (any participant), then everything works again.
    let reopened = bob
        .post(&format!("{TALKS}/{g}/reopen"), json!(null), 200)
        .await?;
    assert_eq!(reopened["state"], "active");
    let again = bob
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
    let late = carol
        .call(Method::POST, &format!("{CHATS}/{p}/join"), None)
        .await?;
    assert_error(&late, 409, "TALK_CLOSED");
    let reopen = carol
        .call(Method::POST, &format!("{TALKS}/{p}/reopen"), None)
        .await?;
    assert_error(&reopen, 403, "PERMISSION_DENIED");

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
    let again = delete(&bob, &format!("{CHATS}/{g}/participants/{first_record}")).await?;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_over_250_talks_newest_first() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (_, bob) = admin.create_agent("bob", "Bob").await?;
    let zed = cluster.other_customer("zed", "Zed").await?;

    // 250 talks, one after the other (every fifth public), through both families.
    let mut created = Vec::new();
    for i in 0..250 {
        let kind = if i % 5 == 0 { "talk" } else { "group" };
        let body = json!({"type": kind, "name": format!("t{i:03}")});
        let talk = if i % 2 == 0 {
            alice.post(TALKS, body, 201).await?
        } else {
            alice.post(CHATS, body, 200).await?
        };
        created.push(talk);
    }
    let newest_first: Vec<String> = created.iter().rev().map(id_of).collect();
    let channels_newest_first: Vec<String> = created
        .iter()
        .rev()
        .filter(|t| t["type"] == "talk")
        .map(id_of)
        .collect();

    // Default and cap: 100; the envelope is {result, next_page_token}.
    for query in ["", "?page_size=1000", "?page_size=0", "?page_size=-3"] {
        let page = alice.get(&format!("{CHATS}{query}")).await?;
        let keys: Vec<&String> = page.as_object().context("envelope")?.keys().collect();
        assert_eq!(keys.len(), 2, "{keys:?}");
        let result = page["result"].as_array().context("result")?;
        assert_eq!(result.len(), 100, "{query}");
        let ids: Vec<String> = result.iter().map(id_of).collect();
        assert_eq!(ids, newest_first[..100].to_vec(), "newest first ({query})");
        let token = page["next_page_token"].as_str().context("token")?;
        assert_eq!(token, result[99]["tm_create"].as_str().unwrap_or_default());
        assert_eq!(token.len(), 27, "{token}");
    }

    // Walking the pages gives every talk once, in order, also while new talks
    // arrive (they are newer than the walk's position).
    let mut walked: Vec<String> = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = alice
            .get(&format!("{TALKS}?page_size=30&page_token={token}"))
            .await?;
        let result = page["result"].as_array().context("result")?;
        if result.is_empty() {
            assert_eq!(page["next_page_token"], "");
            break;
        }
        pages += 1;
        assert!(result.len() <= 30);
        walked.extend(result.iter().map(id_of));
        token = page["next_page_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if pages == 1 {
            for n in 0..3 {
                alice
                    .post(
                        CHATS,
                        json!({"type": "group", "name": format!("new{n}")}),
                        200,
                    )
                    .await?;
            }
        }
        anyhow::ensure!(pages < 20, "too many pages");
    }
    assert_eq!(pages, 9, "8 full pages of 30 and one of 10");
    assert_eq!(walked, newest_first, "no duplicates, no gaps, newest first");
    let fresh = alice.get(&format!("{CHATS}?page_size=3")).await?;
    let names: Vec<&str> = fresh["result"]
        .as_array()
        .context("result")?
        .iter()
        .map(|t| t["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, vec!["new2", "new1", "new0"]);

    // The other family walks the same way (with odd page sizes too).
    let voipbin: Vec<String> = walk(&alice, CHATS, 7).await?.iter().map(id_of).collect();
    assert_eq!(voipbin.len(), 253);
    assert_eq!(voipbin[3..].to_vec(), newest_first);

    // Public channels: any agent of the customer pages through all 50.
    let channels: Vec<String> = walk(&bob, CHANNELS, 8).await?.iter().map(id_of).collect();
    assert_eq!(channels, channels_newest_first);
    assert_eq!(channels.len(), 50);
    assert!(
        walk(&bob, CHATS, 100).await?.is_empty(),
        "bob is in none of them"
    );
    assert!(
        walk(&zed, CHANNELS, 100).await?.is_empty(),
        "nor is another customer"
    );

    // Bad paging parameters are 400s.
    for query in ["page_size=ten", "page_size=1.5", "page_token=yesterday"] {
        let reply = alice
            .call(Method::GET, &format!("{CHATS}?{query}"), None)
            .await?;
        assert_error(&reply, 400, "INVALID_REQUEST_PARAMETER");
        let reply = bob
            .call(Method::GET, &format!("{CHANNELS}?{query}"), None)
            .await?;
        assert_error(&reply, 400, "INVALID_REQUEST_PARAMETER");
    }
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_retries_replay_the_first_answer_or_422() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (carol_id, carol) = admin.create_agent("carol", "Carol").await?;

    // Create: same key and body → the same answer and one talk.
    let body = json!({"type": "group", "name": "retry", "participants": [{"owner_type": "agent", "owner_id": bob_id}]});
    let first = with_key(&alice, Method::POST, CHATS, Some(body.clone()), "create-1").await?;
    assert_eq!(first.status, 200, "{}", first.body);
    let second = with_key(&alice, Method::POST, CHATS, Some(body.clone()), "create-1").await?;
    assert_eq!(second.status, 200);
    assert_eq!(second.body, first.body, "the first response, replayed");
    let t = id_of(&first.body);
    assert_eq!(my_talks(&alice).await?, vec![t.clone()]);
    // Same key, another body → 422, nothing created.
    let other = json!({"type": "group", "name": "something else"});
    let reused = with_key(&alice, Method::POST, CHATS, Some(other.clone()), "create-1").await?;
    assert_error(&reused, 422, "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(my_talks(&alice).await?, vec![t.clone()]);
    // Keys belong to their agent: bob's "create-1" is his own.
    let bobs = with_key(&bob, Method::POST, CHATS, Some(other.clone()), "create-1").await?;
    assert_eq!(bobs.status, 200, "{}", bobs.body);
    assert_ne!(id_of(&bobs.body), t);

    // Seed create: the replay keeps the 201.
    let seed_body = json!({"type": "talk", "name": "seed retry"});
    let a = with_key(
        &alice,
        Method::POST,
        TALKS,
        Some(seed_body.clone()),
        "create-2",
    )
    .await?;
    let b = with_key(
        &alice,
        Method::POST,
        TALKS,
        Some(seed_body.clone()),
        "create-2",
    )
    .await?;
    assert_eq!((a.status.as_u16(), b.status.as_u16()), (201, 201));
    assert_eq!(a.body, b.body);
    let channel = id_of(&a.body);

    // Concurrent retries with one key: one talk, one answer.
    let racing = join_all((0..6).map(|_| {
        let alice = alice.clone();
        async move {
            with_key(
                &alice,
                Method::POST,
                TALKS,
                Some(json!({"type": "group", "name": "race"})),
                "create-3",
            )
            .await
        }
    }))
    .await
    .into_iter()
    .collect::<anyhow::Result<Vec<_>>>()?;
    let answers: BTreeSet<String> = racing.iter().map(|r| r.body.to_string()).collect();
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert!(racing.iter().all(|r| r.status == 201));
    let names: Vec<String> = walk(&alice, TALKS, 100)
        .await?
        .iter()
        .map(|t| t["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(names.iter().filter(|n| *n == "race").count(), 1);

    // Update: the replay answers the first result and does not apply it again.
    let path = format!("{CHATS}/{t}");
    let renamed = with_key(
        &alice,
        Method::PUT,
        &path,
        Some(json!({"name": "n1"})),
        "put-1",
    )
    .await?;
    assert_eq!(renamed.body["name"], "n1");
    put(&alice, &path, json!({"name": "n2"})).await?;
    let replay = with_key(
        &alice,
        Method::PUT,
        &path,
        Some(json!({"name": "n1"})),
        "put-1",
    )
    .await?;
    assert_eq!(replay.status, 200);
    assert_eq!(replay.body, renamed.body);
    assert_eq!(
        alice.get(&path).await?["name"],
        "n2",
        "the replay changed nothing"
    );
    let changed = with_key(
        &alice,
        Method::PUT,
        &path,
        Some(json!({"name": "n3"})),
        "put-1",
    )
    .await?;
    assert_error(&changed, 422, "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(alice.get(&path).await?["name"], "n2");

    // Add, remove, re-add: a replayed add does not add again.
    let add_path = format!("{TALKS}/{t}/participants");
    let added = with_key(
        &alice,
        Method::POST,
        &add_path,
        Some(json!({"agent_id": carol_id})),
        "add-1",
    )
    .await?;
    assert_eq!(added.status, 201, "{}", added.body);
    let record = id_of(&added.body);
    assert_eq!(members(&alice.get(&path).await?), 3);
    let remove_path = format!("{CHATS}/{t}/participants/{record}");
    let removed = with_key(&alice, Method::DELETE, &remove_path, None, "remove-1").await?;
    let removed_again = with_key(&alice, Method::DELETE, &remove_path, None, "remove-1").await?;
    assert_eq!(
        (removed.status.as_u16(), removed_again.status.as_u16()),
        (200, 200)
    );
    assert_eq!(removed_again.body, Value::Null);
    assert_eq!(members(&alice.get(&path).await?), 2);
    let replayed_add = with_key(
        &alice,
        Method::POST,
        &add_path,
        Some(json!({"agent_id": carol_id})),
        "add-1",
    )
    .await?;
    assert_eq!(replayed_add.status, 201);
    assert_eq!(replayed_add.body, added.body);
    assert_eq!(
        members(&alice.get(&path).await?),
        2,
        "carol was not added again"
    );
    assert!(!participant_agents(&alice, &t).await?.contains(&carol_id));

    // Join and leave: the retry of a leave is not a 404.
    let join_path = format!("{CHATS}/{channel}/join");
    let joined = with_key(&carol, Method::POST, &join_path, None, "join-1").await?;
    let joined_again = with_key(&carol, Method::POST, &join_path, None, "join-1").await?;
    assert_eq!(joined.status, 200, "{}", joined.body);
    assert_eq!(joined_again.body, joined.body);
    let leave_path = format!("{TALKS}/{channel}/leave");
    let left = with_key(&carol, Method::POST, &leave_path, None, "leave-1").await?;
    let left_again = with_key(&carol, Method::POST, &leave_path, None, "leave-1").await?;
    assert_eq!(
        (left.status.as_u16(), left_again.status.as_u16()),
        (200, 200),
        "{}",
        left_again.body
    );
    assert_eq!(left_again.body, left.body);
    assert_eq!(members(&alice.get(&format!("{TALKS}/{channel}")).await?), 1);

    // Close and reopen: the retry is not a 409.
    for (action, key) in [("close", "close-1"), ("reopen", "reopen-1")] {
        let p = format!("{TALKS}/{t}/{action}");
        let once = with_key(&bob, Method::POST, &p, None, key).await?;
        let twice = with_key(&bob, Method::POST, &p, None, key).await?;
        assert_eq!(
            (once.status.as_u16(), twice.status.as_u16()),
            (200, 200),
            "{}",
            twice.body
        );
        assert_eq!(once.body, twice.body);
    }
    assert_eq!(alice.get(&path).await?["state"], "active");

    // Delete: the retry answers the same snapshot instead of 404.
    let gone = with_key(&alice, Method::DELETE, &path, None, "delete-1").await?;
    let gone_again = with_key(&alice, Method::DELETE, &path, None, "delete-1").await?;
    assert_eq!(
        (gone.status.as_u16(), gone_again.status.as_u16()),
        (200, 200),
        "{}",
        gone_again.body
    );
    assert_eq!(gone.body, gone_again.body);
    assert!(!my_talks(&alice).await?.contains(&t));

    // A key that is not 1–255 visible ASCII characters is refused, and nothing happens.
    let long = "k".repeat(256);
    let before = my_talks(&alice).await?;
    let refused = with_key(
        &alice,
        Method::POST,
        TALKS,
        Some(json!({"name": "x"})),
        &long,
    )
    .await?;
    assert_error(&refused, 400, "INVALID_IDEMPOTENCY_KEY");
    assert_eq!(my_talks(&alice).await?, before);
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_publishes_its_event_to_the_participants() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (alice_id, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (carol_id, carol) = admin.create_agent("carol", "Carol").await?;
    let mut alice_ws = listen(&cluster, &alice, &alice_id, "").await?;
    let mut bob_ws = listen(&cluster, &bob, &bob_id, "events=voipbin").await?;
    let mut carol_ws = listen(&cluster, &carol, &carol_id, "").await?;

    // Create: one participant_joined per member, then talk_created.
    let talk = alice
        .post(
            TALKS,
            json!({"type": "group", "name": "events", "participant_ids": [bob_id]}),
            201,
        )
        .await?;
    let t = id_of(&talk);
    let frames = frames_until(&mut alice_ws, &t, "talk_created").await?;
    assert_eq!(
        kinds(&frames),
        vec!["participant_joined", "participant_joined", "talk_created"]
    );
    let joined: BTreeSet<String> = frames[..2]
        .iter()
        .map(|f| {
            f["data"]["owner_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(joined, set(&[&alice_id, &bob_id]));
    let created = &frames[2];
    assert_eq!(created["data"], talk, "the Talk in its REST shape");
    assert_eq!(created["data"]["name"], "events");
    assert_eq!(created["data"]["member_count"], 2);
    assert_eq!(created["topic"], format!("agent_id:{alice_id}:chat:{t}"));
    assert!(created["cursor"].as_str().is_some_and(|c| !c.is_empty()));
    let frames = frames_until(&mut bob_ws, &t, "chat_created").await?;
    assert_eq!(
        kinds(&frames),
        vec!["chatparticipant_added", "chat_created"],
        "VoIPBIN's names with ?events=voipbin; bob hears the talk from his own joining on"
    );
    assert_eq!(frames[0]["data"]["owner_id"], bob_id.as_str());
    assert_eq!(frames[1]["data"]["member_count"], 2);
    assert_eq!(frames[1]["topic"], format!("agent_id:{bob_id}:chat:{t}"));

    // Update.
    put(
        &alice,
        &format!("{CHATS}/{t}"),
        json!({"name": "renamed", "detail": "d"}),
    )
    .await?;
    let frames = frames_until(&mut alice_ws, &t, "talk_updated").await?;
    assert_eq!(kinds(&frames), vec!["talk_updated"]);
    assert_eq!(frames[0]["data"]["name"], "renamed");
    assert_eq!(frames[0]["data"]["detail"], "d");
    let frames = frames_until(&mut bob_ws, &t, "chat_updated").await?;
    assert_eq!(frames[0]["data"]["name"], "renamed");

    // Add: participant_joined, also to the new member.
    let added = alice
        .post(
            &format!("{CHATS}/{t}/participants"),
            json!({"owner_type": "agent", "owner_id": carol_id}),
            200,
        )
        .await?;
    let frames = frames_until(&mut alice_ws, &t, "participant_joined").await?;
    assert_eq!(
        frames[0]["data"], added,
        "the Participant in its REST shape"
    );
    let frames = frames_until(&mut carol_ws, &t, "participant_joined").await?;
    assert_eq!(frames[0]["data"]["owner_id"], carol_id.as_str());
    let frames = frames_until(&mut bob_ws, &t, "chatparticipant_added").await?;
    assert_eq!(frames[0]["data"]["owner_id"], carol_id.as_str());

    // Remove: participant_left to everyone, the removed agent included (its last frame).
    delete(
        &alice,
        &format!("{CHATS}/{t}/participants/{}", id_of(&added)),
    )
    .await?;
    for socket in [&mut alice_ws, &mut carol_ws] {
        let frames = frames_until(socket, &t, "participant_left").await?;
        assert_eq!(kinds(&frames), vec!["participant_left"]);
        assert_eq!(frames[0]["data"]["owner_id"], carol_id.as_str());
        assert_eq!(frames[0]["data"]["state"], "left");
        assert!(frames[0]["data"]["tm_left"].is_string());
    }
    let frames = frames_until(&mut bob_ws, &t, "chatparticipant_removed").await?;
    assert_eq!(frames[0]["data"]["owner_id"], carol_id.as_str());

    // Close, reopen, delete.
    alice
        .post(&format!("{TALKS}/{t}/close"), json!(null), 200)
        .await?;
    let frames = frames_until(&mut alice_ws, &t, "talk_closed").await?;
    assert_eq!(kinds(&frames), vec!["talk_closed"]);
    assert_eq!(frames[0]["data"]["state"], "closed");
    bob.post(&format!("{TALKS}/{t}/reopen"), json!(null), 200)
        .await?;
    let frames = frames_until(&mut alice_ws, &t, "talk_reopened").await?;
    assert_eq!(kinds(&frames), vec!["talk_reopened"]);
    assert_eq!(frames[0]["data"]["state"], "active");
    let frames = frames_until(&mut bob_ws, &t, "chat_updated").await?;
    assert_eq!(
        frames[0]["data"]["state"], "closed",
        "close is a chat_updated for VoIPBIN"
    );
    let frames = frames_until(&mut bob_ws, &t, "chat_updated").await?;
    assert_eq!(frames[0]["data"]["state"], "active");
    delete(&bob, &format!("{TALKS}/{t}")).await?;
    let frames = frames_until(&mut alice_ws, &t, "talk_deleted").await?;
    assert_eq!(kinds(&frames), vec!["talk_deleted"]);
    assert_eq!(frames[0]["data"]["id"], t.as_str());
    assert_eq!(
        frames[0]["data"]["tm_delete"],
        Value::Null,
        "the pre-delete snapshot"
    );
    frames_until(&mut bob_ws, &t, "chat_deleted").await?;

    // Join and leave of a public talk reach its members.
    let lobby = alice
        .post(CHATS, json!({"type": "talk", "name": "lobby"}), 200)
        .await?;
    let l = id_of(&lobby);
    frames_until(&mut alice_ws, &l, "talk_created").await?;
    carol
        .post(&format!("{CHATS}/{l}/join"), json!(null), 200)
        .await?;
    let frames = frames_until(&mut alice_ws, &l, "participant_joined").await?;
    assert_eq!(frames[0]["data"]["owner_id"], carol_id.as_str());
    carol
        .post(&format!("{TALKS}/{l}/leave"), json!(null), 200)
        .await?;
    let frames = frames_until(&mut alice_ws, &l, "participant_left").await?;
    assert_eq!(frames[0]["data"]["owner_id"], carol_id.as_str());

    // carol, removed from the first talk, heard nothing more of it: the next
    // frames she gets are about the lobby (events arrive in order).
    let mut next = Vec::new();
    while next.len() < 2 {
        let frame = carol_ws
            .next_within(WAIT)
            .await?
            .context("carol's lobby frames")?;
        if frame["type"] == "message_created" && frame["data"]["chat_id"] == l.as_str() {
            continue;
        }
        next.push(frame);
    }
    for frame in &next {
        assert_eq!(frame["data"]["chat_id"], l.as_str(), "{frame}");
    }
    assert_eq!(kinds(&next), vec!["participant_joined", "participant_left"]);
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_messages_once_per_change_even_when_retried() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (carol_id, carol) = admin.create_agent("carol", "Carol").await?;
    let (dave_id, _) = admin.create_agent("dave", "Dave").await?;

    let lobby = alice
        .post(
            CHATS,
            json!({"type": "talk", "name": "lobby", "participants": [
            {"owner_type": "agent", "owner_id": dave_id}]}),
            200,
        )
        .await?;
    let l = id_of(&lobby);
    // Every change below is sent twice with one Idempotency-Key.
    let twice = |api: &Api, method: Method, path: String, key: &'static str| {
        let api = api.clone();
        async move {
            let first = with_key(&api, method.clone(), &path, None, key).await?;
            let second = with_key(&api, method, &path, None, key).await?;
            anyhow::ensure!(
                first.status == 200 && second.status == 200,
                "{first:?} {second:?}"
            );
            anyhow::ensure!(first.body == second.body, "{first:?} {second:?}");
            anyhow::Ok(first.body)
        }
    };
    twice(&bob, Method::POST, format!("{CHATS}/{l}/join"), "join").await?;
    twice(&bob, Method::POST, format!("{TALKS}/{l}/leave"), "leave").await?;
    twice(&alice, Method::POST, format!("{TALKS}/{l}/close"), "close").await?;
    twice(
        &alice,
        Method::POST,
        format!("{TALKS}/{l}/reopen"),
        "reopen",
    )
    .await?;
    let dave_record = alice
        .get(&format!("{CHATS}/{l}/participants"))
        .await?
        .as_array()
        .and_then(|l| {
            l.iter()
                .find(|p| p["owner_id"] == dave_id.as_str())
                .map(id_of)
        })
        .context("dave's record")?;
    twice(
        &alice,
        Method::DELETE,
        format!("{CHATS}/{l}/participants/{dave_record}"),
        "remove",
    )
    .await?;
    // A last change whose message arrives after every earlier one.
    carol
        .post(&format!("{TALKS}/{l}/join"), json!(null), 200)
        .await?;
    let found = wait_for_system(&alice, &l, "Carol joined the conversation.").await?;
    let texts: Vec<&str> = found.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(
        texts,
        vec![
            "Bob joined the conversation.",
            "Bob left the conversation.",
            "The conversation was closed.",
            "The conversation was reopened.",
            "Dave left the conversation.",
            "Carol joined the conversation.",
        ],
        "one per change, in order, none for the members a talk was created with"
    );
    assert_eq!(found[0].0, bob_id);
    assert_eq!(found[4].0, dave_id);
    assert_eq!(found[5].0, carol_id);
    // Participants read them in the VoIPBIN family too.
    let page = carol
        .get(&format!("/v1.0/service_agents/talk_messages?chat_id={l}"))
        .await?;
    let system = page["result"]
        .as_array()
        .map_or(0, |r| r.iter().filter(|m| m["type"] == "system").count());
    assert_eq!(system, 6);

    // A private talk: the same for joins by add and a leave.
    let group = alice
        .post(
            TALKS,
            json!({"type": "group", "participant_ids": [bob_id]}),
            201,
        )
        .await?;
    let g = id_of(&group);
    let add = |key: &'static str| {
        let alice = alice.clone();
        let path = format!("{TALKS}/{g}/participants");
        let body = json!({"agent_id": carol_id});
        async move { with_key(&alice, Method::POST, &path, Some(body), key).await }
    };
    assert_eq!(add("add").await?.status, 201);
    assert_eq!(add("add").await?.status, 201);
    carol
        .post(&format!("{TALKS}/{g}/leave"), json!(null), 200)
        .await?;
    alice
        .post(&format!("{TALKS}/{g}/close"), json!(null), 200)
        .await?;
    let found = wait_for_system(&bob, &g, "The conversation was closed.").await?;
    let texts: Vec<&str> = found.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(
        texts,
        vec![
            "Carol joined the conversation.",
            "Carol left the conversation.",
            "The conversation was closed.",
        ]
    );
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_input_gets_400_with_a_reason_and_changes_nothing() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (alice_id, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (carol_id, carol) = admin.create_agent("carol", "Carol").await?;
    let base = alice
        .post(
            TALKS,
            json!({"type": "group", "name": "base", "detail": "kept", "participant_ids": [bob_id]}),
            201,
        )
        .await?;
    let g = id_of(&base);
    let g_before = alice.get(&format!("{CHATS}/{g}")).await?;
    let bob_record = bob
        .get(&format!("{CHATS}/{g}/participants"))
        .await?
        .as_array()
        .and_then(|l| {
            l.iter()
                .find(|p| p["owner_id"] == bob_id.as_str())
                .map(id_of)
        })
        .context("bob's record")?;
    let unknown = uuid::Uuid::new_v4().to_string();
    let long_name = "n".repeat(256);
    let long_detail = "d".repeat(4097);

    // Create, in both families.
    let creates: Vec<(String, &str)> = vec![
        ("{not json".into(), "INVALID_JSON_BODY"),
        (String::new(), "INVALID_JSON_BODY"),
        ("[]".into(), "INVALID_JSON_BODY"),
        ("\"group\"".into(), "INVALID_JSON_BODY"),
        (json!({"type": 7}).to_string(), "INVALID_JSON_BODY"),
        (json!({"type": "group", "name": 5}).to_string(), "INVALID_JSON_BODY"),
        (json!({"type": "group", "detail": true}).to_string(), "INVALID_JSON_BODY"),
        (json!({"type": "group", "participants": "bob"}).to_string(), "INVALID_JSON_BODY"),
        (json!({"type": "group", "participants": [{"owner_type": "agent"}]}).to_string(), "INVALID_JSON_BODY"),
        (json!({"type": "group", "participants": [{"owner_id": 5}]}).to_string(), "INVALID_JSON_BODY"),
        (json!({"type": "group", "participant_ids": [5]}).to_string(), "INVALID_JSON_BODY"),
        (json!({"type": "group", "participant_ids": bob_id}).to_string(), "INVALID_JSON_BODY"),
        (json!({"type": "group", "participant_ids": ["not-a-uuid"]}).to_string(), "INVALID_ID"),
        (json!({"type": "group", "participants": [{"owner_type": "agent", "owner_id": "12345"}]}).to_string(), "INVALID_ID"),
        (json!({"type": "group", "participants": [{"owner_type": "customer", "owner_id": bob_id}]}).to_string(), "INVALID_OWNER_TYPE"),
        (json!({"type": "channel"}).to_string(), "INVALID_TYPE"),
        (json!({"type": "direct"}).to_string(), "INVALID_PARTICIPANTS"),
        (json!({"type": "direct", "participant_ids": [alice_id]}).to_string(), "INVALID_PARTICIPANTS"),
        (json!({"type": "direct", "participant_ids": [bob_id, carol_id]}).to_string(), "INVALID_PARTICIPANTS"),
        (json!({"type": "group", "participant_ids": [carol_id, unknown]}).to_string(), "UNKNOWN_AGENT"),
        (json!({"type": "direct", "participants": [{"owner_type": "agent", "owner_id": unknown}]}).to_string(), "UNKNOWN_AGENT"),
        (json!({"participant_ids": [unknown]}).to_string(), "UNKNOWN_AGENT"),
        (json!({"type": "group", "name": long_name}).to_string(), "FIELD_TOO_LONG"),
        (json!({"type": "talk", "detail": long_detail}).to_string(), "FIELD_TOO_LONG"),
    ];
    for path in [CHATS, TALKS] {
        for (body, reason) in &creates {
            let reply = alice.raw(Method::POST, path, body).await?;
            assert_error(&reply, 400, reason);
            if *reason == "UNKNOWN_AGENT" {
                let message = message_of(&reply);
                assert!(message.contains(&unknown), "names the agent: {message}");
                assert!(
                    !message.contains(&carol_id),
                    "only the unknown one: {message}"
                );
            }
            if *reason == "INVALID_JSON_BODY" && body.contains("owner_type\":\"agent\"}") {
                assert!(message_of(&reply).contains("owner_id"), "{}", reply.body);
            }
        }
    }

    // Bad ids in paths.
    let bad_paths: Vec<(Method, String, Option<Value>, &str)> = vec![
        (Method::GET, format!("{CHATS}/not-a-uuid"), None, "id"),
        (Method::GET, format!("{TALKS}/123"), None, "id"),
        (
            Method::PUT,
            format!("{CHATS}/123"),
            Some(json!({"name": "x"})),
            "id",
        ),
        (
            Method::PUT,
            format!("{TALKS}/xyz"),
            Some(json!({"name": "x"})),
            "id",
        ),
        (Method::DELETE, format!("{CHATS}/xyz"), None, "id"),
        (Method::DELETE, format!("{TALKS}/xyz"), None, "id"),
        (Method::POST, format!("{CHATS}/xyz/join"), None, "id"),
        (Method::POST, format!("{TALKS}/xyz/join"), None, "id"),
        (Method::POST, format!("{TALKS}/xyz/leave"), None, "id"),
        (Method::POST, format!("{TALKS}/xyz/close"), None, "id"),
        (Method::POST, format!("{TALKS}/xyz/reopen"), None, "id"),
        (Method::GET, format!("{CHATS}/xyz/participants"), None, "id"),
        (Method::GET, format!("{TALKS}/xyz/participants"), None, "id"),
        (
            Method::POST,
            format!("{CHATS}/xyz/participants"),
            Some(json!({"owner_type": "agent", "owner_id": carol_id})),
            "id",
        ),
        (
            Method::POST,
            format!("{TALKS}/xyz/participants"),
            Some(json!({"agent_id": carol_id})),
            "id",
        ),
        (
            Method::DELETE,
            format!("{CHATS}/{g}/participants/nope"),
            None,
            "participant_id",
        ),
        (
            Method::DELETE,
            format!("{TALKS}/{g}/participants/nope"),
            None,
            "participant_id",
        ),
        (
            Method::DELETE,
            format!("{CHATS}/nope/participants/{bob_record}"),
            None,
            "id",
        ),
    ];
    for (method, path, body, field) in bad_paths {
        let reply = alice.call(method, &path, body).await?;
        assert_error(&reply, 400, "INVALID_ID");
        assert_eq!(
            message_of(&reply),
            format!("The provided {field} is not a valid UUID."),
            "{path}"
        );
    }

    // Update.
    let updates: Vec<(String, &str)> = vec![
        ("{}".into(), "MISSING_FIELD"),
        ("{bad".into(), "INVALID_JSON_BODY"),
        (String::new(), "INVALID_JSON_BODY"),
        (json!({"name": 3}).to_string(), "INVALID_JSON_BODY"),
        (json!({"detail": ["x"]}).to_string(), "INVALID_JSON_BODY"),
        (json!({"name": long_name}).to_string(), "FIELD_TOO_LONG"),
        (
            json!({"name": "ok", "detail": long_detail}).to_string(),
            "FIELD_TOO_LONG",
        ),
    ];
    for path in [format!("{CHATS}/{g}"), format!("{TALKS}/{g}")] {
        for (body, reason) in &updates {
            let reply = alice.raw(Method::PUT, &path, body).await?;
            assert_error(&reply, 400, reason);
        }
    }

    // Add participant.
    let adds: Vec<(String, String, &str)> = vec![
        (CHATS.into(), "{}".into(), "MISSING_FIELD"),
        (TALKS.into(), "{}".into(), "MISSING_FIELD"),
        (TALKS.into(), "nope".into(), "INVALID_JSON_BODY"),
        (TALKS.into(), String::new(), "INVALID_JSON_BODY"),
        (
            CHATS.into(),
            json!({"owner_id": 7}).to_string(),
            "INVALID_JSON_BODY",
        ),
        (
            TALKS.into(),
            json!({"agent_id": [carol_id]}).to_string(),
            "INVALID_JSON_BODY",
        ),
        (
            TALKS.into(),
            json!({"agent_id": "nope"}).to_string(),
            "INVALID_ID",
        ),
        (
            CHATS.into(),
            json!({"owner_type": "agent", "owner_id": "nope"}).to_string(),
            "INVALID_ID",
        ),
        (
            CHATS.into(),
            json!({"owner_type": "bot", "owner_id": carol_id}).to_string(),
            "INVALID_OWNER_TYPE",
        ),
        (
            TALKS.into(),
            json!({"agent_id": unknown}).to_string(),
            "UNKNOWN_AGENT",
        ),
        (
            CHATS.into(),
            json!({"owner_type": "agent", "owner_id": unknown}).to_string(),
            "UNKNOWN_AGENT",
        ),
    ];
    for (family, body, reason) in &adds {
        let reply = alice
            .raw(Method::POST, &format!("{family}/{g}/participants"), body)
            .await?;
        assert_error(&reply, 400, reason);
        if *reason == "UNKNOWN_AGENT" {
            assert!(message_of(&reply).contains(&unknown), "{}", reply.body);
        }
    }

    // Nothing changed: the same talks, the same talk, the same members, no messages.
    assert_eq!(my_talks(&alice).await?, vec![g.clone()]);
    assert_eq!(my_talks(&bob).await?, vec![g.clone()]);
    assert!(my_talks(&carol).await?.is_empty());
    assert!(walk(&carol, CHANNELS, 100).await?.is_empty());
    assert_eq!(alice.get(&format!("{CHATS}/{g}")).await?, g_before);
    assert_eq!(
        participant_agents(&alice, &g).await?,
        set(&[&alice_id, &bob_id])
    );
    let messages = alice.get(&format!("{TALKS}/{g}/messages")).await?;
    assert_eq!(messages["result"], json!([]));

    // The limits count characters, not bytes: 255 and 4,096 are fine.
    let at_limit = alice
        .post(
            CHATS,
            json!({"type": "group", "name": "é".repeat(255), "detail": "語".repeat(4096)}),
            200,
        )
        .await?;
    assert_eq!(
        at_limit["name"].as_str().map(|n| n.chars().count()),
        Some(255)
    );
    assert_eq!(
        at_limit["detail"].as_str().map(|d| d.chars().count()),
        Some(4096)
    );
    let renamed = put(
        &alice,
        &format!("{TALKS}/{g}"),
        json!({"name": "ü".repeat(255)}),
    )
    .await?;
    assert_eq!(renamed["detail"], "kept");
    cluster.stop().await;
    Ok(())
}
