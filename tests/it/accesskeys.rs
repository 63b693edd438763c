//! Access keys (VoIPBIN's `/v1.0/accesskeys`) through the public API on
//! PostgreSQL and NATS: the token is shown once and stored hashed; a key
//! works as `Authorization: Bearer`, `?accesskey=` and cookie `accesskey`,
//! on REST and on the WebSocket, acting as its agent; it expires, it stops
//! at once when deleted (its sockets closed), another customer's never
//! shows; bad input is a 400 naming the problem; a bot agent without a
//! password never logs in and works with its key.

use std::time::Duration;

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use sea_orm::prelude::DateTimeUtc;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use talk_e2e::client::Reply;
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::ws::Incoming;
use talk_e2e::{Api, Cluster, Socket, Topology};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const SERVICES: Topology = Topology::Services { nats_url: None };
const WAIT: Duration = Duration::from_secs(10);

fn text(value: &Value, field: &str) -> anyhow::Result<String> {
    value[field]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no {field} in {value}"))
}

/// Creates a key with `body`; answers the key (with its token).
async fn create_key(api: &Api, body: Value) -> anyhow::Result<Value> {
    api.post("/v1.0/accesskeys", body, 200).await
}

/// `GET /v1.0/me` with `key` presented as `how`.
async fn me_with(edge: &str, key: &str, how: &str) -> anyhow::Result<Reply> {
    let anon = Api::new(edge);
    match how {
        "bearer" => {
            anon.with_token(key.to_owned())
                .call(Method::GET, "/v1.0/me", None)
                .await
        }
        "query" => {
            anon.call(Method::GET, &format!("/v1.0/me?accesskey={key}"), None)
                .await
        }
        "cookie" => {
            let cookie = format!("accesskey={key}");
            anon.send(
                Method::GET,
                "/v1.0/me",
                None,
                &[("cookie", cookie.as_str())],
            )
            .await
        }
        other => anyhow::bail!("no way {other}"),
    }
}

/// Polls `GET /v1.0/me` with `key` until it is refused (401), within `within`.
async fn refused_within(edge: &str, key: &str, within: Duration) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let reply = me_with(edge, key, "bearer").await?;
        if reply.status == 401 {
            reply.assert_error(401, "INVALID_CREDENTIALS");
            return Ok(());
        }
        anyhow::ensure!(reply.status == 200, "{}: {}", reply.status, reply.body);
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "still accepted after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The close code and reason `socket` ends with within `within` (frames before are skipped).
async fn closed(socket: &mut Socket, within: Duration) -> anyhow::Result<(u16, String)> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match socket.next_or_close(left).await? {
            Some(Incoming::Frame(_)) => continue,
            Some(Incoming::Closed(Some(close))) => return Ok(close),
            other => anyhow::bail!("no close within {within:?}: {other:?}"),
        }
    }
}

/// Subscribes `socket` to every talk of `agent` and waits for the ack.
async fn listen(socket: &mut Socket, agent: &str) -> anyhow::Result<()> {
    socket
        .send(
            json!({"type": "subscribe", "topics": [format!("agent_id:{agent}:chat")], "id": "sub"}),
        )
        .await?;
    socket.expect("ack", WAIT).await?;
    Ok(())
}

type Raw =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket to `/v1.0/ws` with `header` set on the upgrade request.
async fn socket_with_header(push: &str, header: (&'static str, &str)) -> anyhow::Result<Raw> {
    let mut request = format!("{push}/v1.0/ws").into_client_request()?;
    request
        .headers_mut()
        .insert(header.0, header.1.parse().context("header value")?);
    let (inner, _) = tokio_tungstenite::connect_async(request).await?;
    Ok(inner)
}

/// The next text frame of `raw` (as JSON) or its close, within `WAIT`.
async fn raw_next(raw: &mut Raw) -> anyhow::Result<Incoming> {
    loop {
        let next = tokio::time::timeout(WAIT, raw.next())
            .await
            .context("nothing within the wait")?;
        match next {
            Some(Ok(Message::Text(text))) => {
                return Ok(Incoming::Frame(serde_json::from_str(&text)?));
            }
            Some(Ok(Message::Close(frame))) => {
                return Ok(Incoming::Closed(
                    frame.map(|f| (u16::from(f.code), f.reason.to_string())),
                ));
            }
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return Ok(Incoming::Closed(None)),
        }
    }
}

/// Reads `raw` until a frame `done` accepts.
async fn raw_until(raw: &mut Raw, done: impl Fn(&Value) -> bool) -> anyhow::Result<()> {
    loop {
        match raw_next(raw).await? {
            Incoming::Frame(frame) if done(&frame) => return Ok(()),
            Incoming::Frame(_) => continue,
            Incoming::Closed(close) => anyhow::bail!("closed: {close:?}"),
        }
    }
}

/// Subscribes `raw` to every talk of `agent` and waits for the ack.
async fn raw_listen(raw: &mut Raw, agent: &str) -> anyhow::Result<()> {
    let frame =
        json!({"type": "subscribe", "topics": [format!("agent_id:{agent}:chat")], "id": "sub"});
    raw.send(Message::text(frame.to_string())).await?;
    raw_until(raw, |f| f["type"] == "ack").await
}

/// The close `raw` ends with (frames before are skipped).
async fn raw_closed(raw: &mut Raw) -> anyhow::Result<(u16, String)> {
    loop {
        match raw_next(raw).await? {
            Incoming::Frame(_) => continue,
            Incoming::Closed(close) => return close.context("closed without a close frame"),
        }
    }
}

/// RFC 3339 of now moved by `secs` (negative: the past).
fn rfc3339_in(secs: f64) -> String {
    let now = std::time::SystemTime::now();
    let at = if secs >= 0.0 {
        now + Duration::from_secs_f64(secs)
    } else {
        now - Duration::from_secs_f64(-secs)
    };
    DateTimeUtc::from(at).to_rfc3339()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_is_shown_once_stored_hashed_and_works_everywhere_until_deleted() -> anyhow::Result<()>
{
    let cluster = Cluster::start(SERVICES).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let admin_id = text(&admin.get("/v1.0/me").await?, "id")?;
    let (alice_id, alice) = admin.create_agent("alice", "Alice").await?;

    // Create: VoIPBIN's shape, the token once.
    let key = create_key(
        &alice,
        json!({"name": "reporting", "detail": "nightly job", "expire": 86_400}),
    )
    .await?;
    let token = text(&key, "token")?;
    let key_id = text(&key, "id")?;
    assert!(token.starts_with("vb_") && token.len() == 46, "{token}");
    assert_eq!(key["token_prefix"], json!(token[..11].to_owned()));
    assert_eq!(key["agent_id"], json!(alice_id));
    assert_eq!(
        key["customer_id"],
        admin.get("/v1.0/me").await?["customer_id"]
    );
    assert_eq!(key["name"], "reporting");
    assert_eq!(key["detail"], "nightly job");
    assert!(
        key["tm_expire"].is_string() && key["tm_delete"].is_null(),
        "{key}"
    );
    for field in ["tm_create", "tm_update"] {
        assert!(key[field].is_string(), "{field}: {key}");
    }

    // Never again: not in GET, not in the list.
    let got = alice.get(&format!("/v1.0/accesskeys/{key_id}")).await?;
    assert!(got.get("token").is_none(), "{got}");
    assert_eq!(got["token_prefix"], key["token_prefix"]);
    let listed = alice.get("/v1.0/accesskeys").await?;
    let result = listed["result"].as_array().context("result")?;
    assert_eq!(result.len(), 1, "{listed}");
    assert!(result[0].get("token").is_none(), "{listed}");
    assert_eq!(listed["next_page_token"], result[0]["tm_create"]);
    assert!(!listed.to_string().contains(&token));

    // Stored hashed: the row holds a SHA-256 (64 hex), never the token.
    let db = Database::connect(cluster.config.database_url_for(talk_config::Store::Agent)).await?;
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT row_to_json(k)::text AS row, token_hash FROM \"agent\".access_keys k \
                 WHERE id = '{key_id}'"
            ),
        ))
        .await?
        .context("the key's row")?;
    let stored: String = row.try_get("", "row")?;
    let hash: String = row.try_get("", "token_hash")?;
    assert!(
        !stored.contains(&token[3..]),
        "the token is stored: {stored}"
    );
    assert!(
        hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
        "{hash}"
    );
    db.close().await?;

    // The key acts as Alice: Bearer, ?accesskey= and cookie.
    for how in ["bearer", "query", "cookie"] {
        let me = me_with(&cluster.edge, &token, how).await?.expect(200)?;
        assert_eq!(me["id"], json!(alice_id), "{how}");
    }
    // ...with Alice's permissions: not an admin.
    let keyed = Api::new(&cluster.edge).with_token(token.clone());
    keyed
        .call(
            Method::POST,
            "/v1.0/agents",
            Some(json!({"username": "mallory", "password": "mallory-pass"})),
        )
        .await?
        .assert_error(403, "PERMISSION_DENIED");
    // A token comes before a key (VoIPBIN's order): Alice's key, admin's token.
    let both = admin
        .call(Method::GET, &format!("/v1.0/me?accesskey={token}"), None)
        .await?
        .expect(200)?;
    assert_eq!(both["id"], json!(admin_id));

    // On the WebSocket: ?accesskey=, Bearer, cookie and a first `auth` frame;
    // a message reaches Alice on each.
    let mut by_query =
        Socket::connect_to(&cluster.push, "/v1.0/ws", "", &format!("accesskey={token}")).await?;
    listen(&mut by_query, &alice_id).await?;
    let bearer = format!("Bearer {token}");
    let mut by_bearer = socket_with_header(&cluster.push, ("authorization", &bearer)).await?;
    raw_listen(&mut by_bearer, &alice_id).await?;
    let cookie = format!("accesskey={token}");
    let mut by_cookie = socket_with_header(&cluster.push, ("cookie", &cookie)).await?;
    raw_listen(&mut by_cookie, &alice_id).await?;
    let (mut by_frame, _) =
        tokio_tungstenite::connect_async(format!("{}/v1.0/ws", cluster.push)).await?;
    let auth = json!({"type": "auth", "token": token, "id": "auth"});
    by_frame.send(Message::text(auth.to_string())).await?;
    raw_until(&mut by_frame, |f| f["type"] == "ack" && f["id"] == "auth").await?;
    raw_listen(&mut by_frame, &alice_id).await?;
    let talk = admin
        .post(
            "/v1.0/talks",
            json!({"type": "group", "name": "ops", "participant_ids": [alice_id]}),
            201,
        )
        .await?;
    let talk_id = text(&talk, "id")?;
    admin
        .post(
            &format!("/v1.0/talks/{talk_id}/messages"),
            json!({"text": "hello, key"}),
            201,
        )
        .await?;
    loop {
        let frame = by_query.expect("message_created", WAIT).await?;
        if frame["data"]["text"] == "hello, key" {
            break;
        }
    }
    for raw in [&mut by_bearer, &mut by_cookie, &mut by_frame] {
        raw_until(raw, |f| {
            f["type"] == "message_created" && f["data"]["text"] == "hello, key"
        })
        .await?;
    }
    // The key writes as Alice.
    let posted = keyed
        .post(
            &format!("/v1.0/talks/{talk_id}/messages"),
            json!({"text": "from the key"}),
            201,
        )
        .await?;
    assert_eq!(posted["owner_id"], json!(alice_id), "{posted}");

    // PUT changes name and detail only.
    let renamed = alice
        .call(
            Method::PUT,
            &format!("/v1.0/accesskeys/{key_id}"),
            Some(json!({"name": "renamed", "token_prefix": "vb_forged", "expire": 1})),
        )
        .await?
        .expect(200)?;
    assert_eq!(renamed["name"], "renamed");
    assert_eq!(renamed["detail"], "nightly job");
    assert_eq!(renamed["token_prefix"], key["token_prefix"]);
    assert_eq!(renamed["tm_expire"], key["tm_expire"]);
    assert!(renamed.get("token").is_none());

    // Delete: refused on the very next request, its sockets closed.
    let deleted = alice
        .call(Method::DELETE, &format!("/v1.0/accesskeys/{key_id}"), None)
        .await?
        .expect(200)?;
    assert!(deleted["tm_delete"].is_string(), "{deleted}");
    for how in ["bearer", "query", "cookie"] {
        me_with(&cluster.edge, &token, how)
            .await?
            .assert_error(401, "INVALID_CREDENTIALS");
    }
    let (code, reason) = closed(&mut by_query, Duration::from_secs(5)).await?;
    assert_eq!((code, reason.as_str()), (4401, "access key deleted"));
    for raw in [&mut by_bearer, &mut by_cookie, &mut by_frame] {
        let (code, reason) = raw_closed(raw).await?;
        assert_eq!((code, reason.as_str()), (4401, "access key deleted"));
    }
    let refused =
        tokio_tungstenite::connect_async(format!("{}/v1.0/ws?accesskey={token}", cluster.push))
            .await;
    assert!(refused.is_err(), "a deleted key opens no socket");
    alice
        .call(Method::GET, &format!("/v1.0/accesskeys/{key_id}"), None)
        .await?
        .assert_error(404, "ACCESSKEY_NOT_FOUND");
    assert_eq!(alice.get("/v1.0/accesskeys").await?["result"], json!([]));
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_expire_on_rest_and_on_open_sockets() -> anyhow::Result<()> {
    let cluster = Cluster::start(SERVICES).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let admin_id = text(&admin.get("/v1.0/me").await?, "id")?;

    // An RFC 3339 tm_expire 1.5 s ahead, and VoIPBIN's `expire` in seconds.
    let by_time = create_key(
        &admin,
        json!({"name": "short", "tm_expire": rfc3339_in(1.5)}),
    )
    .await?;
    let by_secs = create_key(&admin, json!({"name": "shorter", "expire": 1})).await?;
    let (by_time, by_secs) = (text(&by_time, "token")?, text(&by_secs, "token")?);
    me_with(&cluster.edge, &by_time, "bearer")
        .await?
        .expect(200)?;
    let mut socket = Socket::connect_to(
        &cluster.push,
        "/v1.0/ws",
        "",
        &format!("accesskey={by_time}"),
    )
    .await?;
    listen(&mut socket, &admin_id).await?;

    refused_within(&cluster.edge, &by_secs, Duration::from_secs(4)).await?;
    refused_within(&cluster.edge, &by_time, Duration::from_secs(4)).await?;
    let (code, reason) = closed(&mut socket, Duration::from_secs(5)).await?;
    assert_eq!((code, reason.as_str()), (4401, "access key expired"));
    // Expired keys are still listed (with their tm_expire) until deleted.
    let listed = admin.get("/v1.0/accesskeys").await?;
    assert_eq!(listed["result"].as_array().map(Vec::len), Some(2));
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_manages_which_keys_and_bad_input() -> anyhow::Result<()> {
    let cluster = Cluster::start(SERVICES).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let admin_id = text(&admin.get("/v1.0/me").await?, "id")?;
    let (alice_id, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let zora = cluster.other_customer("zora", "Zora").await?;
    let zora_id = text(&zora.get("/v1.0/me").await?, "id")?;

    // An admin makes keys for any agent of its customer; an agent for itself.
    let for_alice = create_key(&admin, json!({"name": "for alice", "agent_id": alice_id})).await?;
    assert_eq!(for_alice["agent_id"], json!(alice_id));
    let alice_token = text(&for_alice, "token")?;
    let alice_key = text(&for_alice, "id")?;
    let bobs = create_key(&bob, json!({"name": "bob's own"})).await?;
    assert_eq!(bobs["agent_id"], json!(bob_id));
    let bob_key = text(&bobs, "id")?;
    let admins = create_key(&admin, json!({})).await?;
    assert_eq!(admins["agent_id"], json!(admin_id));
    assert_eq!(admins["name"], "");
    assert!(admins["tm_expire"].is_null(), "no expiry given: never");
    let admin_key = text(&admins, "id")?;
    let me = me_with(&cluster.edge, &alice_token, "bearer")
        .await?
        .expect(200)?;
    assert_eq!(me["id"], json!(alice_id));

    // Admins see the customer's keys; an agent its own only.
    let ids = |page: &Value| -> Vec<String> {
        page["result"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|k| k["id"].as_str().map(str::to_owned))
            .collect()
    };
    let mut all = ids(&admin.get("/v1.0/accesskeys").await?);
    all.sort();
    let mut expected = vec![alice_key.clone(), bob_key.clone(), admin_key.clone()];
    expected.sort();
    assert_eq!(all, expected);
    let page = admin.get("/v1.0/accesskeys?page_size=2").await?;
    assert_eq!(ids(&page).len(), 2);
    let token = text(&page, "next_page_token")?;
    let rest = admin
        .get(&format!("/v1.0/accesskeys?page_size=2&page_token={token}"))
        .await?;
    assert_eq!(ids(&rest).len(), 1, "the third key on the second page");
    assert_eq!(
        ids(&bob.get("/v1.0/accesskeys").await?),
        vec![bob_key.clone()]
    );
    for path in [
        format!("/v1.0/accesskeys/{alice_key}"),
        format!("/v1.0/accesskeys/{admin_key}"),
    ] {
        bob.call(Method::GET, &path, None)
            .await?
            .assert_error(404, "ACCESSKEY_NOT_FOUND");
        bob.call(Method::PUT, &path, Some(json!({"name": "mine now"})))
            .await?
            .assert_error(404, "ACCESSKEY_NOT_FOUND");
        bob.call(Method::DELETE, &path, None)
            .await?
            .assert_error(404, "ACCESSKEY_NOT_FOUND");
    }
    // A non-admin never makes a key for another agent.
    bob.call(
        Method::POST,
        "/v1.0/accesskeys",
        Some(json!({"name": "as alice", "agent_id": alice_id})),
    )
    .await?
    .assert_error(403, "PERMISSION_DENIED");

    // Another customer: its keys never show here, ours never there, and its
    // key acts only in its own customer.
    let zoras = create_key(&zora, json!({"name": "zora's"})).await?;
    let (zora_key, zora_token) = (text(&zoras, "id")?, text(&zoras, "token")?);
    assert!(!ids(&admin.get("/v1.0/accesskeys").await?).contains(&zora_key));
    assert_eq!(
        ids(&zora.get("/v1.0/accesskeys").await?),
        vec![zora_key.clone()]
    );
    let zora_path = format!("/v1.0/accesskeys/{zora_key}");
    admin
        .call(Method::GET, &zora_path, None)
        .await?
        .assert_error(404, "ACCESSKEY_NOT_FOUND");
    admin
        .call(Method::DELETE, &zora_path, None)
        .await?
        .assert_error(404, "ACCESSKEY_NOT_FOUND");
    zora.call(Method::GET, &format!("/v1.0/accesskeys/{alice_key}"), None)
        .await?
        .assert_error(404, "ACCESSKEY_NOT_FOUND");
    zora.call(
        Method::POST,
        "/v1.0/accesskeys",
        Some(json!({"agent_id": alice_id})),
    )
    .await?
    .assert_error(400, "UNKNOWN_AGENT");
    let zora_keyed = Api::new(&cluster.edge).with_token(zora_token.clone());
    assert_eq!(zora_keyed.get("/v1.0/me").await?["id"], json!(zora_id));
    zora_keyed
        .call(Method::GET, &format!("/v1.0/agents/{alice_id}"), None)
        .await?
        .assert_error(404, "AGENT_NOT_FOUND");
    zora_keyed
        .call(Method::GET, &format!("/v1.0/accesskeys/{alice_key}"), None)
        .await?
        .assert_error(404, "ACCESSKEY_NOT_FOUND");
    assert!(!ids(&zora_keyed.get("/v1.0/accesskeys").await?).contains(&alice_key));

    // Bad input: a 400 naming the problem, and nothing created.
    let before = admin.get("/v1.0/accesskeys").await?;
    let past = rfc3339_in(-60.0);
    let far = rfc3339_in(101.0 * 365.0 * 86_400.0);
    for (body, reason) in [
        (json!({"name": "n".repeat(256)}), "FIELD_TOO_LONG"),
        (json!({"detail": "d".repeat(4097)}), "FIELD_TOO_LONG"),
        (json!({"expire": 0}), "INVALID_EXPIRE"),
        (json!({"expire": -5}), "INVALID_EXPIRE"),
        (json!({"expire": 4_000_000_000_i64}), "INVALID_EXPIRE"),
        (json!({"tm_expire": "tomorrow"}), "INVALID_EXPIRE"),
        (json!({"tm_expire": past}), "INVALID_EXPIRE"),
        (json!({"tm_expire": far}), "INVALID_EXPIRE"),
        (
            json!({"expire": 60, "tm_expire": "2099-01-01T00:00:00Z"}),
            "INVALID_EXPIRE",
        ),
        (json!({"expire": "a day"}), "INVALID_JSON_BODY"),
        (json!({"agent_id": "not-a-uuid"}), "INVALID_ID"),
        (json!({"agent_id": uuid::Uuid::new_v4()}), "UNKNOWN_AGENT"),
    ] {
        let reply = admin
            .call(Method::POST, "/v1.0/accesskeys", Some(body.clone()))
            .await?;
        reply.assert_error(400, reason);
        let message = reply.body["error"]["message"].as_str().unwrap_or_default();
        let named = [
            "name",
            "detail",
            "expire",
            "agent_id",
            "JSON",
            "invalid type",
        ]
        .iter()
        .any(|word| message.contains(word));
        assert!(named, "{body}: {message}");
    }
    let path = format!("/v1.0/accesskeys/{alice_key}");
    admin
        .call(Method::PUT, &path, Some(json!({})))
        .await?
        .assert_error(400, "MISSING_FIELD");
    admin
        .call(Method::PUT, &path, Some(json!({"name": "n".repeat(256)})))
        .await?
        .assert_error(400, "FIELD_TOO_LONG");
    admin
        .call(Method::GET, "/v1.0/accesskeys/not-a-uuid", None)
        .await?
        .assert_error(400, "INVALID_ID");
    assert_eq!(
        admin.get("/v1.0/accesskeys").await?,
        before,
        "nothing changed"
    );
    // A garbage key is refused like a bad token.
    for garbage in ["vb_nope", "nope"] {
        Api::new(&cluster.edge)
            .call(Method::GET, &format!("/v1.0/me?accesskey={garbage}"), None)
            .await?
            .assert_error(401, "INVALID_CREDENTIALS");
    }

    // The admin deletes Alice's key; Alice may delete her own (none left).
    admin.call(Method::DELETE, &path, None).await?.expect(200)?;
    me_with(&cluster.edge, &alice_token, "query")
        .await?
        .assert_error(401, "INVALID_CREDENTIALS");
    let own = create_key(&alice, json!({"name": "again"})).await?;
    alice
        .call(
            Method::DELETE,
            &format!("/v1.0/accesskeys/{}", text(&own, "id")?),
            None,
        )
        .await?
        .expect(200)?;
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_without_a_password_never_logs_in_and_works_with_its_key() -> anyhow::Result<()> {
    // Reads limited to 5 a second per agent: a key spends its agent's budget.
    let cluster = Cluster::start_with(SERVICES, |config| {
        config.rate_agent_reads_per_sec = 5;
    })
    .await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let bot = admin
        .post(
            "/v1.0/agents",
            json!({"username": "reporter-bot", "name": "Reporter"}),
            200,
        )
        .await?;
    let bot_id = text(&bot, "id")?;
    let anon = Api::new(&cluster.edge);
    for password in ["", "anything-at-all", "reporter-bot-password"] {
        let reply = anon
            .call(
                Method::POST,
                "/auth/login",
                Some(json!({"username": "reporter-bot", "password": password})),
            )
            .await?;
        if password.is_empty() {
            reply.assert_error(400, "MISSING_FIELD");
        } else {
            reply.assert_error(401, "INVALID_CREDENTIALS");
        }
    }
    // An explicit empty password is no password either; a short one is refused.
    admin
        .post(
            "/v1.0/agents",
            json!({"username": "second-bot", "password": ""}),
            200,
        )
        .await?;
    admin
        .call(
            Method::POST,
            "/v1.0/agents",
            Some(json!({"username": "weak", "password": "short"})),
        )
        .await?
        .assert_error(400, "INVALID_PASSWORD");

    let key = create_key(&admin, json!({"name": "bot key", "agent_id": bot_id})).await?;
    let token = text(&key, "token")?;
    let keyed = Api::new(&cluster.edge).with_token(token.clone());
    let me = keyed.get("/v1.0/me").await?;
    assert_eq!(me["id"], json!(bot_id));
    assert_eq!(me["username"], "reporter-bot");
    // The bot creates a talk with the admin and posts in it.
    let talk = keyed
        .post(
            "/v1.0/talks",
            json!({"type": "group", "name": "reports", "participant_ids": [text(&admin.get("/v1.0/me").await?, "id")?]}),
            201,
        )
        .await?;
    let talk_id = text(&talk, "id")?;
    let posted = keyed
        .post(
            &format!("/v1.0/talks/{talk_id}/messages"),
            json!({"text": "daily report"}),
            201,
        )
        .await?;
    assert_eq!(posted["owner_id"], json!(bot_id));
    // No password: changing it needs the current one, which it has not.
    keyed
        .call(
            Method::PUT,
            "/v1.0/service_agents/me/password",
            Some(json!({"password": "a-new-password", "current_password": "guess-guess"})),
        )
        .await?
        .assert_error(401, "INVALID_CREDENTIALS");

    // The per-agent read bucket holds for key requests too.
    let mut limited = None;
    for _ in 0..10 {
        let reply = keyed.call(Method::GET, "/v1.0/me", None).await?;
        if reply.status == 429 {
            limited = Some(reply);
            break;
        }
        assert!(reply.headers.contains_key("x-ratelimit-limit"));
    }
    let limited = limited.context("10 reads within the burst of 5 were all served")?;
    limited.assert_error(429, "RATE_LIMIT_EXCEEDED");
    assert!(limited.headers.contains_key("retry-after"));

    // Deleting the bot ends its keys.
    admin
        .call(Method::DELETE, &format!("/v1.0/agents/{bot_id}"), None)
        .await?
        .expect(200)?;
    tokio::time::sleep(Duration::from_secs(1)).await; // the read bucket refills
    me_with(&cluster.edge, &token, "bearer")
        .await?
        .assert_error(401, "INVALID_CREDENTIALS");
    cluster.stop().await;
    Ok(())
}
