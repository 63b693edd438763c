//! Operations: each service process exposes metrics that move with traffic,
//! and a rolling restart of every service loses no acknowledged message and no
//! event for a client that resumes. Services run as separate `talk` processes.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::procs::Processes;
use talk_e2e::{Api, Socket};

const WAIT: Duration = Duration::from_secs(20);

/// Sum of every sample of `name` whose labels contain all of `labels`.
fn metric(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn scrape(processes: &Processes, service: &str) -> anyhow::Result<String> {
    Ok(
        reqwest::get(format!("{}/metrics", processes.ops_url(service)))
            .await?
            .text()
            .await?,
    )
}

/// Admin, two agents and a group talk between them; Bob listening on a socket.
async fn setup(processes: &Processes) -> anyhow::Result<(Api, String, String, Socket)> {
    let admin = Api::login(&processes.url("edge"), "admin", ADMIN_PASSWORD).await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let talk = alice
        .post(
            "/v1.0/talks",
            json!({"type": "group", "name": "ops", "participant_ids": [bob_id]}),
            201,
        )
        .await?;
    let talk_id = talk["id"].as_str().unwrap_or_default().to_owned();
    let token = bob.token.clone().unwrap_or_default();
    let mut socket = Socket::connect(&processes.ws_url(), &token, "").await?;
    socket
        .send(
            json!({"type": "subscribe", "topics": [format!("agent_id:{bob_id}:chat")], "id": "s"}),
        )
        .await?;
    socket.expect("ack", WAIT).await?;
    Ok((alice, talk_id, token, socket))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_service_exposes_metrics_that_move_with_a_message() -> anyhow::Result<()> {
    let processes = Processes::start().await?;
    let (alice, talk_id, _, mut socket) = setup(&processes).await?;
    let mut before = BTreeMap::new();
    for service in talk_e2e::procs::SERVICES {
        before.insert(service, scrape(&processes, service).await?);
    }

    alice
        .post(
            &format!("/v1.0/talks/{talk_id}/messages"),
            json!({"text": "counted"}),
            201,
        )
        .await?;
    let frame = socket.expect("message_created", WAIT).await?;
    assert_eq!(frame["data"]["text"], "counted");

    let moved = |service: &str, after: &str, name: &str, labels: &[&str]| {
        metric(after, name, labels) - metric(&before[service], name, labels)
    };
    let edge = scrape(&processes, "edge").await?;
    let route = r#"route="/v1.0/talks/{id}/messages""#;
    assert_eq!(
        moved(
            "edge",
            &edge,
            "talk_http_requests_total",
            &[route, r#"method="POST""#, r#"status="201""#]
        ),
        1.0
    );
    assert_eq!(
        moved(
            "edge",
            &edge,
            "talk_http_request_duration_seconds_count",
            &[route]
        ),
        1.0
    );

    let message = scrape(&processes, "message-service").await?;
    assert_eq!(
        moved(
            "message-service",
            &message,
            "talk_grpc_requests_total",
            &[r#"method="PostMessage""#, r#"code="OK""#]
        ),
        1.0
    );
    assert_eq!(
        moved(
            "message-service",
            &message,
            "talk_grpc_request_duration_seconds_count",
            &[r#"method="PostMessage""#]
        ),
        1.0
    );
    assert_eq!(
        moved(
            "message-service",
            &message,
            "talk_messages_posted_total",
            &[r#"type="normal""#]
        ),
        1.0
    );
    assert!(
        moved(
            "message-service",
            &message,
            "talk_events_published_total",
            &[r#"kind="message_created""#]
        ) >= 1.0
    );
    assert!(message.contains("talk_outbox_backlog{service=\"message-service\"}"));
    assert!(message.contains("talk_outbox_oldest_age_ms{service=\"message-service\"}"));

    let talk = scrape(&processes, "talk-service").await?;
    assert!(
        metric(
            &talk,
            "talk_grpc_requests_total",
            &[r#"method="CheckAccessMany""#, r#"code="OK""#]
        ) >= 1.0
    );
    let agent = scrape(&processes, "agent-service").await?;
    assert!(
        metric(
            &agent,
            "talk_grpc_requests_total",
            &[r#"method="Login""#, r#"code="OK""#]
        ) >= 3.0
    );

    let push = scrape(&processes, "push-gateway").await?;
    assert_eq!(metric(&push, "talk_ws_connections", &[]), 1.0);
    assert_eq!(
        moved(
            "push-gateway",
            &push,
            "talk_ws_deliveries_total",
            &[r#"kind="message_created""#]
        ),
        1.0
    );
    drop(socket);
    let mut disconnected = false;
    for _ in 0..100 {
        let push = scrape(&processes, "push-gateway").await?;
        if metric(&push, "talk_ws_connections", &[]) == 0.0
            && metric(&push, "talk_ws_disconnects_total", &[]) >= 1.0
        {
            disconnected = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(disconnected, "the closed socket is counted as a disconnect");

    // The metrics are on the ops ports only: no API port (REST, WebSocket,
    // gRPC) gives them away.
    for service in talk_e2e::procs::SERVICES {
        let api = reqwest::get(format!("{}/metrics", processes.url(service))).await?;
        let body = api.text().await?;
        assert!(
            !body.contains("# TYPE"),
            "{service} serves /metrics on its API port"
        );
    }
    Ok(())
}

/// Posts `text` until it is acknowledged, retrying with one Idempotency-Key
/// while a service is restarting.
async fn post_until_acknowledged(api: &Api, talk_id: &str, text: &str) -> anyhow::Result<Value> {
    let key = format!("post-{text}");
    for _ in 0..400 {
        let reply = api
            .send(
                Method::POST,
                &format!("/v1.0/talks/{talk_id}/messages"),
                Some(json!({"text": text})),
                &[("idempotency-key", key.as_str())],
            )
            .await;
        match reply {
            Ok(reply) if reply.status.as_u16() == 201 => return Ok(reply.body),
            Ok(reply) if reply.status.is_client_error() => anyhow::bail!("{text}: {}", reply.body),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    anyhow::bail!("{text} was never acknowledged")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_restart_of_every_service_loses_nothing_acknowledged() -> anyhow::Result<()> {
    let mut processes = Processes::start().await?;
    let (alice, talk_id, bob_token, socket) = setup(&processes).await?;
    let ws_url = processes.ws_url();
    let bob_id = socket_owner(&processes, &bob_token).await?;
    // Twelve messages around each service's restart.
    let total = talk_e2e::procs::SERVICES.len() * 12;

    // Bob's client: reads, and when the gateway goes away reconnects and resumes.
    let listener = tokio::spawn(async move {
        let mut socket = socket;
        let mut cursor = String::new();
        let mut texts = Vec::new();
        let mut seen = BTreeSet::new();
        while texts.len() < total {
            match socket.next_within(WAIT).await {
                Ok(Some(frame)) => {
                    if frame["type"] == "message_created" && frame["data"]["type"] == "normal" {
                        let id = frame["data"]["id"].as_str().unwrap_or_default().to_owned();
                        assert!(seen.insert(id), "duplicate delivery: {frame}");
                        texts.push(
                            frame["data"]["text"]
                                .as_str()
                                .unwrap_or_default()
                                .to_owned(),
                        );
                    }
                    if let Some(c) = frame["cursor"].as_str() {
                        cursor = c.to_owned();
                    }
                }
                Ok(None) => anyhow::bail!("no event for {WAIT:?}; got {} of {total}", texts.len()),
                Err(_) => loop {
                    // The gateway restarted: reconnect with the cursor.
                    match Socket::connect(&ws_url, &bob_token, &format!("cursor={cursor}")).await {
                        Ok(mut fresh) => {
                            fresh
                                .send(json!({"type": "subscribe", "topics": [format!("agent_id:{bob_id}:chat")]}))
                                .await?;
                            socket = fresh;
                            break;
                        }
                        Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                    }
                },
            }
        }
        Ok(texts)
    });

    let mut acknowledged = Vec::new();
    let mut next = 0;
    for service in talk_e2e::procs::SERVICES {
        for _ in 0..6 {
            let text = format!("m{next:02}");
            post_until_acknowledged(&alice, &talk_id, &text).await?;
            acknowledged.push(text);
            next += 1;
        }
        // Restart while a post is in flight.
        let text = format!("m{next:02}");
        let (posted, restarted) = tokio::join!(
            post_until_acknowledged(&alice, &talk_id, &text),
            processes.restart(service)
        );
        posted?;
        restarted?;
        acknowledged.push(text);
        next += 1;
        for _ in 0..5 {
            let text = format!("m{next:02}");
            post_until_acknowledged(&alice, &talk_id, &text).await?;
            acknowledged.push(text);
            next += 1;
        }
    }
    assert_eq!(acknowledged.len(), total);

    let received = listener.await??;
    assert_eq!(
        received, acknowledged,
        "every acknowledged message, once, in order"
    );
    let stored = alice
        .get(&format!(
            "/v1.0/service_agents/talk_messages?chat_id={talk_id}&page_size=100"
        ))
        .await?;
    let mut texts: Vec<String> = stored["result"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["type"] == "normal")
        .filter_map(|m| m["text"].as_str().map(str::to_owned))
        .collect();
    texts.reverse();
    assert_eq!(
        texts, acknowledged,
        "each acknowledged message is stored exactly once"
    );
    Ok(())
}

async fn socket_owner(processes: &Processes, token: &str) -> anyhow::Result<String> {
    let me = Api::new(&processes.url("edge"))
        .with_token(token.to_owned())
        .get("/v1.0/me")
        .await?;
    Ok(me["id"].as_str().unwrap_or_default().to_owned())
}
