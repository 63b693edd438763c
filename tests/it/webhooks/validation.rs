//! Bad input is 400 naming the problem, and nothing is stored; only admins
//! manage webhooks, and only their own customer's.

use reqwest::Method;
use serde_json::json;
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::{Api, Cluster};

use super::{Answer, Receiver, SERVICES, create};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_400_naming_the_problem_and_nothing_is_stored() -> anyhow::Result<()> {
    let cluster = Cluster::start_with(SERVICES, |config| {
        config.webhook_allow_private = false;
        config.webhook_max_per_customer = 2;
    })
    .await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let zora = cluster.other_customer("zora", "Zora").await?;
    for (body, reason, names) in [
        (json!({}), "MISSING_FIELD", "url"),
        (json!({"url": "not a url"}), "INVALID_WEBHOOK_URL", "url"),
        (
            json!({"url": "ftp://example.com/x"}),
            "INVALID_WEBHOOK_URL",
            "https",
        ),
        (
            json!({"url": "http://example.com/x"}),
            "INVALID_WEBHOOK_URL",
            "https",
        ),
        (
            json!({"url": "https://127.0.0.1/x"}),
            "INVALID_WEBHOOK_URL",
            "private",
        ),
        (
            json!({"url": "https://10.1.2.3/x"}),
            "INVALID_WEBHOOK_URL",
            "private",
        ),
        (
            json!({"url": "https://[::1]/x"}),
            "INVALID_WEBHOOK_URL",
            "private",
        ),
        (
            json!({"url": "https://localhost/x"}),
            "INVALID_WEBHOOK_URL",
            "loopback",
        ),
        (
            json!({"url": "https://8.8.8.8/x", "event_types": ["message_exploded"]}),
            "INVALID_EVENT_TYPE",
            "message_exploded",
        ),
        (
            json!({"url": "https://8.8.8.8/x", "talk_ids": ["nope"]}),
            "INVALID_ID",
            "talk_ids",
        ),
        (
            json!({"url": "https://8.8.8.8/x", "naming": "klingon"}),
            "INVALID_ARGUMENT",
            "naming",
        ),
    ] {
        let reply = admin
            .call(Method::POST, "/v1.0/webhooks", Some(body.clone()))
            .await?;
        reply.assert_error(400, reason);
        let message = reply.body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(names), "{body}: {message}");
    }
    let reply = admin.raw(Method::POST, "/v1.0/webhooks", "{").await?;
    reply.assert_error(400, "INVALID_JSON_BODY");
    let listed = admin.get("/v1.0/webhooks").await?;
    assert_eq!(listed["result"], json!([]), "nothing stored");

    // A plain agent may not; an admin may, up to the cap.
    alice
        .call(
            Method::POST,
            "/v1.0/webhooks",
            Some(json!({"url": "https://8.8.8.8/x"})),
        )
        .await?
        .assert_error(403, "PERMISSION_DENIED");
    alice
        .call(Method::GET, "/v1.0/webhooks", None)
        .await?
        .assert_error(403, "PERMISSION_DENIED");
    let (first, _) = create(&admin, json!({"url": "https://8.8.8.8/a"})).await?;
    create(
        &admin,
        json!({"url": "https://8.8.8.8/b", "event_types": ["chat_created"]}),
    )
    .await?;
    admin
        .call(
            Method::POST,
            "/v1.0/webhooks",
            Some(json!({"url": "https://8.8.8.8/c"})),
        )
        .await?
        .assert_error(400, "TOO_MANY_WEBHOOKS");
    let listed = admin.get("/v1.0/webhooks").await?;
    assert_eq!(listed["result"].as_array().map(Vec::len), Some(2));

    // A change is checked like a create and changes nothing when refused.
    let path = format!("/v1.0/webhooks/{first}");
    let before = admin.get(&path).await?;
    admin
        .call(Method::PUT, &path, Some(json!({"url": "http://8.8.8.8/a"})))
        .await?
        .assert_error(400, "INVALID_WEBHOOK_URL");
    assert_eq!(admin.get(&path).await?, before);
    let disabled = admin
        .call(
            Method::PUT,
            &path,
            Some(json!({"url": "https://8.8.4.4/a", "enabled": false, "naming": "seed"})),
        )
        .await?
        .expect(200)?;
    assert_eq!(disabled["status"], "disabled");
    assert_eq!(disabled["disabled_reason"], "manual");
    assert_eq!(disabled["naming"], "seed");
    assert_eq!(disabled["url"], "https://8.8.4.4/a");

    // Replays need a position or a time.
    admin
        .post(&format!("{path}/replay"), json!({}), 400)
        .await?;
    admin
        .call(
            Method::POST,
            &format!("{path}/replay"),
            Some(json!({"since": "yesterday"})),
        )
        .await?
        .assert_error(400, "INVALID_ARGUMENT");

    // Another customer's admin sees none of it; unknown ids are 404.
    zora.call(Method::GET, &path, None)
        .await?
        .assert_error(404, "WEBHOOK_NOT_FOUND");
    zora.call(Method::DELETE, &path, None)
        .await?
        .assert_error(404, "WEBHOOK_NOT_FOUND");
    assert_eq!(zora.get("/v1.0/webhooks").await?["result"], json!([]));
    admin
        .call(
            Method::GET,
            "/v1.0/webhooks/0190d5e2-1c4b-7000-8000-000000000000",
            None,
        )
        .await?
        .assert_error(404, "WEBHOOK_NOT_FOUND");
    admin
        .call(Method::GET, "/v1.0/webhooks/xyz", None)
        .await?
        .assert_error(400, "INVALID_ID");

    // Deleted: gone, with its log.
    admin.call(Method::DELETE, &path, None).await?.expect(200)?;
    admin
        .call(Method::GET, &path, None)
        .await?
        .assert_error(404, "WEBHOOK_NOT_FOUND");
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_default_delivers_webhooks_too() -> anyhow::Result<()> {
    let cluster = Cluster::start(talk_e2e::Topology::Embedded).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let receiver = Receiver::start(Answer::Ok).await?;
    let (_, secret) = create(
        &admin,
        json!({"url": receiver.url, "event_types": ["chatmessage_created"]}),
    )
    .await?;
    let talk = admin
        .post(
            "/v1.0/talks",
            json!({"type": "group", "name": "embedded"}),
            201,
        )
        .await?;
    let talk_id = super::id_of(&talk);
    super::post(&admin, &talk_id, "from serve all").await?;
    let hits = receiver
        .until("the message", |hits| {
            hits.iter()
                .any(|h| h.body["data"]["text"] == "from serve all")
        })
        .await?;
    for hit in &hits {
        super::verify(&secret, hit)?;
        assert_eq!(hit.body["type"], "chatmessage_created");
    }
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_webhook_writes_with_their_idempotency_key_happen_once() -> anyhow::Result<()> {
    let cluster = Cluster::start(SERVICES).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let receiver = Receiver::start(Answer::Ok).await?;
    let body = json!({"url": receiver.url, "event_types": ["chatmessage_created"]});
    let keyed = |key: &'static str| [("Idempotency-Key", key)];
    let first = admin
        .send(
            Method::POST,
            "/v1.0/webhooks",
            Some(body.clone()),
            &keyed("hook-1"),
        )
        .await?
        .expect(200)?;
    let again = admin
        .send(
            Method::POST,
            "/v1.0/webhooks",
            Some(body.clone()),
            &keyed("hook-1"),
        )
        .await?
        .expect(200)?;
    assert_eq!(
        first, again,
        "the retry gets the first answer, secret and all"
    );
    let listed = admin.get("/v1.0/webhooks").await?;
    assert_eq!(
        listed["result"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
    let reused = admin
        .send(
            Method::POST,
            "/v1.0/webhooks",
            Some(json!({"url": receiver.url})),
            &keyed("hook-1"),
        )
        .await?;
    reused.assert_error(422, "IDEMPOTENCY_KEY_REUSED");

    let id = first["id"].as_str().unwrap_or_default().to_owned();
    let rotate = format!("/v1.0/webhooks/{id}/rotate");
    let rotated = admin
        .send(Method::POST, &rotate, None, &keyed("rotate-1"))
        .await?
        .expect(200)?;
    let rotated_again = admin
        .send(Method::POST, &rotate, None, &keyed("rotate-1"))
        .await?
        .expect(200)?;
    assert_eq!(rotated["secret"], rotated_again["secret"], "rotated once");
    assert_ne!(rotated["secret"], first["secret"]);

    let test = format!("/v1.0/webhooks/{id}/test");
    let ping = admin
        .send(Method::POST, &test, None, &keyed("ping-1"))
        .await?
        .expect(200)?;
    let ping_again = admin
        .send(Method::POST, &test, None, &keyed("ping-1"))
        .await?
        .expect(200)?;
    assert_eq!(ping["id"], ping_again["id"], "one ping queued");
    receiver
        .until("the ping", |hits| {
            hits.iter().any(|h| h.body["type"] == "ping")
        })
        .await?;
    let log = super::log(&admin, &id).await?;
    assert_eq!(log.len(), 1, "{log:#?}");

    let path = format!("/v1.0/webhooks/{id}");
    let deleted = admin
        .send(Method::DELETE, &path, None, &keyed("delete-1"))
        .await?
        .expect(200)?;
    let deleted_again = admin
        .send(Method::DELETE, &path, None, &keyed("delete-1"))
        .await?
        .expect(200)?;
    assert_eq!(
        deleted, deleted_again,
        "the retry of a delete answers as the first"
    );
    admin
        .call(Method::GET, &path, None)
        .await?
        .assert_error(404, "WEBHOOK_NOT_FOUND");
    cluster.stop().await;
    Ok(())
}
