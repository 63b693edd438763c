//! Receivers that fail: 500s are retried with the same `webhook-id` until
//! the schedule ends; a receiver down for the whole script gets everything
//! once it is back, and all of it again on a replay; a hung receiver holds
//! its own slots only; an endpoint failing for too long is disabled.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context;
use serde_json::{Value, json};
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::{Api, Cluster};

use super::{Answer, Hit, Receiver, SERVICES, create, id_of, log, log_until, post, verify};

/// Requests per `webhook-id`.
fn per_id(hits: &[Hit]) -> BTreeMap<String, Vec<Hit>> {
    let mut by_id: BTreeMap<String, Vec<Hit>> = BTreeMap::new();
    for hit in hits {
        by_id.entry(hit.id.clone()).or_default().push(hit.clone());
    }
    by_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_receiver_gets_retries_with_the_same_webhook_id() -> anyhow::Result<()> {
    let cluster = Cluster::start_with(SERVICES, |config| {
        config.webhook_retry_schedule_ms = "100,150,200".into();
    })
    .await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let receiver = Receiver::start(Answer::Fail).await?;
    let (webhook, secret) = create(
        &admin,
        json!({"url": receiver.url, "event_types": ["chatmessage_created"]}),
    )
    .await?;
    let talk = admin
        .post(
            "/v1.0/talks",
            json!({"type": "group", "name": "retries"}),
            201,
        )
        .await?;
    let talk_id = id_of(&talk);

    // Every attempt answered 500: four attempts, then the delivery fails.
    post(&admin, &talk_id, "never taken").await?;
    let entries = log_until(&admin, &webhook, "the schedule runs out", |log| {
        !log.is_empty() && log.iter().all(|d| d["status"] == "failed")
    })
    .await?;
    let failed = entries
        .iter()
        .find(|d| d["status"] == "failed")
        .context("a failed delivery")?;
    assert_eq!(failed["attempts"], 4, "{failed}");
    assert_eq!(failed["response_status"], 500, "{failed}");
    assert!(failed["tm_next_attempt"].is_null(), "{failed}");
    let message_id = failed["message_id"].as_str().context("message_id")?;
    let attempts = per_id(&receiver.hits());
    let same = &attempts[message_id];
    assert_eq!(same.len(), 4, "four requests, one webhook-id");
    for hit in same {
        assert_eq!(hit.raw, same[0].raw, "every attempt carries the same body");
        verify(&secret, hit)?;
    }

    // A 500 and then a 2xx: one delivery, several attempts, one id.
    let before = receiver.hits().len();
    post(&admin, &talk_id, "taken on a retry").await?;
    receiver
        .until("a first, refused attempt", |hits| hits.len() > before)
        .await?;
    receiver.answer(Answer::Ok);
    let entries = log_until(&admin, &webhook, "the retry succeeds", |log| {
        log.iter().any(|d| d["status"] == "succeeded")
    })
    .await?;
    let taken = entries
        .iter()
        .find(|d| d["status"] == "succeeded")
        .context("the delivery taken on a retry")?;
    assert!(taken["attempts"].as_u64() >= Some(2), "{taken}");
    assert_eq!(taken["response_status"], 204, "{taken}");
    let id = taken["message_id"].as_str().context("message_id")?;
    let attempts = per_id(&receiver.hits());
    assert_eq!(
        attempts[id].len() as u64,
        taken["attempts"].as_u64().unwrap_or_default(),
        "one request per attempt"
    );
    assert_eq!(
        attempts[id].last().map(|h| &h.body["data"]["text"]),
        Some(&json!("taken on a retry"))
    );
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_down_throughout_gets_everything_when_back_and_again_on_replay()
-> anyhow::Result<()> {
    let cluster = Cluster::start_with(SERVICES, |config| {
        config.webhook_retry_schedule_ms = ["250"; 40].join(",");
    })
    .await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let mut receiver = Receiver::not_yet(Answer::Ok);
    let (webhook, secret) = create(&admin, json!({"url": receiver.url})).await?;
    // The webhook's creation time: the replay below starts there.
    let since = admin.get(&format!("/v1.0/webhooks/{webhook}")).await?["tm_create"]
        .as_str()
        .context("tm_create")?
        .to_owned();

    let talk = alice
        .post(
            "/v1.0/talks",
            json!({"type": "group", "name": "outage"}),
            201,
        )
        .await?;
    let talk_id = id_of(&talk);
    for n in 0..5 {
        post(&alice, &talk_id, &format!("while down {n}")).await?;
    }
    // Every delivery is tried and refused (nothing listens).
    let entries = log_until(&admin, &webhook, "every delivery tried", |log| {
        log.len() >= 6
            && log
                .iter()
                .all(|d| d["attempts"].as_u64() >= Some(1) && d["status"] == "pending")
    })
    .await?;
    assert!(
        entries
            .iter()
            .all(|d| !d["error"].as_str().unwrap_or_default().is_empty()),
        "{entries:#?}"
    );

    receiver.listen().await?;
    let entries = log_until(&admin, &webhook, "everything delivered", |log| {
        log.iter().all(|d| d["status"] == "succeeded")
    })
    .await?;
    let hits = receiver
        .until("one request per delivery", |hits| {
            hits.len() >= entries.len()
        })
        .await?;
    let ids: BTreeSet<&str> = hits.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids.len(), entries.len(), "each delivery once");
    for hit in &hits {
        verify(&secret, hit)?;
    }
    let texts: BTreeSet<String> = hits
        .iter()
        .filter(|h| h.body["type"] == "chatmessage_created")
        .filter_map(|h| h.body["data"]["text"].as_str().map(str::to_owned))
        .collect();
    for n in 0..5 {
        assert!(texts.contains(&format!("while down {n}")), "{texts:?}");
    }

    // A replay since before the outage sends every event again, same ids.
    let first = hits.len();
    let replayed = admin
        .post(
            &format!("/v1.0/webhooks/{webhook}/replay"),
            json!({ "since": since }),
            200,
        )
        .await?;
    assert_eq!(replayed["queued"].as_u64(), Some(entries.len() as u64));
    let hits = receiver
        .until("the replay", |hits| hits.len() >= first * 2)
        .await?;
    let again: BTreeSet<&str> = hits[first..].iter().map(|h| h.id.as_str()).collect();
    assert_eq!(again, ids, "a replay re-sends the same webhook-ids");
    for hit in &hits[first..] {
        verify(&secret, hit)?;
    }
    // From a cursor: everything after the first event's position.
    let seqs: Vec<u64> = entries
        .iter()
        .filter_map(|d| d["event_seq"].as_u64())
        .collect();
    let first_seq = seqs.iter().min().copied().context("event_seq")?;
    let replayed = admin
        .post(
            &format!("/v1.0/webhooks/{webhook}/replay"),
            json!({ "after": first_seq }),
            200,
        )
        .await?;
    assert_eq!(replayed["queued"].as_u64(), Some(entries.len() as u64 - 1));
    let log = log_until(&admin, &webhook, "the replays delivered", |log| {
        log.len() == entries.len() * 3 - 1 && log.iter().all(|d| d["status"] == "succeeded")
    })
    .await?;
    assert_eq!(log.len(), entries.len() * 3 - 1);
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_receiver_does_not_delay_another_endpoint() -> anyhow::Result<()> {
    let cluster = Cluster::start_with(SERVICES, |config| {
        config.webhook_timeout_ms = 60_000;
        config.webhook_concurrency_per_endpoint = 2;
    })
    .await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let hung = Receiver::start(Answer::Hang).await?;
    let fast = Receiver::start(Answer::Ok).await?;
    let (hung_id, _) = create(&admin, json!({"url": hung.url})).await?;
    let (fast_id, fast_secret) = create(&admin, json!({"url": fast.url})).await?;
    let talk = admin
        .post(
            "/v1.0/talks",
            json!({"type": "group", "name": "stuck"}),
            201,
        )
        .await?;
    let talk_id = id_of(&talk);
    for n in 0..10 {
        post(&admin, &talk_id, &format!("m{n}")).await?;
    }
    let entries = log_until(&admin, &fast_id, "the fast endpoint served", |log| {
        log.len() >= 11 && log.iter().all(|d| d["status"] == "succeeded")
    })
    .await?;
    let hits = fast
        .until("one request per delivery", |hits| {
            hits.len() >= entries.len()
        })
        .await?;
    for hit in &hits {
        verify(&fast_secret, hit)?;
    }
    // The hung endpoint holds its two slots and nothing more.
    let stuck: Vec<Value> = log(&admin, &hung_id).await?;
    assert!(stuck.len() >= 11, "{stuck:#?}");
    assert!(stuck.iter().all(|d| d["status"] == "pending"), "{stuck:#?}");
    assert_eq!(
        hung.hits().len(),
        2,
        "at most two attempts in flight to one endpoint"
    );
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_failing_for_too_long_is_disabled_until_enabled_again() -> anyhow::Result<()> {
    // Failing for "0 s" is too long: the first failure disables.
    let cluster = Cluster::start_with(SERVICES, |config| {
        config.webhook_disable_after_secs = 0;
        config.webhook_retry_schedule_ms = "100".into();
    })
    .await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let receiver = Receiver::start(Answer::Fail).await?;
    let (webhook, secret) = create(
        &admin,
        json!({"url": receiver.url, "event_types": ["chatmessage_created"]}),
    )
    .await?;
    // The admin's integration that watches the others.
    let watcher = Receiver::start(Answer::Ok).await?;
    let (_, watcher_secret) = create(
        &admin,
        json!({"url": watcher.url, "event_types": ["webhook_disabled"]}),
    )
    .await?;
    let talk = admin
        .post(
            "/v1.0/talks",
            json!({"type": "group", "name": "failing"}),
            201,
        )
        .await?;
    let talk_id = id_of(&talk);
    post(&admin, &talk_id, "refused").await?;
    let entries = log_until(&admin, &webhook, "the delivery ends", |log| {
        log.iter().any(|d| d["status"] == "failed")
    })
    .await?;
    assert_eq!(entries[0]["attempts"], 1, "{entries:#?}");
    let path = format!("/v1.0/webhooks/{webhook}");
    let shown = admin.get(&path).await?;
    assert_eq!(shown["status"], "disabled", "{shown}");
    assert_eq!(shown["disabled_reason"], "failing", "{shown}");
    assert_eq!(shown["consecutive_failures"], 1, "{shown}");
    let notices = watcher
        .until("the notice that it was disabled", |hits| !hits.is_empty())
        .await?;
    let notice = &notices[0];
    verify(&watcher_secret, notice)?;
    assert_eq!(notice.body["type"], "webhook_disabled", "{:?}", notice.body);
    assert_eq!(
        notice.body["data"]["id"],
        json!(webhook),
        "{:?}",
        notice.body
    );
    assert_eq!(notice.body["data"]["disabled_reason"], "failing");
    assert_eq!(notice.body["data"]["url"], json!(receiver.url));
    assert!(
        notice.body["data"]["secret"].is_null(),
        "no secret in a notice"
    );

    // Disabled: nothing more is queued for it. Another endpoint hearing the
    // message shows the service has handled it before the first is enabled.
    let witness = Receiver::start(Answer::Ok).await?;
    create(
        &admin,
        json!({"url": witness.url, "event_types": ["chatmessage_created"]}),
    )
    .await?;
    post(&admin, &talk_id, "while disabled").await?;
    witness
        .until("the message while disabled", |hits| {
            hits.iter()
                .any(|h| h.body["data"]["text"] == "while disabled")
        })
        .await?;
    let url = receiver.url.clone();
    let enabled = admin
        .call(
            reqwest::Method::PUT,
            &path,
            Some(json!({"url": url, "event_types": ["chatmessage_created"]})),
        )
        .await?
        .expect(200)?;
    assert_eq!(enabled["status"], "enabled");
    assert_eq!(enabled["consecutive_failures"], 0);
    receiver.answer(Answer::Ok);
    post(&admin, &talk_id, "after enabling").await?;
    let hits = receiver
        .until("the message after enabling", |hits| {
            hits.iter()
                .any(|h| h.body["data"]["text"] == "after enabling")
        })
        .await?;
    assert!(
        hits.iter()
            .all(|h| h.body["data"]["text"] != "while disabled"),
        "nothing is queued for a disabled endpoint"
    );
    for hit in &hits {
        verify(&secret, hit)?;
    }
    assert_eq!(log(&admin, &webhook).await?.len(), 2);
    assert_eq!(watcher.hits().len(), 1, "one notice, and nothing else");
    cluster.stop().await;
    Ok(())
}
