//! Agent status, VoIPBIN-compatible: `PUT /v1.0/service_agents/me/status`
//! stores it (GET shows it), pushes `agent_status_updated` to the agents who
//! share a talk with the caller on any gateway (and to the caller's other
//! devices), and an unknown value is 400 naming the allowed ones.

use std::time::Duration;

use serde_json::json;
use talk_e2e::Cluster;
use talk_e2e::cluster::ADMIN_PASSWORD;

use super::{SERVICES, expect, listen, signals_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_changes_push_to_those_who_share_a_talk() -> anyhow::Result<()> {
    let cluster = Cluster::start(SERVICES).await?;
    let (one, two) = (cluster.gateway().await?, cluster.gateway().await?);
    let admin = talk_e2e::Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let (alice_id, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (carol_id, carol) = admin.create_agent("carol", "Carol").await?;
    alice
        .post(
            "/v1.0/talks",
            json!({"type": "group", "name": "t", "participant_ids": [bob_id]}),
            201,
        )
        .await?;
    let mut alice_other = listen(&one.url, &alice, &alice_id).await?;
    let mut bob_ws = listen(&two.url, &bob, &bob_id).await?;
    let mut carol_ws = listen(&one.url, &carol, &carol_id).await?;

    let agent = alice
        .send(
            reqwest::Method::PUT,
            "/v1.0/service_agents/me/status",
            Some(json!({"status": "busy"})),
            &[],
        )
        .await?
        .expect(200)?;
    assert_eq!(agent["status"], "busy", "{agent}");
    assert_eq!(agent["id"], alice_id.as_str());
    for socket in [&mut bob_ws, &mut alice_other] {
        let frame = expect(socket, "agent_status_updated").await?;
        assert_eq!(frame["data"]["id"], alice_id.as_str(), "{frame}");
        assert_eq!(frame["data"]["status"], "busy", "{frame}");
        assert!(frame.get("cursor").is_none(), "{frame}");
    }
    let read = bob
        .get(&format!("/v1.0/service_agents/agents/{alice_id}"))
        .await?;
    assert_eq!(read["status"], "busy");
    let heard = signals_of(&mut carol_ws, "agent_status", Duration::from_millis(500)).await?;
    assert!(
        heard.is_empty(),
        "carol shares no talk with alice: {heard:?}"
    );

    // Bad input changes nothing.
    let reply = alice
        .raw(
            reqwest::Method::PUT,
            "/v1.0/service_agents/me/status",
            r#"{"status":"sleeping"}"#,
        )
        .await?;
    reply.assert_error(400, "INVALID_ARGUMENT");
    let message = reply.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("available, away, busy, offline, ringing"),
        "{message}"
    );
    alice
        .raw(reqwest::Method::PUT, "/v1.0/service_agents/me/status", "{}")
        .await?
        .assert_error(400, "MISSING_FIELD");
    assert_eq!(alice.get("/v1.0/me").await?["status"], "busy");
    let heard = signals_of(&mut bob_ws, "agent_status", Duration::from_millis(500)).await?;
    assert!(heard.is_empty(), "refused changes pushed: {heard:?}");

    // PUT /v1.0/service_agents/me keeps the status and changes the rest.
    let agent = alice
        .send(
            reqwest::Method::PUT,
            "/v1.0/service_agents/me",
            Some(json!({"name": "Alice A.", "detail": "on call", "ring_method": "linear"})),
            &[],
        )
        .await?
        .expect(200)?;
    assert_eq!(
        (
            &agent["name"],
            &agent["detail"],
            &agent["ring_method"],
            &agent["status"]
        ),
        (
            &json!("Alice A."),
            &json!("on call"),
            &json!("linear"),
            &json!("busy")
        )
    );
    cluster.stop().await;
    Ok(())
}
