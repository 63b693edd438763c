//! webhook-service killed with SIGKILL while events stream in: every event
//! is queued once (the consumer's cursor is committed with the deliveries),
//! and every one reaches the receiver once it is back; its metrics count them.

use std::collections::BTreeSet;

use anyhow::Context;
use serde_json::json;
use talk_e2e::Api;
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::procs::Processes;

use super::{Answer, Receiver, create, id_of, log_until, post, verify};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_webhook_service_neither_loses_nor_queues_an_event_twice() -> anyhow::Result<()> {
    let mut processes = Processes::start().await?;
    processes.set_env("TALK_WEBHOOK_TIMEOUT_MS", "1000");
    processes.set_env("TALK_WEBHOOK_RETRY_SCHEDULE_MS", &["200"; 20].join(","));
    processes.restart("webhook-service").await?;
    let admin = Api::login(&processes.url("edge"), "admin", ADMIN_PASSWORD).await?;
    let receiver = Receiver::start(Answer::Ok).await?;
    let (webhook, secret) = create(
        &admin,
        json!({"url": receiver.url, "event_types": ["chatmessage_created"], "naming": "seed"}),
    )
    .await?;
    let talk = admin
        .post(
            "/v1.0/talks",
            json!({"type": "group", "name": "crash"}),
            201,
        )
        .await?;
    let talk_id = id_of(&talk);

    let mut texts = BTreeSet::new();
    for round in 0..3 {
        for n in 0..15 {
            let text = format!("r{round}m{n:02}");
            post(&admin, &talk_id, &text).await?;
            texts.insert(text);
        }
        // No shutdown of any kind, while deliveries are being queued and sent.
        processes.kill_one("webhook-service")?;
        for n in 15..20 {
            let text = format!("r{round}m{n:02}");
            post(&admin, &talk_id, &text).await?;
            texts.insert(text);
        }
        processes.start_one("webhook-service").await?;
    }

    let got = |hits: &[super::Hit]| -> BTreeSet<String> {
        hits.iter()
            .filter_map(|h| h.body["data"]["text"].as_str().map(str::to_owned))
            .collect()
    };
    let hits = receiver
        .until("every message", |hits| texts.is_subset(&got(hits)))
        .await?;
    let entries = log_until(&admin, &webhook, "every delivery done", |log| {
        log.iter().all(|d| d["status"] == "succeeded")
            && log
                .iter()
                .filter(|d| d["event_type"] == "message_created")
                .count()
                >= texts.len()
    })
    .await?;
    // Queued once each: one delivery per event, whatever the crashes.
    let ids: Vec<&str> = entries
        .iter()
        .filter_map(|d| d["message_id"].as_str())
        .collect();
    let distinct: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(
        ids.len(),
        distinct.len(),
        "an event queued twice: {entries:#?}"
    );
    assert_eq!(ids.len(), texts.len(), "{entries:#?}");
    // Sent at least once each; a repeat (an answer lost in a crash) has the same id.
    for hit in &hits {
        verify(&secret, hit).with_context(|| format!("{hit:?}"))?;
        assert!(distinct.contains(hit.id.as_str()), "{hit:?}");
    }
    // Its metrics: the events delivered since its last start among them.
    let metrics = reqwest::get(format!("{}/metrics", processes.ops_url("webhook-service")))
        .await?
        .text()
        .await?;
    for name in [
        "talk_webhook_deliveries_total{outcome=\"succeeded\"}",
        "talk_webhook_attempt_duration_seconds_count",
        "talk_webhook_backlog",
    ] {
        assert!(metrics.contains(name), "{name} missing from {metrics}");
    }
    Ok(())
}
