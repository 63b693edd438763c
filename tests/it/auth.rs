//! Authentication errors carry VoIPBIN's error body with the right 4xx status.

use reqwest::Method;
use serde_json::json;
use talk_config::ExposeSecret;
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::{Api, Cluster, Topology};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_tokens_and_json_get_clear_4xx() -> anyhow::Result<()> {
    let cluster = Cluster::start(Topology::Services { nats_url: None }).await?;
    let anon = Api::new(&cluster.edge);

    let wrong = anon
        .call(
            Method::POST,
            "/auth/login",
            Some(json!({"username": "admin", "password": "nope"})),
        )
        .await?;
    wrong.assert_error(401, "INVALID_CREDENTIALS");

    let malformed = anon
        .raw(Method::POST, "/auth/login", "{\"username\": ")
        .await?;
    malformed.assert_error(400, "INVALID_JSON_BODY");

    let missing = anon
        .call(Method::GET, "/v1.0/service_agents/talk_chats", None)
        .await?;
    missing.assert_error(401, "AUTHENTICATION_REQUIRED");

    let expired_token =
        talk_auth::Tokens::new(cluster.config.jwt_secret.expose_secret().as_bytes(), 0).issue(
            talk_auth::AgentClaim {
                id: uuid::Uuid::new_v4().into(),
                customer_id: uuid::Uuid::new_v4().into(),
                username: "ghost".into(),
                name: String::new(),
                permission: 16,
            },
        )?;
    let expired = anon
        .with_token(expired_token)
        .call(Method::GET, "/v1.0/service_agents/talk_chats", None)
        .await?;
    expired.assert_error(401, "INVALID_CREDENTIALS");

    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let bad_json = admin
        .raw(Method::POST, "/v1.0/service_agents/talk_chats", "{not json")
        .await?;
    bad_json.assert_error(400, "INVALID_JSON_BODY");
    let wrong_type = admin
        .call(
            Method::POST,
            "/v1.0/service_agents/talk_chats",
            Some(json!({"type": 7})),
        )
        .await?;
    wrong_type.assert_error(400, "INVALID_JSON_BODY");
    let listed = admin.get("/v1.0/service_agents/talk_chats").await?;
    assert_eq!(
        listed["result"],
        json!([]),
        "nothing was created by the bad requests"
    );
    cluster.stop().await;
    Ok(())
}

/// Whether `api`'s token is refused as revoked within 5 s, polling.
async fn revoked_within_5s(api: &Api) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let reply = api.call(Method::GET, "/v1.0/talks", None).await?;
        if reply.status == 401 {
            reply.assert_error(401, "TOKEN_REVOKED");
            return Ok(());
        }
        anyhow::ensure!(
            reply.status == 200,
            "unexpected {}: {}",
            reply.status,
            reply.body
        );
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "still accepted after 5 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Whether `socket` is closed with 4401 within 5 s (frames before are skipped).
async fn closed_with_4401(socket: &mut talk_e2e::ws::Socket) -> anyhow::Result<String> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match socket.next_or_close(left).await? {
            Some(talk_e2e::ws::Incoming::Frame(_)) => continue,
            Some(talk_e2e::ws::Incoming::Closed(Some((code, reason)))) => {
                anyhow::ensure!(code == 4401, "closed with {code} {reason}");
                return Ok(reason);
            }
            other => anyhow::bail!("no 4401 close within 5 s: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_password_change_demotion_and_delete_revoke_tokens_and_sockets() -> anyhow::Result<()>
{
    let cluster = Cluster::start(Topology::Services { nats_url: None }).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let socket_of = |api: &Api| {
        let (push, token) = (cluster.push.clone(), api.token.clone().unwrap_or_default());
        async move { talk_e2e::ws::Socket::connect(&push, &token, "").await }
    };

    // Logout: this token and the socket opened with it stop working; a new login works.
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let mut socket = socket_of(&alice).await?;
    let out = alice.call(Method::POST, "/v1.0/auth/logout", None).await?;
    assert_eq!(out.status, 200, "{}", out.body);
    revoked_within_5s(&alice).await?;
    assert_eq!(closed_with_4401(&mut socket).await?, "token revoked");
    let again = Api::login(&cluster.edge, "alice", "alice-password").await?;
    again.get("/v1.0/talks").await?;

    // Password change: the current password is required; the old one stops
    // working at once, old tokens within 5 s.
    let (_, bob) = admin.create_agent("bob", "Bob").await?;
    let path = "/v1.0/service_agents/me/password";
    let missing = bob
        .call(
            Method::PUT,
            path,
            Some(json!({"password": "bob-new-password"})),
        )
        .await?;
    missing.assert_error(400, "MISSING_FIELD");
    let wrong = bob
        .call(
            Method::PUT,
            path,
            Some(json!({"password": "bob-new-password", "current_password": "guess"})),
        )
        .await?;
    wrong.assert_error(401, "INVALID_CREDENTIALS");
    let changed = bob
        .call(
            Method::PUT,
            path,
            Some(json!({"password": "bob-new-password", "current_password": "bob-password"})),
        )
        .await?;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["username"], "bob");
    let old = Api::new(&cluster.edge)
        .call(
            Method::POST,
            "/auth/login",
            Some(json!({"username": "bob", "password": "bob-password"})),
        )
        .await?;
    old.assert_error(401, "INVALID_CREDENTIALS");
    revoked_within_5s(&bob).await?;
    Api::login(&cluster.edge, "bob", "bob-new-password").await?;

    // Demotion (an admin loses the bit) and deletion, by an admin.
    let (carol_id, carol) = admin.create_agent("carol", "Carol").await?;
    let promoted = admin
        .call(
            Method::PUT,
            &format!("/v1.0/agents/{carol_id}"),
            Some(json!({"permission": 48})),
        )
        .await?;
    assert_eq!(promoted.status, 200, "{}", promoted.body);
    revoked_within_5s(&carol).await?;
    let carol = Api::login(&cluster.edge, "carol", "carol-password").await?;
    carol.get("/v1.0/agents").await?;
    let mut socket = socket_of(&carol).await?;
    let demoted = admin
        .call(
            Method::PUT,
            &format!("/v1.0/agents/{carol_id}"),
            Some(json!({"permission": 16})),
        )
        .await?;
    assert_eq!(demoted.status, 200, "{}", demoted.body);
    revoked_within_5s(&carol).await?;
    assert_eq!(closed_with_4401(&mut socket).await?, "token revoked");

    let (dave_id, dave) = admin.create_agent("dave", "Dave").await?;
    let mut socket = socket_of(&dave).await?;
    let deleted = admin
        .call(Method::DELETE, &format!("/v1.0/agents/{dave_id}"), None)
        .await?;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    revoked_within_5s(&dave).await?;
    assert_eq!(closed_with_4401(&mut socket).await?, "token revoked");
    // An unchanged agent keeps working throughout.
    admin.get("/v1.0/talks").await?;
    Ok(())
}

/// `POST /auth/login` for `username`, answering the whole reply.
async fn login_reply(cluster: &Cluster, username: &str) -> anyhow::Result<serde_json::Value> {
    let reply = Api::new(&cluster.edge)
        .call(
            Method::POST,
            "/auth/login",
            Some(json!({"username": username, "password": format!("{username}-password")})),
        )
        .await?;
    anyhow::ensure!(
        reply.status == 200,
        "login: {} {}",
        reply.status,
        reply.body
    );
    Ok(reply.body)
}

/// `POST /auth/refresh` with `refresh_token`.
async fn refresh(
    cluster: &Cluster,
    refresh_token: &str,
) -> anyhow::Result<talk_e2e::client::Reply> {
    Api::new(&cluster.edge)
        .call(
            Method::POST,
            "/auth/refresh",
            Some(json!({"refresh_token": refresh_token})),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_tokens_rotate_work_once_and_a_reuse_revokes_everything() -> anyhow::Result<()> {
    let cluster = Cluster::start(Topology::Services { nats_url: None }).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    admin.create_agent("alice", "Alice").await?;

    // A login answers VoIPBIN's {username, token} plus the refresh token and lifetimes.
    let first = login_reply(&cluster, "alice").await?;
    assert_eq!(first["username"], "alice");
    assert_eq!(first["expires_in"], 3600, "short-lived access tokens");
    let refresh_1 = first["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!refresh_1.is_empty(), "{first}");

    // Trading it answers a new pair; the new access token works.
    let second = refresh(&cluster, &refresh_1).await?;
    assert_eq!(second.status, 200, "{}", second.body);
    let refresh_2 = second.body["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_ne!(refresh_2, refresh_1);
    let token_2 = second.body["token"].as_str().unwrap_or_default().to_owned();
    let alice_2 = Api::new(&cluster.edge).with_token(token_2);
    alice_2.get("/v1.0/talks").await?;

    // The first refresh token cannot be used twice: the reuse is refused and
    // revokes every token of alice — the access token it led to, and the
    // refresh token that replaced it.
    let reused = refresh(&cluster, &refresh_1).await?;
    reused.assert_error(401, "REFRESH_TOKEN_REUSED");
    revoked_within_5s(&alice_2).await?;
    refresh(&cluster, &refresh_2)
        .await?
        .assert_error(401, "INVALID_REFRESH_TOKEN");

    // A fresh login works again; a logout ends its refresh token too.
    let third = login_reply(&cluster, "alice").await?;
    let alice_3 =
        Api::new(&cluster.edge).with_token(third["token"].as_str().unwrap_or_default().to_owned());
    let out = alice_3.call(Method::POST, "/auth/logout", None).await?;
    assert_eq!(out.status, 200, "{}", out.body);
    refresh(
        &cluster,
        third["refresh_token"].as_str().unwrap_or_default(),
    )
    .await?
    .assert_error(401, "INVALID_REFRESH_TOKEN");

    // Garbage, a forged secret for a real id, and a missing field are refused
    // and change nothing.
    let fourth = login_reply(&cluster, "alice").await?;
    let real = fourth["refresh_token"].as_str().unwrap_or_default();
    let (id, _) = real.split_once('.').unwrap_or_default();
    for bad in ["garbage", "not-a-uuid.secret", &format!("{id}.forged")] {
        refresh(&cluster, bad)
            .await?
            .assert_error(401, "INVALID_REFRESH_TOKEN");
    }
    let missing = Api::new(&cluster.edge)
        .call(
            Method::POST,
            "/auth/refresh",
            Some(json!({"refresh_token": ""})),
        )
        .await?;
    missing.assert_error(400, "MISSING_FIELD");
    let still = refresh(&cluster, real).await?;
    assert_eq!(
        still.status, 200,
        "the real one still works once: {}",
        still.body
    );
    cluster.stop().await;
    Ok(())
}
