//! WebSocket listeners: connect, subscribe to the agent's own topic, record
//! every `message_created` frame that carries a bench marker.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_util::sync::CancellationToken;

use crate::api::Agent;

/// One delivery: the message index (from the marker) and the receipt time in
/// microseconds since the bench's epoch.
pub type Delivery = (u32, u64);

/// What a listener saw.
#[derive(Debug, Default)]
pub struct Log {
    /// Deliveries of this scenario's messages.
    pub deliveries: Vec<Delivery>,
    /// Bench messages of another scenario (should stay 0).
    pub foreign: u64,
    /// Whether the socket ended before it was told to stop.
    pub dropped: bool,
}

/// A running listener.
pub struct Listener {
    handle: JoinHandle<Log>,
}

/// What every listener of a scenario shares.
#[derive(Clone)]
pub struct Shared {
    /// The bench's clock origin.
    pub epoch: Instant,
    /// The scenario's tag (the marker is `#<tag><index>#`).
    pub tag: char,
    /// Deliveries counted by all listeners.
    pub received: Arc<AtomicU64>,
    /// Stops every listener.
    pub stop: CancellationToken,
}

/// Opens one listener per agent, `parallel` handshakes at a time.
pub async fn open_all(
    push: &str,
    agents: &[Agent],
    shared: &Shared,
    parallel: usize,
) -> anyhow::Result<Vec<Listener>> {
    let permits = Arc::new(Semaphore::new(parallel.max(1)));
    let mut pending = Vec::with_capacity(agents.len());
    for agent in agents {
        let (push, agent, shared, permits) = (
            push.to_owned(),
            agent.clone(),
            shared.clone(),
            permits.clone(),
        );
        pending.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await?;
            open(&push, &agent, shared).await
        }));
    }
    let mut listeners = Vec::with_capacity(pending.len());
    for task in pending {
        listeners.push(task.await??);
    }
    Ok(listeners)
}

/// Connects, subscribes to `agent_id:<me>:chat` and waits for the ack.
pub async fn open(push: &str, agent: &Agent, shared: Shared) -> anyhow::Result<Listener> {
    let url = format!("ws://{push}/v1.0/ws?token={}", agent.token);
    let (mut ws, _) = tokio::time::timeout(
        Duration::from_secs(30),
        // tungstenite's default 128 KiB read buffer per socket would cost the
        // bench 1.3 GB for 10,000 idle sockets.
        tokio_tungstenite::connect_async_with_config(
            url,
            Some(WebSocketConfig::default().read_buffer_size(8 * 1024)),
            true,
        ),
    )
    .await
    .context("websocket connect timed out")??;
    let subscribe = format!(
        r#"{{"type":"subscribe","topics":["agent_id:{}:chat"],"id":"s"}}"#,
        agent.id
    );
    ws.send(Message::text(subscribe)).await?;
    let acked = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(frame) = ws.next().await {
            if let Message::Text(text) = frame? {
                if text.contains(r#""type":"ack""#) {
                    return Ok(());
                }
                if text.contains(r#""type":"error""#) {
                    bail!("subscribe refused: {text}");
                }
            }
        }
        bail!("socket closed before the subscribe ack")
    })
    .await;
    acked.context("subscribe ack timed out")??;
    let handle = tokio::spawn(async move {
        let mut log = Log::default();
        loop {
            let frame = tokio::select! {
                () = shared.stop.cancelled() => break,
                frame = ws.next() => frame,
            };
            let text = match frame {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(Message::Close(_)) | Err(_)) | None => {
                    log.dropped = true;
                    return log;
                }
                Some(Ok(_)) => continue,
            };
            let now = shared.epoch.elapsed().as_micros() as u64;
            match marker(text.as_str()) {
                Some((tag, index)) if tag == shared.tag => {
                    log.deliveries.push((index, now));
                    shared.received.fetch_add(1, Ordering::Relaxed);
                }
                Some(_) => log.foreign += 1,
                None => {}
            }
        }
        let _ = ws.close(None).await;
        log
    });
    Ok(Listener { handle })
}

impl Listener {
    /// Waits for the listener to end (after `stop`) and returns its log.
    pub async fn finish(self) -> Log {
        self.handle.await.unwrap_or_default()
    }
}

/// The marker of a `message_created` frame: the text starts with `#<tag><index>#`.
pub fn marker(frame: &str) -> Option<(char, u32)> {
    if !frame.starts_with(r#"{"type":"message_created""#) {
        return None;
    }
    let start = frame.find(r##""text":"#"##)? + r##""text":"#"##.len();
    let rest = &frame[start..];
    let tag = rest.chars().next()?;
    let rest = &rest[tag.len_utf8()..];
    let end = rest.find('#')?;
    Some((tag, rest[..end].parse().ok()?))
}

/// The text of message `index` of scenario `tag`, padded to `size` bytes.
pub fn text(tag: char, index: u32, size: usize) -> String {
    let mut text = format!("#{tag}{index}#");
    while text.len() < size {
        text.push('x');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip() {
        let body = text('A', 42, 100);
        assert_eq!(body.len(), 100);
        let frame = format!(
            r#"{{"type":"message_created","data":{{"id":"x","text":"{body}","seq":3}},"topic":"t","cursor":"9"}}"#
        );
        assert_eq!(marker(&frame), Some(('A', 42)));
        assert_eq!(marker(r#"{"type":"participant_joined"}"#), None);
    }
}
