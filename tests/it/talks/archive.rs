//! Archiving inactive talks: the customer's setting (`/v1.0/talk_settings`,
//! off by default, admins only, 400 for a number of days it cannot take),
//! the sweep driven by a clock the test controls (`ArchiveService/
//! ArchiveInactive` with the deployment's internal token, as talk-service's
//! hourly sweep calls it with the real clock), the close it makes — one
//! `talk_closed` (`chat_updated` for VoIPBIN), one system message, once —
//! and the seed listing's `?status=`.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::Context;
use reqwest::Method;
use sea_orm::prelude::DateTimeWithTimeZone;
use serde_json::{Value, json};
use talk_e2e::client::assert_error;
use talk_e2e::{Api, Cluster, Socket};
use talk_proto as pb;

use super::{CHATS, TALKS, id_of, my_talks, put, start, walk};

const SETTINGS: &str = "/v1.0/talk_settings";
const DAY: i64 = 86_400_000_000;
const WAIT: Duration = Duration::from_secs(15);
const ARCHIVED: &str = "The conversation was archived for inactivity.";

/// A REST timestamp in microseconds since the epoch.
fn micros(value: &Value) -> anyhow::Result<i64> {
    let text = value.as_str().context("not a timestamp")?;
    Ok(DateTimeWithTimeZone::parse_from_rfc3339(text)?.timestamp_micros())
}

/// Runs the archive sweep as of `now` (microseconds) as talk-service's own
/// periodic task does, with the deployment's internal token; the talks it
/// closed.
async fn sweep(cluster: &Cluster, now: i64) -> anyhow::Result<BTreeSet<String>> {
    let internal = talk_runtime::Internal::from_config("test", &cluster.config);
    let channel = talk_runtime::channel(&cluster.config.talk_service_url, &internal)?;
    let mut archive = pb::archive_service_client::ArchiveServiceClient::new(channel);
    let closed = archive
        .archive_inactive(talk_runtime::grpc::request(pb::ArchiveInactiveRequest {
            now_micros: now,
        }))
        .await?
        .into_inner();
    Ok(closed.talk_ids.into_iter().collect())
}

/// Ids of the caller's talks listed with `?status=<status>` (all pages).
async fn listed(api: &Api, status: &str) -> anyhow::Result<BTreeSet<String>> {
    let path = format!("{TALKS}?status={status}");
    let mut all = BTreeSet::new();
    let mut token = String::new();
    loop {
        let page = api
            .get(&format!(
                "{path}&page_size=2&page_token={}",
                token.replace(':', "%3A")
            ))
            .await?;
        let result = page["result"].as_array().context("no result")?;
        if result.is_empty() {
            return Ok(all);
        }
        all.extend(result.iter().map(id_of));
        token = page["next_page_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
    }
}

/// The texts of the talk's system messages that say `text`.
async fn system_texts(api: &Api, talk: &str, text: &str) -> anyhow::Result<usize> {
    let page = api
        .get(&format!("{TALKS}/{talk}/messages?page_size=100"))
        .await?;
    Ok(page["result"]
        .as_array()
        .context("no result")?
        .iter()
        .filter(|m| m["type"] == "system" && m["text"] == text)
        .count())
}

/// Polls until the talk has a system message saying `text`.
async fn wait_for_system(api: &Api, talk: &str, text: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + WAIT;
    while system_texts(api, talk, text).await? == 0 {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "no system message {text:?} in {talk}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// The types of the frames about `talk` that change its state (message,
/// participant and creation events skipped) until one of type `last`, in order.
async fn kinds_until(socket: &mut Socket, talk: &str, last: &str) -> anyhow::Result<Vec<String>> {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut kinds = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let frame = socket
            .next_within(left)
            .await?
            .with_context(|| format!("no {last} frame; saw {kinds:?}"))?;
        let kind = frame["type"].as_str().unwrap_or_default().to_owned();
        let about = frame["data"]["chat_id"] == talk || frame["data"]["id"] == talk;
        let skipped = ["message", "participant", "created"];
        if !about || skipped.iter().any(|s| kind.contains(s)) {
            continue;
        }
        kinds.push(kind);
        if kinds.last().is_some_and(|k| k == last) {
            return Ok(kinds);
        }
    }
}

/// `PUT /v1.0/talk_settings` with `body`.
async fn set(api: &Api, body: Value) -> anyhow::Result<talk_e2e::client::Reply> {
    api.call(Method::PUT, SETTINGS, Some(body)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_archive_setting_is_off_by_default_admins_only_and_checked() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, _) = admin.create_agent("bob", "Bob").await?;

    let default = alice.get(SETTINGS).await?;
    assert_eq!(default["archive_inactive_days"], Value::Null, "{default}");
    assert_eq!(default["tm_update"], Value::Null);
    assert_eq!(
        default["customer_id"],
        admin.get("/v1.0/me").await?["customer_id"]
    );

    // Off: nothing is archived, however long it has been.
    let group = alice
        .post(
            TALKS,
            json!({"type": "group", "participant_ids": [bob_id]}),
            201,
        )
        .await?;
    let g = id_of(&group);
    let far = micros(&group["tm_create"])? + 3650 * DAY;
    assert!(sweep(&cluster, far).await?.is_empty());
    assert_eq!(alice.get(&format!("{TALKS}/{g}")).await?["state"], "active");

    // Only admins change it.
    set(&alice, json!({"archive_inactive_days": 1}))
        .await?
        .assert_error(403, "PERMISSION_DENIED");
    // Days it cannot take, and bodies that are not a number of days.
    for bad in [json!(0), json!(-1), json!(3651), json!(i64::MAX)] {
        set(&admin, json!({"archive_inactive_days": bad}))
            .await?
            .assert_error(400, "INVALID_ARGUMENT");
    }
    for bad in [json!(1.5), json!("7"), json!(true)] {
        set(&admin, json!({"archive_inactive_days": bad}))
            .await?
            .assert_error(400, "INVALID_JSON_BODY");
    }
    set(&admin, json!({}))
        .await?
        .assert_error(400, "MISSING_FIELD");
    assert_eq!(alice.get(SETTINGS).await?, default, "nothing changed");

    let on = put(&admin, SETTINGS, json!({"archive_inactive_days": 3650})).await?;
    assert_eq!(on["archive_inactive_days"], 3650);
    assert!(on["tm_update"].is_string(), "{on}");
    assert_eq!(alice.get(SETTINGS).await?, on, "every agent reads it");
    let off = put(&admin, SETTINGS, json!({"archive_inactive_days": null})).await?;
    assert_eq!(off["archive_inactive_days"], Value::Null);
    assert!(sweep(&cluster, far).await?.is_empty(), "off again");

    // The seed listing's status must be one it knows.
    let bad = alice
        .call(Method::GET, &format!("{TALKS}?status=archived"), None)
        .await?;
    assert_error(&bad, 400, "INVALID_REQUEST_PARAMETER");
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one story: idle, archived, listed, reopened
async fn archive_closes_idle_group_talks_once_and_the_listing_hides_them() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (alice_id, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let token = |api: &Api| api.token.clone().unwrap_or_default();
    let mut alice_ws = Socket::listen(&cluster.push, &token(&alice), &alice_id, "").await?;
    let mut bob_ws = Socket::listen(&cluster.push, &token(&bob), &bob_id, "events=voipbin").await?;
    put(&admin, SETTINGS, json!({"archive_inactive_days": 1})).await?;

    // Created in this order: busy, idle, direct; then a message in busy.
    let group = || json!({"type": "group", "participant_ids": [bob_id]});
    let busy = id_of(&alice.post(TALKS, group(), 201).await?);
    let idle = alice.post(TALKS, group(), 201).await?;
    let direct = alice
        .post(
            TALKS,
            json!({"type": "direct", "participant_ids": [bob_id]}),
            201,
        )
        .await?;
    let message = bob
        .post(
            &format!("{TALKS}/{busy}/messages"),
            json!({"text": "still here"}),
            201,
        )
        .await?;
    // Published (the sweep then waits until talk-service has applied the bus).
    alice_ws.expect("message_created", WAIT).await?;
    let (i, d) = (id_of(&idle), id_of(&direct));

    // A day after a moment between the direct talk's creation and busy's
    // message: idle and direct have had no activity for over a day, busy not.
    let (quiet_since, spoken) = (
        micros(&direct["tm_create"])?,
        micros(&message["tm_create"])?,
    );
    assert!(micros(&idle["tm_create"])? < quiet_since && quiet_since + 2 < spoken);
    let now = quiet_since + (spoken - quiet_since) / 2 + DAY;
    assert_eq!(sweep(&cluster, now).await?, BTreeSet::from([i.clone()]));

    // Closed like a manual close: the event, one system message.
    let frames = kinds_until(&mut alice_ws, &i, "talk_closed").await?;
    assert_eq!(frames, vec!["talk_closed"]);
    let frames = kinds_until(&mut bob_ws, &i, "chat_updated").await?;
    assert_eq!(frames, vec!["chat_updated"]);
    wait_for_system(&alice, &i, ARCHIVED).await?;
    let closed = alice.get(&format!("{TALKS}/{i}")).await?;
    assert_eq!(closed["state"], "closed");
    bob.call(
        Method::POST,
        &format!("{TALKS}/{i}/messages"),
        Some(json!({"text": "hello?"})),
    )
    .await?
    .assert_error(409, "TALK_CLOSED");
    for talk in [&busy, &d] {
        assert_eq!(
            alice.get(&format!("{TALKS}/{talk}")).await?["state"],
            "active"
        );
    }

    // A second sweep changes nothing.
    assert!(sweep(&cluster, now).await?.is_empty());

    // Hidden from the default listing, listed under closed and all; VoIPBIN's
    // listing (no closed talks there) shows it as before.
    let open = BTreeSet::from([busy.clone(), d.clone()]);
    assert_eq!(
        my_talks(&alice).await?.into_iter().collect::<BTreeSet<_>>(),
        open
    );
    assert_eq!(listed(&alice, "open").await?, open);
    assert_eq!(listed(&alice, "active").await?, open);
    assert_eq!(listed(&bob, "closed").await?, BTreeSet::from([i.clone()]));
    let all = BTreeSet::from([busy.clone(), i.clone(), d.clone()]);
    assert_eq!(listed(&bob, "all").await?, all);
    let voipbin: BTreeSet<String> = walk(&bob, CHATS, 100).await?.iter().map(id_of).collect();
    assert_eq!(voipbin, all);

    // Reopened: listed again, and archived again only after another idle day.
    let reopened = alice
        .post(&format!("{TALKS}/{i}/reopen"), json!(null), 200)
        .await?;
    assert_eq!(reopened["state"], "active");
    assert!(listed(&alice, "open").await?.contains(&i));
    assert!(
        sweep(&cluster, now).await?.is_empty(),
        "the reopen is activity"
    );
    let frames = kinds_until(&mut alice_ws, &i, "talk_reopened").await?;
    assert_eq!(frames, vec!["talk_reopened"], "no second close");
    wait_for_system(&alice, &i, "The conversation was reopened.").await?;
    assert_eq!(
        system_texts(&alice, &i, ARCHIVED).await?,
        1,
        "one system message"
    );
    // (A minute past a day: the reopen's system message came after it.)
    let later = micros(&reopened["tm_update"])? + DAY + 60_000_000;
    assert_eq!(
        sweep(&cluster, later).await?,
        BTreeSet::from([busy.clone(), i.clone()]),
        "a day after the reopen (and after busy's message), never the direct talk"
    );
    assert_eq!(my_talks(&alice).await?, vec![d.clone()]);
    cluster.stop().await;
    Ok(())
}
