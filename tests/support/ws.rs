//! A WebSocket client for tests.

use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A connected socket.
pub struct Socket {
    inner: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Socket {
    /// Connects to `<base>/v1.0/ws?token=…&<query>`.
    pub async fn connect(base: &str, token: &str, query: &str) -> anyhow::Result<Self> {
        Self::connect_to(base, "/v1.0/ws", token, query).await
    }

    /// Connects to `<base><path>?token=…&<query>`.
    pub async fn connect_to(
        base: &str,
        path: &str,
        token: &str,
        query: &str,
    ) -> anyhow::Result<Self> {
        let mut url = format!("{base}{path}?token={token}");
        if !query.is_empty() {
            url.push('&');
            url.push_str(query);
        }
        let (inner, _) = tokio_tungstenite::connect_async(url)
            .await
            .context("websocket connect")?;
        Ok(Self { inner })
    }

    /// Connects as `agent` (with `token`) and subscribes to every talk it is
    /// in (`agent_id:<agent>:chat`), waiting for the subscription's ack.
    pub async fn listen(base: &str, token: &str, agent: &str, query: &str) -> anyhow::Result<Self> {
        let mut socket = Self::connect(base, token, query).await?;
        socket
            .send(serde_json::json!({"type": "subscribe", "topics": [format!("agent_id:{agent}:chat")], "id": "sub"}))
            .await?;
        socket.expect("ack", Duration::from_secs(10)).await?;
        Ok(socket)
    }

    /// Sends a JSON frame.
    pub async fn send(&mut self, frame: Value) -> anyhow::Result<()> {
        self.inner.send(Message::text(frame.to_string())).await?;
        Ok(())
    }

    /// Subscribes to `topics` (VoIPBIN's frame).
    pub async fn subscribe(&mut self, topics: &[String]) -> anyhow::Result<()> {
        self.send(serde_json::json!({"type": "subscribe", "topics": topics}))
            .await
    }

    /// The next JSON text frame within `wait`, or `None` on timeout.
    pub async fn next_within(&mut self, wait: Duration) -> anyhow::Result<Option<Value>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let next = tokio::time::timeout_at(deadline, self.inner.next()).await;
            let message = match next {
                Err(_) => return Ok(None),
                Ok(None) => bail!("socket closed"),
                Ok(Some(message)) => message?,
            };
            match message {
                Message::Text(text) => return Ok(Some(serde_json::from_str(&text)?)),
                Message::Close(frame) => bail!("socket closed: {frame:?}"),
                _ => continue,
            }
        }
    }

    /// The next frame of type `kind`, skipping others, within `wait`.
    pub async fn expect(&mut self, kind: &str, wait: Duration) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_within(left).await? {
                Some(frame) if frame["type"] == kind => return Ok(frame),
                Some(_) => continue,
                None => bail!("no {kind} frame within {wait:?}"),
            }
        }
    }
}

/// What a socket yields next: a JSON text frame, or the end of the connection.
#[derive(Debug)]
pub enum Incoming {
    /// A JSON text frame.
    Frame(Value),
    /// The server's close frame (its code and reason), or `None` when the
    /// connection ended without one.
    Closed(Option<(u16, String)>),
}

impl Socket {
    /// The next JSON text frame or the close within `wait`; `None` on timeout.
    /// Unlike [`Socket::next_within`], a close is an answer, not an error.
    pub async fn next_or_close(&mut self, wait: Duration) -> anyhow::Result<Option<Incoming>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let next = tokio::time::timeout_at(deadline, self.inner.next()).await;
            let message = match next {
                Err(_) => return Ok(None),
                Ok(None) | Ok(Some(Err(_))) => return Ok(Some(Incoming::Closed(None))),
                Ok(Some(Ok(message))) => message,
            };
            match message {
                Message::Text(text) => {
                    return Ok(Some(Incoming::Frame(serde_json::from_str(&text)?)));
                }
                Message::Close(frame) => {
                    let close = frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                    return Ok(Some(Incoming::Closed(close)));
                }
                _ => continue,
            }
        }
    }
}
