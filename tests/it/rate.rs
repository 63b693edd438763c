//! Rate limits through the public API (issue 16): a throttled agent gets
//! `429` with VoIPBIN's error body, `Retry-After` and the `X-RateLimit-*`
//! headers, while another agent of its customer and an agent of another
//! customer go on; a customer's bucket holds all its agents; logins are
//! limited per address and per username, and a username whose logins keep
//! failing backs off. Buckets refill slowly in these clusters so the tests
//! do not race the clock.

use anyhow::Context;
use reqwest::Method;
use serde_json::{Value, json};
use talk_config::Config;
use talk_e2e::client::Reply;
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::{Api, Cluster, Topology};

async fn cluster(limits: impl FnOnce(&mut Config)) -> anyhow::Result<Cluster> {
    Cluster::start_with(Topology::Services { nats_url: None }, limits).await
}

fn header(reply: &Reply, name: &str) -> Option<u64> {
    reply.headers.get(name)?.to_str().ok()?.parse().ok()
}

/// Creates a talk of `api` alone (a write).
async fn write(api: &Api) -> anyhow::Result<Reply> {
    api.call(
        Method::POST,
        "/v1.0/talks",
        Some(json!({"type": "group", "name": "busy"})),
    )
    .await
}

/// Writes until refused (at most `most` tries); the refusal.
async fn until_refused(api: &Api, most: usize) -> anyhow::Result<(Vec<Reply>, Reply)> {
    let mut accepted = Vec::new();
    for _ in 0..most {
        let reply = write(api).await?;
        if reply.status == 429 {
            return Ok((accepted, reply));
        }
        anyhow::ensure!(reply.status == 201, "{} {}", reply.status, reply.body);
        accepted.push(reply);
    }
    anyhow::bail!("no 429 after {most} writes")
}

fn assert_refusal(refused: &Reply, limit: u64) {
    refused.assert_error(429, "RATE_LIMIT_EXCEEDED");
    assert_eq!(refused.body["error"]["status"], "RESOURCE_EXHAUSTED");
    assert!(
        header(refused, "retry-after").is_some_and(|s| s >= 1),
        "{:?}",
        refused.headers
    );
    assert_eq!(header(refused, "x-ratelimit-limit"), Some(limit));
    assert_eq!(header(refused, "x-ratelimit-remaining"), Some(0));
    assert!(header(refused, "x-ratelimit-reset").is_some());
}

async fn talk_count(api: &Api) -> anyhow::Result<usize> {
    let listed: Value = api.get("/v1.0/talks").await?;
    Ok(listed["result"].as_array().map_or(0, Vec::len))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_agent_gets_429_and_others_go_on() -> anyhow::Result<()> {
    let cluster = cluster(|c| c.rate_agent_writes_per_sec = 5).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (_, bob) = admin.create_agent("bob", "Bob").await?;
    let zora = cluster.other_customer("zora", "Zora").await?;

    let (accepted, refused) = until_refused(&alice, 50).await?;
    assert!(accepted.len() >= 5, "the whole burst is accepted");
    let remaining: Vec<_> = accepted
        .iter()
        .map(|r| header(r, "x-ratelimit-remaining"))
        .collect();
    // The burst counts down (a slow machine may see a token come back meanwhile).
    assert_eq!(remaining[0], Some(4));
    assert!(
        remaining.iter().all(|r| r.is_some_and(|r| r < 5)),
        "{remaining:?}"
    );
    assert!(
        accepted
            .iter()
            .all(|r| header(r, "x-ratelimit-limit") == Some(5))
    );
    assert_refusal(&refused, 5);
    // The refused write changed nothing.
    assert_eq!(talk_count(&alice).await?, accepted.len());
    // Reads have their own bucket (here unlimited): alice still reads.
    alice.get("/v1.0/talks").await?;

    // Another agent of the customer and one of another customer go on.
    assert_eq!(write(&bob).await?.status, 201);
    assert_eq!(write(&zora).await?.status, 201);
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_bucket_holds_all_its_agents() -> anyhow::Result<()> {
    // Admin work first, unlimited; then a customer bucket of 2 a second.
    let cluster = cluster(|c| c.rate_customer_per_sec = 2).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let zora = cluster.other_customer("zora", "Zora").await?;
    let (_, bob) = {
        // Creating an agent spends from the customer's bucket too: wait it out.
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        admin.create_agent("bob", "Bob").await?
    };
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;

    let (accepted, refused) = until_refused(&admin, 20).await?;
    assert!(accepted.len() >= 2);
    assert_refusal(&refused, 2);
    // Bob is another agent, but of the same customer: refused too.
    write(&bob).await?.assert_error(429, "RATE_LIMIT_EXCEEDED");
    // Another customer is not.
    assert_eq!(write(&zora).await?.status, 201);
    cluster.stop().await;
    Ok(())
}

async fn login(cluster: &Cluster, username: &str, password: &str) -> anyhow::Result<Reply> {
    Api::new(&cluster.edge)
        .call(
            Method::POST,
            "/auth/login",
            Some(json!({"username": username, "password": password})),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_are_limited_per_address_and_per_username() -> anyhow::Result<()> {
    let cluster = cluster(|c| {
        c.rate_login_address_per_min = 6;
        c.rate_login_username_per_min = 3;
    })
    .await?;
    // The admin's own login spent one of the address's six.
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    admin.create_agent("alice", "Alice").await?; // a login: two of six
    admin.create_agent("bob", "Bob").await?; // three of six

    // Per username: three tries for alice (its login above was one), then 429.
    for _ in 0..2 {
        login(&cluster, "alice", "wrong-password")
            .await?
            .assert_error(401, "INVALID_CREDENTIALS");
    }
    let refused = login(&cluster, "alice", "alice-password").await?;
    assert_refusal(&refused, 3);
    // Per address: six attempts a minute from here, whoever they are for.
    let bob = login(&cluster, "bob", "wrong-password").await?;
    bob.assert_error(429, "RATE_LIMIT_EXCEEDED");
    assert_eq!(header(&bob, "x-ratelimit-limit"), Some(6));
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_username_whose_logins_keep_failing_backs_off() -> anyhow::Result<()> {
    let cluster = cluster(|_| {}).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    admin.create_agent("carol", "Carol").await?;
    for _ in 0..edge::limits::FREE_FAILURES {
        login(&cluster, "carol", "wrong-password")
            .await?
            .assert_error(401, "INVALID_CREDENTIALS");
    }
    // Even the right password waits now; another username does not.
    let waiting = login(&cluster, "carol", "carol-password").await?;
    waiting.assert_error(429, "RATE_LIMIT_EXCEEDED");
    assert_eq!(header(&waiting, "retry-after"), Some(1));
    assert_eq!(login(&cluster, "admin", ADMIN_PASSWORD).await?.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    assert_eq!(
        login(&cluster, "carol", "carol-password").await?.status,
        200,
        "after the wait, the right password works (and forgets the failures)"
    );
    cluster.stop().await;
    Ok(())
}

/// A `/proc/<pid>/status` field in KiB (`VmRSS`, `VmHWM`).
fn memory_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .ok_or_else(|| anyhow::anyhow!("no {field}"))?;
    Ok(line.split_whitespace().nth(1).unwrap_or_default().parse()?)
}

/// 200 concurrent logins with wrong passwords (rate limits off, so all of
/// them reach agent-service): its peak memory grows by at most the hashes it
/// lets run at once, and a valid login meanwhile is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_stays_within_the_hashing_memory() -> anyhow::Result<()> {
    let procs = talk_e2e::procs::Processes::start().await?;
    let edge = procs.url("edge");
    let admin = Api::login(&edge, "admin", ADMIN_PASSWORD).await?;
    admin.create_agent("alice", "Alice").await?;
    let pid = procs.pid("agent-service").context("agent-service pid")?;
    let before = memory_kib(pid, "VmRSS")?;

    let http = reqwest::Client::new();
    let wrong = (0..200).map(|i| {
        let (http, edge) = (http.clone(), edge.clone());
        async move {
            http.post(format!("{edge}/auth/login"))
                .json(&json!({"username": format!("user{}", i % 7), "password": "wrong-password"}))
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    });
    let valid = async {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let started = std::time::Instant::now();
        Api::login(&edge, "alice", "alice-password").await?;
        anyhow::Ok(started.elapsed())
    };
    let (answers, valid) = tokio::join!(futures_util::future::join_all(wrong), valid);
    let waited = valid?;
    for answer in answers {
        let status = answer?;
        assert!(
            status == 401 || status == 429,
            "a wrong login is refused or told to wait: {status}"
        );
    }
    let peak = memory_kib(pid, "VmHWM")?;
    let after = memory_kib(pid, "VmRSS")?;
    let permits = u64::try_from(agent_service::service::password::permits())?;
    let allowed = permits * 19 * 1024 * 3 / 2 + 64 * 1024;
    assert!(
        peak.saturating_sub(before) <= allowed,
        "agent-service grew from {before} KiB to a peak of {peak} KiB (now {after} KiB); {permits} hashes at once allow {allowed} KiB"
    );
    assert!(
        waited < std::time::Duration::from_secs(60),
        "the valid login was answered in {waited:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_carry_the_security_headers() -> anyhow::Result<()> {
    let cluster = cluster(|c| {
        c.hsts_max_age_secs = 31_536_000;
        c.cookie_secure = true;
    })
    .await?;
    let reply = login(&cluster, "admin", ADMIN_PASSWORD).await?;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let text = |name: &str| {
        reply
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(text("x-content-type-options"), "nosniff");
    assert_eq!(
        text("cache-control"),
        "no-store",
        "a credential is never cached"
    );
    assert_eq!(text("strict-transport-security"), "max-age=31536000");
    assert!(
        text("set-cookie").ends_with("; Secure"),
        "{}",
        text("set-cookie")
    );
    let missing = Api::new(&cluster.edge)
        .call(Method::GET, "/v1.0/talks", None)
        .await?;
    assert_eq!(
        missing
            .headers
            .get("x-content-type-options")
            .map(|v| v.as_bytes()),
        Some(&b"nosniff"[..]),
        "errors too"
    );
    cluster.stop().await;
    Ok(())
}

/// Opens a WebSocket with `origin` (none: no header); the upgrade's status.
async fn upgrade_from(cluster: &Cluster, token: &str, origin: Option<&str>) -> anyhow::Result<u16> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("{}/v1.0/ws?token={token}", cluster.push).into_client_request()?;
    if let Some(origin) = origin {
        request.headers_mut().insert("origin", origin.parse()?);
    }
    Ok(match tokio_tungstenite::connect_async(request).await {
        Ok((_, response)) => response.status().as_u16(),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(e) => return Err(e.into()),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websockets_open_only_from_allowed_origins() -> anyhow::Result<()> {
    let cluster = cluster(|c| {
        c.ws_allowed_origins = "https://talk.example.com, https://console.example.com".into();
    })
    .await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let token = admin.token.clone().context("token")?;
    assert_eq!(
        upgrade_from(&cluster, &token, Some("https://talk.example.com")).await?,
        101
    );
    assert_eq!(
        upgrade_from(&cluster, &token, Some("https://console.example.com")).await?,
        101
    );
    assert_eq!(
        upgrade_from(&cluster, &token, None).await?,
        101,
        "not a browser"
    );
    assert_eq!(
        upgrade_from(&cluster, &token, Some("https://evil.example")).await?,
        403
    );
    cluster.stop().await;
    Ok(())
}
