//! A WebSocket client over tokio-tungstenite.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for a frame it expects.
pub const WAIT: Duration = Duration::from_secs(20);

pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
}

/// What the next message was.
#[derive(Debug)]
pub enum Received {
    Frame(Value),
    Closed(u16, String),
    Ended,
}

impl Client {
    pub async fn connect(url: &str) -> Self {
        Self::connect_request(url.into_client_request().unwrap()).await
    }

    pub async fn connect_request(
        request: tokio_tungstenite::tungstenite::handshake::client::Request,
    ) -> Self {
        let (ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        Self { ws, next_id: 0 }
    }

    /// Connects over a TCP socket whose receive buffer is `bytes` (the
    /// kernel's minimum at least): a client that does not read is seen to
    /// stop reading sooner.
    pub async fn connect_small(url: &str, bytes: u32) -> Self {
        let request = url.into_client_request().unwrap();
        let addr = request.uri().authority().unwrap().as_str().parse().unwrap();
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(bytes).unwrap();
        let stream = socket.connect(addr).await.unwrap();
        let stream = MaybeTlsStream::Plain(stream);
        let (ws, _) = tokio_tungstenite::client_async(request, stream)
            .await
            .unwrap();
        Self { ws, next_id: 0 }
    }

    pub async fn send(&mut self, frame: Value) {
        self.ws
            .send(Message::Text(frame.to_string().into()))
            .await
            .unwrap();
    }

    /// Sends `frame` up to `most` times without reading, until a send has
    /// not gone out within `stall` (the server stopped reading) or fails;
    /// returns how many went out.
    pub async fn flood(&mut self, frame: &Value, most: usize, stall: Duration) -> usize {
        let text = frame.to_string();
        for sent in 0..most {
            let send = self.ws.send(Message::Text(text.clone().into()));
            match tokio::time::timeout(stall, send).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return sent,
            }
        }
        most
    }

    /// Sends `frame` with a fresh `id` and waits for its ack (earlier frames
    /// are returned in order ahead of it).
    pub async fn request(&mut self, mut frame: Value) -> Vec<Value> {
        self.next_id += 1;
        let id = self.next_id;
        frame["id"] = json!(id);
        self.send(frame).await;
        let mut before = Vec::new();
        loop {
            let frame = self.frame().await;
            if frame["type"] == "ack" && frame["id"] == json!(id) {
                return before;
            }
            before.push(frame);
        }
    }

    /// Subscribes (acked: the server holds the topics when this returns).
    pub async fn subscribe(&mut self, topics: &[String]) {
        let before = self
            .request(json!({"type": "subscribe", "topics": topics}))
            .await;
        assert!(
            before.is_empty(),
            "unexpected frames before ack: {before:?}"
        );
    }

    /// The next message, whatever it is.
    pub async fn receive(&mut self) -> Received {
        loop {
            let next = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("no message in time");
            return match next {
                Some(Ok(Message::Text(text))) => {
                    Received::Frame(serde_json::from_str(text.as_str()).unwrap())
                }
                Some(Ok(Message::Close(Some(frame)))) => {
                    Received::Closed(frame.code.into(), frame.reason.to_string())
                }
                Some(Ok(Message::Close(None))) | None | Some(Err(_)) => Received::Ended,
                Some(Ok(_)) => continue,
            };
        }
    }

    /// The next text frame (panics on close).
    pub async fn frame(&mut self) -> Value {
        match self.receive().await {
            Received::Frame(frame) => frame,
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    /// The close code and reason (panics on a frame).
    pub async fn closed(&mut self) -> (u16, String) {
        match self.receive().await {
            Received::Closed(code, reason) => (code, reason),
            other => panic!("expected a close, got {other:?}"),
        }
    }

    /// Event frames until one has text `until` (message events), in order.
    pub async fn texts_until(&mut self, until: &str) -> Vec<String> {
        let mut texts = Vec::new();
        loop {
            let frame = self.frame().await;
            let text = frame["data"]["text"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let done = text == until;
            texts.push(text);
            if done {
                return texts;
            }
        }
    }
}
