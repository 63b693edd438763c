//! The caps on every collection a client can grow, through the public REST
//! API against real PostgreSQL and NATS (`docs/API.md`, "Limits"): each cap
//! at its limit is accepted, one past it is refused with the 400 that names
//! it, and nothing changed (read back after). Caps whose real values are
//! large (participants per talk, talks per customer, replies per thread) are
//! lowered through the cluster's configuration. And idempotency records
//! expire: purged after their window, a retry with their key runs anew.

use std::collections::BTreeSet;

use anyhow::Context;
use serde_json::Value;
use talk_config::Config;
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::{Api, Cluster, Topology};

mod idempotency;
mod messages;
mod talks;

const TALKS: &str = "/v1.0/talks";
const CHATS: &str = "/v1.0/service_agents/talk_chats";

/// Separate services on PostgreSQL and NATS with `tune` applied to their
/// configuration, and the admin logged in.
async fn start(tune: impl FnOnce(&mut Config)) -> anyhow::Result<(Cluster, Api)> {
    let cluster = Cluster::start_with(Topology::Services { nats_url: None }, tune).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    Ok((cluster, admin))
}

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap_or_default().to_owned()
}

fn results(page: &Value) -> Vec<Value> {
    page["result"].as_array().cloned().unwrap_or_default()
}

/// Ids of the caller's talks (one page of up to 100).
async fn my_talks(api: &Api) -> anyhow::Result<BTreeSet<String>> {
    let page = api.get(&format!("{TALKS}?page_size=100")).await?;
    Ok(results(&page).iter().map(id).collect())
}

/// The agent ids of a talk's active participants.
async fn participants(api: &Api, talk: &str) -> anyhow::Result<BTreeSet<String>> {
    let list = api.get(&format!("{TALKS}/{talk}/participants")).await?;
    let list = list.as_array().context("participants: a bare array")?;
    Ok(list
        .iter()
        .map(|p| p["owner_id"].as_str().unwrap_or_default().to_owned())
        .collect())
}

/// A talk's `member_count` (VoIPBIN's shape omits it when 0).
async fn member_count(api: &Api, talk: &str) -> anyhow::Result<u64> {
    let talk = api.get(&format!("{TALKS}/{talk}")).await?;
    Ok(talk["member_count"].as_u64().unwrap_or(0))
}
