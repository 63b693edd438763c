//! What a VoIPBIN client sees, through the public REST API against
//! PostgreSQL and NATS: `talk_channels` with the caller's real
//! `unread_count` (the seed listing's) and an exact `member_count`; error
//! bodies whose `status` stays within VoIPBIN's enum on VoIPBIN's paths
//! while the seed's paths keep Talk's richer set; and the agent paths a
//! client calls on start — the directory, one agent, and `PUT me`.

use anyhow::Context;
use reqwest::Method;
use serde_json::{Value, json};
use talk_e2e::client::{Reply, assert_error};
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::{Api, Cluster, Topology};

const CHATS: &str = "/v1.0/service_agents/talk_chats";
const CHANNELS: &str = "/v1.0/service_agents/talk_channels";
const MESSAGES: &str = "/v1.0/service_agents/talk_messages";
const TALKS: &str = "/v1.0/talks";
const ME: &str = "/v1.0/service_agents/me";
const AGENTS: &str = "/v1.0/service_agents/agents";

async fn start() -> anyhow::Result<(Cluster, Api)> {
    let cluster = Cluster::start(Topology::Services { nats_url: None }).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    Ok((cluster, admin))
}

fn id_of(value: &Value) -> String {
    value["id"].as_str().unwrap_or_default().to_owned()
}

fn results(page: &Value) -> Vec<Value> {
    page["result"].as_array().cloned().unwrap_or_default()
}

/// The talk `id` in one page of `path` as `api` sees it.
async fn listed(api: &Api, path: &str, id: &str) -> anyhow::Result<Option<Value>> {
    let page = api.get(&format!("{path}?page_size=100")).await?;
    Ok(results(&page).into_iter().find(|t| t["id"] == id))
}

/// `unread_count` of talk `id` in one listing (`u64::MAX` when absent).
async fn unread_in(api: &Api, path: &str, id: &str) -> anyhow::Result<u64> {
    Ok(listed(api, path, id)
        .await?
        .and_then(|t| t["unread_count"].as_u64())
        .unwrap_or(u64::MAX))
}

/// `member_count` of channel `id` in `talk_channels` (omitted when 0, as VoIPBIN).
async fn channel_members(api: &Api, id: &str) -> anyhow::Result<u64> {
    let channel = listed(api, CHANNELS, id)
        .await?
        .context("the channel is listed")?;
    Ok(channel["member_count"].as_u64().unwrap_or(0))
}

/// The active participants of a talk (VoIPBIN's bare array).
async fn participants(api: &Api, id: &str) -> anyhow::Result<Vec<Value>> {
    let list = api.get(&format!("{CHATS}/{id}/participants")).await?;
    Ok(list.as_array().cloned().unwrap_or_default())
}

async fn post_chat(api: &Api, chat: &str, text: &str) -> anyhow::Result<Value> {
    api.post(
        MESSAGES,
        json!({"chat_id": chat, "type": "normal", "text": text}),
        200,
    )
    .await
}

/// An error answer: HTTP `http`, `error.status` `status`, `error.reason` `reason`.
#[track_caller]
fn assert_status(reply: &Reply, http: u16, status: &str, reason: &str) {
    assert_eq!(reply.status.as_u16(), http, "{}", reply.body);
    assert_eq!(reply.body["error"]["status"], status, "{}", reply.body);
    assert_eq!(reply.body["error"]["reason"], reason, "{}", reply.body);
    assert!(
        reply.body["error"]["request_id"]
            .as_str()
            .is_some_and(|r| !r.is_empty()),
        "{}",
        reply.body
    );
}

/// `talk_channels` shows the caller's real unread count in the channels it
/// is in — the same number the seed's `GET /v1.0/talks` shows, and 0 after a
/// read — and 0 in channels it is not in; `member_count` is the number of
/// active participants after a join and after a leave.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voipbin_channels_show_the_seed_unread_count_and_exact_member_count() -> anyhow::Result<()>
{
    let (cluster, admin) = start().await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (carol_id, carol) = admin.create_agent("carol", "Carol").await?;
    let (dave_id, dave) = admin.create_agent("dave", "Dave").await?;

    // Everyone in from the start: no "joined" system message takes a seq.
    let general = id_of(
        &alice
            .post(
                TALKS,
                json!({"type": "talk", "name": "general", "participant_ids": [bob_id, carol_id]}),
                201,
            )
            .await?,
    );
    // A channel alice is not in.
    let elsewhere = id_of(
        &bob.post(CHATS, json!({"type": "talk", "name": "elsewhere"}), 200)
            .await?,
    );
    assert_eq!(unread_in(&alice, CHANNELS, &general).await?, 0);

    for n in 1..=3 {
        post_chat(&bob, &general, &format!("from bob {n}")).await?;
    }
    post_chat(&carol, &general, "from carol").await?;
    post_chat(&bob, &elsewhere, "not for alice").await?;

    let seed = unread_in(&alice, TALKS, &general).await?;
    assert_eq!(seed, 4, "the seed listing counts four messages by others");
    assert_eq!(unread_in(&alice, CHANNELS, &general).await?, seed);
    assert_eq!(unread_in(&alice, CHATS, &general).await?, seed);
    assert_eq!(
        unread_in(&bob, CHANNELS, &general).await?,
        unread_in(&bob, TALKS, &general).await?,
        "bob's own posts are read; carol's is not"
    );
    assert_eq!(unread_in(&bob, CHANNELS, &general).await?, 1);
    assert_eq!(
        unread_in(&alice, CHANNELS, &elsewhere).await?,
        0,
        "a channel alice is not in has nothing for her to read"
    );
    assert_eq!(unread_in(&bob, CHANNELS, &elsewhere).await?, 0);

    // A read to the last seq: both listings drop to 0.
    let last_seq = listed(&alice, TALKS, &general)
        .await?
        .and_then(|t| t["last_seq"].as_u64())
        .context("last_seq")?;
    alice
        .post(
            &format!("{TALKS}/{general}/read"),
            json!({"seq": last_seq}),
            200,
        )
        .await?;
    assert_eq!(unread_in(&alice, TALKS, &general).await?, 0);
    assert_eq!(unread_in(&alice, CHANNELS, &general).await?, 0);

    // member_count follows a join and a leave.
    assert_eq!(channel_members(&alice, &general).await?, 3);
    assert_eq!(participants(&alice, &general).await?.len(), 3);
    dave.post(&format!("{CHATS}/{general}/join"), json!({}), 200)
        .await?;
    let after_join = participants(&alice, &general).await?;
    assert_eq!(after_join.len(), 4);
    assert_eq!(channel_members(&alice, &general).await?, 4);
    assert_eq!(channel_members(&dave, &general).await?, 4);
    let carols = after_join
        .iter()
        .find(|p| p["owner_id"] == carol_id.as_str())
        .map(id_of)
        .context("carol's participant record")?;
    carol
        .call(
            Method::DELETE,
            &format!("{CHATS}/{general}/participants/{carols}"),
            None,
        )
        .await?
        .expect(200)?;
    let after_leave = participants(&alice, &general).await?;
    assert_eq!(after_leave.len(), 3);
    assert!(
        after_leave
            .iter()
            .all(|p| p["owner_id"] != carol_id.as_str())
    );
    assert!(
        after_leave
            .iter()
            .any(|p| p["owner_id"] == dave_id.as_str())
    );
    assert_eq!(channel_members(&alice, &general).await?, 3);
    assert_eq!(
        channel_members(&carol, &general).await?,
        3,
        "one who left still sees the channel"
    );
    cluster.stop().await;
    Ok(())
}

/// VoIPBIN's `error.status` has no PAYLOAD_TOO_LARGE and no
/// UNPROCESSABLE_ENTITY: on `/v1.0/service_agents/*` and `/auth/*` they are
/// INVALID_ARGUMENT and FAILED_PRECONDITION (same HTTP code and reason),
/// whoever made the error; the seed's paths keep Talk's own status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voipbin_paths_answer_only_voipbin_error_statuses() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let talk = id_of(
        &alice
            .post(CHATS, json!({"type": "group", "name": "errors"}), 200)
            .await?,
    );
    let huge = format!(
        "{{\"chat_id\": \"{talk}\", \"type\": \"normal\", \"text\": \"{}\"}}",
        "a".repeat(1024 * 1024 + 16)
    );

    // 413 from the body limit (the JSON extractor).
    let voipbin = alice.raw(Method::POST, MESSAGES, &huge).await?;
    assert_status(&voipbin, 413, "INVALID_ARGUMENT", "PAYLOAD_TOO_LARGE");
    let seed = alice
        .raw(Method::POST, &format!("{TALKS}/{talk}/messages"), &huge)
        .await?;
    assert_status(&seed, 413, "PAYLOAD_TOO_LARGE", "PAYLOAD_TOO_LARGE");
    // 413 from the idempotency middleware, which reads the body first.
    let keyed = |path: &str| {
        reqwest::Client::new()
            .post(format!("{}{path}", cluster.edge))
            .bearer_auth(alice.token.clone().unwrap_or_default())
            .header("content-type", "application/json")
            .header("idempotency-key", "too-big")
            .body(huge.clone())
    };
    let voipbin = keyed(MESSAGES).send().await?;
    assert_eq!(voipbin.status(), 413);
    let body: Value = voipbin.json().await?;
    assert_eq!(body["error"]["status"], "INVALID_ARGUMENT", "{body}");
    assert_eq!(body["error"]["reason"], "PAYLOAD_TOO_LARGE", "{body}");
    let seed: Value = keyed(&format!("{TALKS}/{talk}/messages"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(seed["error"]["status"], "PAYLOAD_TOO_LARGE", "{seed}");
    // 413 on VoIPBIN's login path.
    let anonymous = Api::new(&cluster.edge);
    let login = anonymous
        .raw(
            Method::POST,
            "/auth/login",
            &format!("{{\"username\": \"{}\"}}", "a".repeat(1024 * 1024 + 16)),
        )
        .await?;
    assert_status(&login, 413, "INVALID_ARGUMENT", "PAYLOAD_TOO_LARGE");
    let written = alice.get(&format!("{MESSAGES}?chat_id={talk}")).await?;
    assert!(
        results(&written).is_empty(),
        "refused posts wrote nothing: {written}"
    );

    // 422: an Idempotency-Key reused with another request.
    for (path, status, key) in [
        (
            format!("{CHATS}/{talk}"),
            "FAILED_PRECONDITION",
            "rename-voipbin",
        ),
        (
            format!("{TALKS}/{talk}"),
            "UNPROCESSABLE_ENTITY",
            "rename-seed",
        ),
    ] {
        let key = [("Idempotency-Key", key)];
        alice
            .send(Method::PUT, &path, Some(json!({"name": "first"})), &key)
            .await?
            .expect(200)?;
        let reused = alice
            .send(Method::PUT, &path, Some(json!({"name": "second"})), &key)
            .await?;
        assert_status(&reused, 422, status, "IDEMPOTENCY_KEY_REUSED");
    }
    assert_eq!(
        alice.get(&format!("{CHATS}/{talk}")).await?["name"],
        "first"
    );

    // Statuses VoIPBIN has are left as they are on its paths.
    let unknown = alice
        .call(
            Method::GET,
            &format!("{AGENTS}/{}", uuid::Uuid::new_v4()),
            None,
        )
        .await?;
    assert_status(&unknown, 404, "NOT_FOUND", "AGENT_NOT_FOUND");
    let route = alice
        .call(Method::GET, "/v1.0/service_agents/nothing", None)
        .await?;
    assert_status(&route, 404, "NOT_FOUND", "ROUTE_NOT_FOUND");
    cluster.stop().await;
    Ok(())
}

/// The agent paths a VoIPBIN agent client calls on start: the directory
/// (VoIPBIN's page envelope and Agent shape, no secrets), one agent of the
/// caller's customer (another customer's, or an unknown id, is not found),
/// and `PUT me`, which any agent may use on itself to change exactly its
/// name, detail and ring_method — bad input is a 400 that changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voipbin_agent_paths_list_get_and_update_me() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (alice_id, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let zed = cluster.other_customer("zed", "Zed").await?;

    // The directory: the customer's agents, newest first, VoIPBIN's shape.
    let page = alice.get(AGENTS).await?;
    let mut keys: Vec<&str> = page
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    keys.sort_unstable();
    assert_eq!(keys, ["next_page_token", "result"], "{page}");
    let agents = results(&page);
    let ids: Vec<String> = agents.iter().map(id_of).collect();
    assert_eq!(ids.len(), 3, "{page}");
    assert_eq!(ids[..2], [bob_id.clone(), alice_id.clone()]);
    assert_eq!(
        page["next_page_token"], agents[2]["tm_create"],
        "the token is the last item's tm_create"
    );
    let alice_listed = &agents[1];
    let mut fields: Vec<&str> = alice_listed
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "addresses",
            "customer_id",
            "detail",
            "direct_hash",
            "id",
            "name",
            "permission",
            "ring_method",
            "status",
            "tag_ids",
            "tm_create",
            "tm_delete",
            "tm_update",
            "username",
        ],
        "VoIPBIN's Agent, without any password or hash: {alice_listed}"
    );
    assert_eq!(alice_listed["username"], "alice");
    assert_eq!(alice_listed["ring_method"], "ringall");
    assert_eq!(alice_listed["tag_ids"], json!([]));
    assert_eq!(alice_listed["addresses"], json!([]));
    // VoIPBIN's paging: page_size 1 walks one by one; 0 means 100.
    let first = alice.get(&format!("{AGENTS}?page_size=1")).await?;
    assert_eq!(
        results(&first).iter().map(id_of).collect::<Vec<_>>(),
        [bob_id.as_str()]
    );
    let token = first["next_page_token"].as_str().unwrap_or_default();
    let second = alice
        .get(&format!(
            "{AGENTS}?page_size=1&page_token={}",
            token.replace(':', "%3A")
        ))
        .await?;
    assert_eq!(
        results(&second).iter().map(id_of).collect::<Vec<_>>(),
        [alice_id.as_str()]
    );
    assert_eq!(
        results(&alice.get(&format!("{AGENTS}?page_size=0")).await?).len(),
        3
    );
    assert_eq!(
        results(&zed.get(AGENTS).await?).len(),
        1,
        "zed's customer has only zed"
    );

    // One agent: of the caller's customer only.
    let got = alice.get(&format!("{AGENTS}/{bob_id}")).await?;
    assert_eq!(got["id"], bob_id.as_str());
    assert_eq!(got["name"], "Bob");
    assert!(got.get("password").is_none() && got.get("password_hash").is_none());
    let other = zed
        .call(Method::GET, &format!("{AGENTS}/{bob_id}"), None)
        .await?;
    assert_error(&other, 404, "AGENT_NOT_FOUND");
    let unknown = alice
        .call(
            Method::GET,
            &format!("{AGENTS}/{}", uuid::Uuid::new_v4()),
            None,
        )
        .await?;
    assert_error(&unknown, 404, "AGENT_NOT_FOUND");
    let bad = alice
        .call(Method::GET, &format!("{AGENTS}/not-a-uuid"), None)
        .await?;
    assert_error(&bad, 400, "INVALID_ID");

    // PUT me: a plain agent (permission 16) updates itself.
    let before = alice.get(ME).await?;
    assert_eq!(before["permission"], 16);
    let updated = alice
        .call(
            Method::PUT,
            ME,
            Some(json!({"name": "Alice B.", "detail": "Support, EMEA", "ring_method": "linear"})),
        )
        .await?
        .expect(200)?;
    assert_eq!(updated["id"], alice_id.as_str());
    assert_eq!(updated["name"], "Alice B.");
    assert_eq!(updated["detail"], "Support, EMEA");
    assert_eq!(updated["ring_method"], "linear");
    let me = alice.get(ME).await?;
    for field in ["name", "detail", "ring_method"] {
        assert_eq!(me[field], updated[field], "{field}");
    }
    for field in [
        "username",
        "permission",
        "status",
        "customer_id",
        "tm_create",
    ] {
        assert_eq!(
            me[field], before[field],
            "{field} is not the body's to change"
        );
    }
    assert_eq!(
        bob.get(&format!("{AGENTS}/{alice_id}")).await?["name"],
        "Alice B.",
        "others see the change"
    );

    // Only those fields: permission and password in the body are ignored.
    alice
        .call(
            Method::PUT,
            ME,
            Some(json!({"detail": "Support", "permission": 32, "password": "a-new-password-1"})),
        )
        .await?
        .expect(200)?;
    let me = alice.get(ME).await?;
    assert_eq!(me["permission"], 16);
    assert_eq!(me["detail"], "Support");
    assert_eq!(me["name"], "Alice B.", "an absent field is left as it is");
    Api::login(&cluster.edge, "alice", "alice-password").await?;

    // Bad input: 400, nothing changes.
    let unchanged = alice.get(ME).await?;
    let cases = [
        (json!({"ring_method": "sometimes"}), "INVALID_ARGUMENT"),
        (
            json!({"name": "Mallory", "ring_method": "RINGALL"}),
            "INVALID_ARGUMENT",
        ),
        (
            json!({"name": "n".repeat(256), "ring_method": "ringall"}),
            "FIELD_TOO_LONG",
        ),
        (json!({"ring_method": 1}), "INVALID_JSON_BODY"),
        (json!({}), "MISSING_FIELD"),
    ];
    for (body, reason) in cases {
        let refused = alice.call(Method::PUT, ME, Some(body.clone())).await?;
        assert_error(&refused, 400, reason);
        assert_eq!(alice.get(ME).await?, unchanged, "{body} changed nothing");
    }
    let message = alice
        .call(Method::PUT, ME, Some(json!({"ring_method": "sometimes"})))
        .await?
        .body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(message.contains("ring_method"), "{message}");
    let anonymous = Api::new(&cluster.edge)
        .call(Method::PUT, ME, Some(json!({"name": "x"})))
        .await?;
    assert_error(&anonymous, 401, "AUTHENTICATION_REQUIRED");

    // The OpenAPI document lists the new operations.
    let spec = Api::new(&cluster.edge).get("/openapi.json").await?;
    assert!(spec["paths"][ME]["put"].is_object(), "PUT me is documented");
    assert!(
        spec["paths"]["/v1.0/service_agents/agents/{id}"]["get"].is_object(),
        "GET agents/{{id}} is documented"
    );
    cluster.stop().await;
    Ok(())
}
