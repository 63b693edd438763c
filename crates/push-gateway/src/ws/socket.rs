//! The socket's edges: authentication by first frame, and the writer task
//! that drains the bounded queue, pings, and ends with the close frame.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::SinkExt;
use futures_util::stream::SplitSink;
use std::sync::Arc;
use talk_auth::Identity;
use tokio::time::{Instant, sleep};

use super::Shared;
use crate::protocol::{self, ClientFrame};
use crate::queue::{Next, Queue, close};

/// How long a client without a token has to send its `auth` frame.
const AUTH_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) async fn send_close(socket: &mut WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

/// Waits for `{"type":"auth","token":…}` as the first text frame.
pub(super) async fn authenticate(socket: &mut WebSocket, shared: &Shared) -> Result<Identity, ()> {
    let deadline = sleep(AUTH_TIMEOUT);
    tokio::pin!(deadline);
    loop {
        let message = tokio::select! {
            () = &mut deadline => {
                send_close(socket, close::UNAUTHENTICATED,
                    "authentication required: send an auth frame within 5 seconds").await;
                return Err(());
            }
            () = shared.shutdown.cancelled() => {
                send_close(socket, close::GOING_AWAY, "server shutting down").await;
                return Err(());
            }
            message = socket.recv() => message,
        };
        let text = match message {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Binary(_))) => {
                send_close(
                    socket,
                    close::UNAUTHENTICATED,
                    "the first frame must be an auth frame",
                )
                .await;
                return Err(());
            }
            Some(Ok(Message::Close(_)) | Err(_)) | None => return Err(()),
        };
        let (id, frame) = protocol::parse(text.as_str());
        let Ok(ClientFrame::Auth(token)) = frame else {
            send_close(
                socket,
                close::UNAUTHENTICATED,
                "the first frame must be an auth frame",
            )
            .await;
            return Err(());
        };
        let Ok(identity) = shared.tokens.verify(&token) else {
            send_close(socket, close::UNAUTHENTICATED, "invalid credentials").await;
            return Err(());
        };
        if let Err(error) = shared.revocations.check(&identity).await {
            let (code, why) = match error.kind {
                talk_types::ErrorKind::Unauthenticated => (close::UNAUTHENTICATED, "token revoked"),
                _ => (close::TRY_AGAIN_LATER, "cannot check the token now; retry"),
            };
            send_close(socket, code, why).await;
            return Err(());
        }
        if let Some(id) = id {
            let _ = socket.send(Message::Text(protocol::ack(&id).into())).await;
        }
        return Ok(identity);
    }
}

/// Drains the queue into the socket and pings; ends after the close frame.
pub(super) async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    queue: Arc<Queue>,
    ping_every: Duration,
) {
    let mut ping = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
    loop {
        let sent = tokio::select! {
            biased;
            next = queue.next() => match next {
                Next::Frame(text) => sink.send(Message::Text(text.into())).await,
                Next::Close(code, reason) => {
                    let frame = CloseFrame { code, reason: reason.into() };
                    let _ = sink.send(Message::Close(Some(frame))).await;
                    let _ = sink.close().await;
                    return;
                }
            },
            _ = ping.tick() => sink.send(Message::Ping(bytes::Bytes::new())).await,
        };
        if sent.is_err() {
            return;
        }
    }
}
