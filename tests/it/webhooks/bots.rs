//! A bot's endpoint (`agent_id`) hears exactly the talks its bot is in, as
//! it joins and leaves them; an ordered endpoint gets one delivery at a
//! time, in bus order, a failing one holding back the rest.

use std::collections::BTreeSet;

use anyhow::Context;
use reqwest::Method;
use serde_json::{Value, json};
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::{Api, Cluster};

use super::{Answer, Hit, Receiver, SERVICES, create, id_of, post, verify};

/// The texts of the agents' messages in `hits`' `message_created` events
/// (system messages, posted as the joins and leaves are handled, left out).
fn texts(hits: &[Hit]) -> Vec<String> {
    hits.iter()
        .filter(|h| h.body["type"] == "message_created")
        .filter(|h| h.body["data"]["type"] != "system")
        .filter_map(|h| h.body["data"]["text"].as_str().map(str::to_owned))
        .collect()
}

/// The (type, talk) of every event in `hits` that is not a message.
fn others(hits: &[Hit]) -> BTreeSet<(String, String)> {
    hits.iter()
        .filter(|h| h.body["type"] != "message_created")
        .map(|h| {
            let data = &h.body["data"];
            let talk = data["chat_id"]
                .as_str()
                .or_else(|| data["id"].as_str())
                .unwrap_or_default();
            (
                h.body["type"].as_str().unwrap_or_default().to_owned(),
                talk.to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_endpoint_hears_the_talks_its_bot_is_in_and_only_while_it_is() -> anyhow::Result<()> {
    let cluster = Cluster::start(SERVICES).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bot_id, _) = admin.create_agent("helper-bot", "Helper").await?;
    // In this talk before its endpoint exists: the endpoint hears it.
    let known = id_of(
        &alice
            .post(
                "/v1.0/talks",
                json!({"type": "group", "name": "with the bot", "participant_ids": [bot_id]}),
                201,
            )
            .await?,
    );
    let elsewhere = id_of(
        &alice
            .post(
                "/v1.0/talks",
                json!({"type": "group", "name": "without the bot"}),
                201,
            )
            .await?,
    );
    let receiver = Receiver::start(Answer::Ok).await?;
    let everything = Receiver::start(Answer::Ok).await?;
    let (webhook, secret) = create(
        &admin,
        json!({"url": receiver.url, "agent_id": bot_id, "naming": "seed"}),
    )
    .await?;
    create(&admin, json!({"url": everything.url, "naming": "seed"})).await?;
    let shown = admin.get(&format!("/v1.0/webhooks/{webhook}")).await?;
    assert_eq!(shown["agent_id"], json!(bot_id), "{shown}");
    assert_eq!(shown["ordered"], json!(false), "{shown}");

    post(&alice, &known, "in a talk of the bot").await?;
    post(&alice, &elsewhere, "before the bot came").await?;
    let added = alice
        .post(
            &format!("/v1.0/talks/{elsewhere}/participants"),
            json!({"agent_id": bot_id}),
            201,
        )
        .await?;
    post(&alice, &elsewhere, "while the bot is in").await?;
    alice
        .call(
            Method::DELETE,
            &format!("/v1.0/talks/{elsewhere}/participants/{}", id_of(&added)),
            None,
        )
        .await?
        .expect(200)?;
    post(&alice, &elsewhere, "after the bot left").await?;
    let created = id_of(
        &alice
            .post(
                "/v1.0/talks",
                json!({"type": "group", "name": "new, with the bot", "participant_ids": [bot_id]}),
                201,
            )
            .await?,
    );
    post(&alice, &known, "the end").await?;

    // The customer's endpoint got every message: the bot's has caught up too.
    everything
        .until("the customer's endpoint heard the end", |hits| {
            texts(hits).contains(&"the end".to_owned())
        })
        .await?;
    let hits = receiver
        .until("the bot's endpoint heard the end", |hits| {
            texts(hits).contains(&"the end".to_owned())
        })
        .await?;
    for hit in &hits {
        verify(&secret, hit)?;
    }
    assert_eq!(
        texts(&hits),
        ["in a talk of the bot", "while the bot is in", "the end"],
        "only messages of talks the bot was in as they were posted"
    );
    let others = others(&hits);
    for expected in [
        ("participant_joined", &elsewhere),
        ("participant_left", &elsewhere),
        ("participant_joined", &created),
        ("talk_created", &created),
    ] {
        assert!(
            others.contains(&(expected.0.to_owned(), expected.1.clone())),
            "{expected:?} missing from {others:#?}"
        );
    }
    assert!(
        !others.iter().any(|(kind, talk)| talk == &elsewhere
            && kind != "participant_joined"
            && kind != "participant_left"),
        "nothing else of the talk the bot was only briefly in: {others:#?}"
    );
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_endpoint_needs_an_agent_of_the_customer() -> anyhow::Result<()> {
    let cluster = Cluster::start(SERVICES).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let zora = cluster.other_customer("zora", "Zora").await?;
    let zora_id = zora.get("/v1.0/me").await?["id"]
        .as_str()
        .context("zora's id")?
        .to_owned();
    let url = "http://127.0.0.1:9/hook";
    for (agent, reason) in [
        ("not-an-id", "INVALID_ID"),
        ("0191d0c5-7e0a-7000-8000-000000000000", "UNKNOWN_AGENT"),
        (zora_id.as_str(), "UNKNOWN_AGENT"),
    ] {
        let reply = admin
            .call(
                Method::POST,
                "/v1.0/webhooks",
                Some(json!({"url": url, "agent_id": agent})),
            )
            .await?;
        reply.assert_error(400, reason);
        assert!(
            reply.body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("agent_id")),
            "{}",
            reply.body
        );
    }
    let listed = admin.get("/v1.0/webhooks").await?;
    assert_eq!(listed["result"], json!([]), "nothing stored: {listed}");

    let (webhook, _) = create(&admin, json!({"url": url})).await?;
    let reply = admin
        .call(
            Method::PUT,
            &format!("/v1.0/webhooks/{webhook}"),
            Some(json!({"url": url, "agent_id": zora_id})),
        )
        .await?;
    reply.assert_error(400, "INVALID_ARGUMENT");
    let shown = admin.get(&format!("/v1.0/webhooks/{webhook}")).await?;
    assert_eq!(shown["agent_id"], Value::Null, "unchanged: {shown}");
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ordered_endpoint_gets_one_delivery_at_a_time_in_bus_order() -> anyhow::Result<()> {
    let cluster = Cluster::start_with(SERVICES, |config| {
        config.webhook_retry_schedule_ms = ["150"; 100].join(",");
        config.webhook_concurrency_per_endpoint = 8;
    })
    .await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let receiver = Receiver::start(Answer::Fail).await?;
    let (webhook, secret) = create(
        &admin,
        json!({
            "url": receiver.url,
            "ordered": true,
            "naming": "seed",
            "event_types": ["message_created"],
        }),
    )
    .await?;
    let talk = id_of(
        &admin
            .post(
                "/v1.0/talks",
                json!({"type": "group", "name": "in order"}),
                201,
            )
            .await?,
    );
    let sent: Vec<String> = (0..6).map(|n| format!("m{n}")).collect();
    for text in &sent {
        post(&admin, &talk, text).await?;
    }
    // Failing: only the first is tried, again and again.
    receiver
        .until("three attempts", |hits| hits.len() >= 3)
        .await?;
    receiver.answer(Answer::Ok);
    let hits = receiver
        .until("the last one", |hits| texts(hits).last() == sent.last())
        .await?;
    for hit in &hits {
        verify(&secret, hit)?;
    }
    let got = texts(&hits);
    let first_other = got.iter().position(|t| t != "m0").context("m1")?;
    assert!(first_other >= 3, "m0 retried before anything else: {got:?}");
    assert_eq!(
        got[first_other - 1..],
        sent[..],
        "then each once, in order: {got:?}"
    );
    let log = super::log_until(&admin, &webhook, "every delivery succeeded", |log| {
        log.iter().all(|d| d["status"] == "succeeded")
    })
    .await?;
    assert_eq!(log.len(), sent.len(), "{log:#?}");
    cluster.stop().await;
    Ok(())
}
