//! The socket's edges: authentication by first frame, and the writer task
//! that drains the bounded queue, pings, and ends with the close frame.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::SinkExt;
use futures_util::stream::SplitSink;
use std::sync::Arc;
use talk_auth::{Credential, Identity};
use tokio::time::{Instant, sleep};
use tokio_tungstenite::tungstenite;

use super::Shared;
use crate::limits::{MAX_FRAME_BYTES, Throttle, Verdict};
use crate::protocol::{self, ClientFrame, Reason};
use crate::queue::{Next, Queue, close};

/// How long a client without a token has to send its `auth` frame.
const AUTH_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a refused socket waits for the client's close frame, so that
/// the client reads the refusal before the connection ends.
const REFUSAL_LINGER: Duration = Duration::from_secs(2);

pub(super) async fn send_close(socket: &mut WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

/// Whether a read failed because the client's frame (or message) is larger
/// than [`MAX_FRAME_BYTES`].
pub(super) fn too_big(error: &axum::Error) -> bool {
    // axum wraps tungstenite's error; the capacity error is the one to tell.
    let Some(inner) = std::error::Error::source(error) else {
        return false;
    };
    matches!(
        inner.downcast_ref::<tungstenite::Error>(),
        Some(tungstenite::Error::Capacity(_))
    )
}

/// Sends `error` and a close frame with `code`, then waits (briefly) for
/// the client's close.
pub(super) async fn refuse(socket: &mut WebSocket, error: String, code: u16, reason: &str) {
    let _ = socket.send(Message::Text(error.into())).await;
    send_close(socket, code, reason).await;
    let linger = async { while let Some(Ok(_)) = socket.recv().await {} };
    let _ = tokio::time::timeout(REFUSAL_LINGER, linger).await;
}

/// Waits for `{"type":"auth","token":…}` as the first text frame (a token,
/// or an access key: `vb_…`); else the reason the connection ended.
pub(super) async fn authenticate(
    socket: &mut WebSocket,
    shared: &Shared,
    throttle: &Throttle,
) -> Result<Identity, &'static str> {
    let deadline = sleep(AUTH_TIMEOUT);
    tokio::pin!(deadline);
    loop {
        let message = tokio::select! {
            () = &mut deadline => {
                send_close(socket, close::UNAUTHENTICATED,
                    "authentication required: send an auth frame within 5 seconds").await;
                return Err("unauthenticated");
            }
            () = shared.shutdown.cancelled() => {
                send_close(socket, close::GOING_AWAY, "server shutting down").await;
                return Err("shutdown");
            }
            message = socket.recv() => message,
        };
        let text = match message {
            Some(Err(e)) if too_big(&e) => {
                let why = format!("frames are limited to {MAX_FRAME_BYTES} bytes");
                send_close(socket, close::MESSAGE_TOO_BIG, &why).await;
                return Err("frame_too_big");
            }
            Some(Ok(_)) if throttle.check() == Verdict::Exceeded => {
                send_close(socket, close::RATE_LIMITED, "rate limited: too many frames").await;
                return Err("rate_limited");
            }
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Binary(_))) => {
                send_close(
                    socket,
                    close::UNAUTHENTICATED,
                    "the first frame must be an auth frame",
                )
                .await;
                return Err("unauthenticated");
            }
            Some(Ok(Message::Close(_)) | Err(_)) | None => return Err("unauthenticated"),
        };
        let (id, frame) = protocol::parse(text.as_str());
        if let Err(refusal) = &frame
            && refusal.reason == Reason::IdTooLong
        {
            let error = protocol::error(refusal.reason, &refusal.message, None);
            let why = "the auth frame's id is too long";
            refuse(socket, error, close::UNAUTHENTICATED, why).await;
            return Err("unauthenticated");
        }
        let Ok(ClientFrame::Auth(token)) = frame else {
            send_close(
                socket,
                close::UNAUTHENTICATED,
                "the first frame must be an auth frame",
            )
            .await;
            return Err("unauthenticated");
        };
        let identity = match super::identify(shared, Credential::bearer(&token)).await {
            Ok(identity) => identity,
            Err(error) => {
                let (code, why) = match error.kind {
                    talk_types::ErrorKind::Unauthenticated
                        if error.reason == talk_types::Reason::TokenRevoked.code() =>
                    {
                        (close::UNAUTHENTICATED, "token revoked")
                    }
                    talk_types::ErrorKind::Unauthenticated => {
                        (close::UNAUTHENTICATED, "invalid credentials")
                    }
                    _ => (close::TRY_AGAIN_LATER, "cannot check the token now; retry"),
                };
                send_close(socket, code, why).await;
                return Err("unauthenticated");
            }
        };
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
