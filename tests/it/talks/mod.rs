//! Talks and participants through the public REST API and WebSocket, in both
//! path families (VoIPBIN's `/v1.0/service_agents/talk_chats…` and
//! `talk_channels`, the seed's `/v1.0/talks…`): creation rules of every type,
//! direct-pair de-duplication, close / reopen / auto-close, membership with an
//! exact `member_count` (also under concurrent joins), visibility across
//! participants, outsiders, public channels and customers, pagination,
//! idempotent retries, the events every change publishes, the system messages
//! they leave in the talk, and 400s for every malformed input that change nothing.

use std::collections::BTreeSet;

use anyhow::Context;
use reqwest::Method;
use serde_json::Value;
use talk_e2e::client::Reply;
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::{Api, Cluster, Topology};

mod archive;
mod create;
mod events;
mod idempotency;
mod lifecycle;
mod membership;
mod pagination;
mod roles;
mod validation;
mod visibility;

const CHATS: &str = "/v1.0/service_agents/talk_chats";
const CHANNELS: &str = "/v1.0/service_agents/talk_channels";
const TALKS: &str = "/v1.0/talks";

async fn start() -> anyhow::Result<(Cluster, Api)> {
    let cluster = Cluster::start(Topology::Services { nats_url: None }).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    Ok((cluster, admin))
}

fn id_of(value: &Value) -> String {
    value["id"].as_str().unwrap_or_default().to_owned()
}

/// `member_count`, which VoIPBIN's shape omits when it is 0.
fn members(talk: &Value) -> u64 {
    talk["member_count"].as_u64().unwrap_or(0)
}

fn message_of(reply: &Reply) -> String {
    reply.body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn put(api: &Api, path: &str, body: Value) -> anyhow::Result<Value> {
    api.call(Method::PUT, path, Some(body)).await?.expect(200)
}

async fn delete(api: &Api, path: &str) -> anyhow::Result<Reply> {
    api.call(Method::DELETE, path, None).await
}

async fn with_key(
    api: &Api,
    method: Method,
    path: &str,
    body: Option<Value>,
    key: &str,
) -> anyhow::Result<Reply> {
    api.send(method, path, body, &[("Idempotency-Key", key)])
        .await
}

/// Every item of a paged listing, newest first, walking `page_token`.
async fn walk(api: &Api, path: &str, page_size: u32) -> anyhow::Result<Vec<Value>> {
    let mut all = Vec::new();
    let mut token = String::new();
    for _ in 0..1000 {
        let page = api
            .get(&format!(
                "{path}?page_size={page_size}&page_token={}",
                token.replace(':', "%3A")
            ))
            .await?;
        let result = page["result"].as_array().context("no result array")?;
        assert!(result.len() <= page_size as usize, "{page}");
        if result.is_empty() {
            assert_eq!(page["next_page_token"], "", "an empty page has no token");
            return Ok(all);
        }
        token = page["next_page_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            result.last().map(|t| t["tm_create"].clone()),
            Some(Value::String(token.clone())),
            "the token is the last item's tm_create"
        );
        all.extend(result.iter().cloned());
    }
    anyhow::bail!("{path} never ended")
}

/// Ids of the caller's talks (all pages).
async fn my_talks(api: &Api) -> anyhow::Result<Vec<String>> {
    Ok(walk(api, TALKS, 100).await?.iter().map(id_of).collect())
}

/// The agent ids of a talk's active participants, and the list's raw JSON.
async fn participant_agents(api: &Api, talk: &str) -> anyhow::Result<BTreeSet<String>> {
    let list = api.get(&format!("{CHATS}/{talk}/participants")).await?;
    let list = list
        .as_array()
        .context("participants must be a bare array")?;
    Ok(list
        .iter()
        .map(|p| p["owner_id"].as_str().unwrap_or_default().to_owned())
        .collect())
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

async fn me(api: &Api) -> anyhow::Result<Value> {
    api.get("/v1.0/me").await
}
