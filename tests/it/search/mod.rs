//! Search through the public API, on PostgreSQL + NATS and on the embedded
//! default (SQLite): words, phrases, prefixes, every filter, ranking,
//! highlights, edits and deletes, who may find what, unspaced scripts and
//! emoji, talk names, and bad input.

use serde_json::{Value, json};
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::{Api, Cluster, Topology};

mod input;
mod mentions;
mod messages;
mod scope;
mod talks;

async fn start(topology: Topology) -> anyhow::Result<(Cluster, Api)> {
    let cluster = Cluster::start(topology).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    Ok((cluster, admin))
}

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap_or_default().to_owned()
}

/// A talk of `kind` made by `creator` with `members`.
async fn talk(creator: &Api, kind: &str, name: &str, members: &[&str]) -> anyhow::Result<String> {
    let talk = creator
        .post(
            "/v1.0/talks",
            json!({"type": kind, "name": name, "participant_ids": members}),
            201,
        )
        .await?;
    Ok(id(&talk))
}

/// Posts `body` to `talk`; the message's id.
async fn post(api: &Api, talk: &str, body: Value) -> anyhow::Result<String> {
    let posted = api
        .post(&format!("/v1.0/talks/{talk}/messages"), body, 201)
        .await?;
    Ok(id(&posted))
}

async fn say(api: &Api, talk: &str, text: &str) -> anyhow::Result<String> {
    post(api, talk, json!({"text": text})).await
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `GET /v1.0/search/messages?q=…&<extra>`: the whole answer.
async fn search_page(api: &Api, q: &str, extra: &str) -> anyhow::Result<Value> {
    let mut path = format!("/v1.0/search/messages?q={}", encode(q));
    if !extra.is_empty() {
        path.push('&');
        path.push_str(extra);
    }
    api.get(&path).await
}

/// The ids of the messages found, in order.
async fn found(api: &Api, q: &str, extra: &str) -> anyhow::Result<Vec<String>> {
    Ok(ids(&search_page(api, q, extra).await?))
}

fn ids(page: &Value) -> Vec<String> {
    page["result"]
        .as_array()
        .map(|hits| hits.iter().map(|h| id(&h["message"])).collect())
        .unwrap_or_default()
}

/// `[start, end)` pairs of a hit's `field`.
fn spans(hit: &Value, field: &str) -> Vec<(u64, u64)> {
    hit[field]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|s| {
                    (
                        s["start"].as_u64().unwrap_or(u64::MAX),
                        s["end"].as_u64().unwrap_or(u64::MAX),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The highlighted parts of a hit's text.
fn marked(hit: &Value) -> Vec<String> {
    let units: Vec<u16> = hit["message"]["text"]
        .as_str()
        .unwrap_or_default()
        .encode_utf16()
        .collect();
    spans(hit, "highlights")
        .into_iter()
        .map(|(s, e)| String::from_utf16_lossy(&units[s as usize..e as usize]))
        .collect()
}
