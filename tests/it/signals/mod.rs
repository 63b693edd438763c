//! Live signals through the whole system, on real sockets: typing and
//! "working on it" (frames and REST) across two gateways on PostgreSQL +
//! NATS and on the embedded default, its expiry, who hears it, its limits,
//! that it is never replayed; and agent status changes pushed to the agents
//! who share a talk.

use std::time::Duration;

use anyhow::Context;
use serde_json::Value;
use talk_e2e::{Api, Socket, Topology};

mod presence;
mod read;
mod status;
mod typing;

pub(super) const WAIT: Duration = Duration::from_secs(15);
const SERVICES: Topology = Topology::Services { nats_url: None };

pub(super) fn id_of(value: &Value) -> String {
    value["id"].as_str().unwrap_or_default().to_owned()
}

fn token(api: &Api) -> &str {
    api.token.as_deref().unwrap_or_default()
}

/// A socket of `agent` on `base` subscribed to all its talks.
async fn listen(base: &str, api: &Api, agent: &str) -> anyhow::Result<Socket> {
    Socket::listen(base, token(api), agent, "").await
}

/// Whether a frame is a signal (typing, presence or status), not an event.
fn is_signal(frame: &Value) -> bool {
    let kind = frame["type"].as_str().unwrap_or_default();
    kind.starts_with("typing_") || kind == "agent_status_updated" || kind == "presence_changed"
}

/// Every signal frame of a kind starting with `kind` that `socket`
/// receives within `wait` (other frames skipped).
async fn signals_of(socket: &mut Socket, kind: &str, wait: Duration) -> anyhow::Result<Vec<Value>> {
    let got = signals_within(socket, wait).await?;
    Ok(got
        .into_iter()
        .filter(|f| f["type"].as_str().unwrap_or_default().starts_with(kind))
        .collect())
}

/// Every signal frame `socket` receives within `wait` (other frames skipped).
async fn signals_within(socket: &mut Socket, wait: Duration) -> anyhow::Result<Vec<Value>> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut got = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match socket.next_within(left).await? {
            Some(frame) if is_signal(&frame) => got.push(frame),
            Some(_) => {}
            None => return Ok(got),
        }
    }
}

/// The next frame of type `kind` (skipping others) within [`WAIT`].
async fn expect(socket: &mut Socket, kind: &str) -> anyhow::Result<Value> {
    socket
        .expect(kind, WAIT)
        .await
        .with_context(|| format!("waiting for {kind}"))
}
