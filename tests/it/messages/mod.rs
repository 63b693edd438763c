//! Messages through the public API, both path families: the Talk overview's
//! three scenarios (a team discussion, a quick 👍/👎 decision, a support
//! escalation), then each rule on its own — seqs under concurrent posts,
//! concurrent reactions, threads, media, edits, deletes, reactions, read
//! state, catch-up, VoIPBIN's history paging, who may see what, idempotent
//! posts, and malformed input that changes nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use talk_e2e::client::Reply;
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::{Api, Cluster, Socket, Topology};

mod access;
mod changes;
mod idempotency;
mod posting;
mod reactions;
mod reading;
mod scenarios;
mod validation;

const WAIT: Duration = Duration::from_secs(10);

async fn start() -> anyhow::Result<(Cluster, Api)> {
    let cluster = Cluster::start(Topology::Services { nats_url: None }).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    Ok((cluster, admin))
}

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap_or_default().to_owned()
}

fn text(value: &Value) -> &str {
    value["text"].as_str().unwrap_or_default()
}

fn texts(messages: &[Value]) -> Vec<&str> {
    messages.iter().map(text).collect()
}

fn seqs(messages: &[Value]) -> Vec<u64> {
    messages.iter().filter_map(|m| m["seq"].as_u64()).collect()
}

fn results(page: &Value) -> Vec<Value> {
    page["result"].as_array().cloned().unwrap_or_default()
}

/// A group talk made by `creator` with every member in it from the start, so
/// no "joined" system message takes a seq.
async fn group(creator: &Api, name: &str, members: &[&str]) -> anyhow::Result<String> {
    let talk = creator
        .post(
            "/v1.0/talks",
            json!({"type": "group", "name": name, "participant_ids": members}),
            201,
        )
        .await?;
    Ok(id(&talk))
}

/// Posts `text` through the seed family (`201`).
async fn say(api: &Api, talk: &str, text: &str) -> anyhow::Result<Value> {
    api.post(
        &format!("/v1.0/talks/{talk}/messages"),
        json!({"text": text}),
        201,
    )
    .await
}

/// Posts a reply in `parent`'s thread through the seed family.
async fn reply(api: &Api, talk: &str, parent: &str, text: &str) -> anyhow::Result<Value> {
    api.post(
        &format!("/v1.0/talks/{talk}/messages"),
        json!({"text": text, "parent_id": parent}),
        201,
    )
    .await
}

/// Posts through VoIPBIN's family (`200`), with extra body fields.
async fn post_chat(api: &Api, talk: &str, text: &str, extra: Value) -> anyhow::Result<Value> {
    let mut body = json!({"chat_id": talk, "type": "normal", "text": text});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    api.post("/v1.0/service_agents/talk_messages", body, 200)
        .await
}

async fn react(api: &Api, message: &str, emoji: &str) -> anyhow::Result<Value> {
    api.post(
        &format!("/v1.0/messages/{message}/reactions"),
        json!({"emoji": emoji}),
        200,
    )
    .await
}

/// The emoji in a URL path, percent-encoded byte by byte.
fn encode(emoji: &str) -> String {
    emoji.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// Removes the caller's `emoji` with the seed's `DELETE …/reactions/{emoji}`.
async fn unreact(api: &Api, message: &str, emoji: &str) -> anyhow::Result<Reply> {
    api.call(
        Method::DELETE,
        &format!("/v1.0/messages/{message}/reactions/{}", encode(emoji)),
        None,
    )
    .await
}

/// `(emoji, owner_id)` of every reaction on a message, in order.
fn reactions(message: &Value) -> Vec<(String, String)> {
    message["metadata"]["reactions"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|r| {
                    let field = |f: &str| r[f].as_str().unwrap_or_default().to_owned();
                    (field("emoji"), field("owner_id"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// How many agents reacted with each emoji.
fn tally(message: &Value) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for (emoji, _) in reactions(message) {
        *counts.entry(emoji).or_default() += 1;
    }
    counts
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(e, n)| ((*e).to_owned(), *n)).collect()
}

/// Every message of a talk, newest first (one page of up to 100).
async fn listing(api: &Api, talk: &str) -> anyhow::Result<Vec<Value>> {
    Ok(results(
        &api.get(&format!("/v1.0/talks/{talk}/messages?page_size=100"))
            .await?,
    ))
}

async fn message(api: &Api, message: &str) -> anyhow::Result<Value> {
    api.get(&format!("/v1.0/messages/{message}")).await
}

async fn thread(api: &Api, message: &str) -> anyhow::Result<Vec<Value>> {
    Ok(results(
        &api.get(&format!("/v1.0/messages/{message}/thread")).await?,
    ))
}

/// The caller's `unread_count` for `talk` in both families' talk listings
/// (which must agree).
async fn unread(api: &Api, talk: &str) -> anyhow::Result<u64> {
    let mut seen = Vec::new();
    for path in ["/v1.0/talks", "/v1.0/service_agents/talk_chats"] {
        let page = api.get(path).await?;
        let found = results(&page)
            .into_iter()
            .find(|t| t["id"] == talk)
            .and_then(|t| t["unread_count"].as_u64());
        seen.push(found.unwrap_or(u64::MAX));
    }
    assert_eq!(seen[0], seen[1], "both listings agree on unread_count");
    Ok(seen[0])
}

/// A socket of `agent`, subscribed to every talk it is in.
async fn listen(cluster: &Cluster, api: &Api, agent: &str) -> anyhow::Result<Socket> {
    Socket::listen(
        &cluster.push,
        api.token.as_deref().unwrap_or_default(),
        agent,
        "",
    )
    .await
}

/// The next `kind` frame about message `message` (others are skipped).
async fn frame_about(socket: &mut Socket, kind: &str, message: &str) -> anyhow::Result<Value> {
    loop {
        let frame = socket.expect(kind, WAIT).await?;
        if frame["data"]["id"] == message {
            return Ok(frame);
        }
    }
}
