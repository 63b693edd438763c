//! The bounded outgoing queue of one socket and its lag policy.
//!
//! The bus consumer never waits on a socket: it [`Queue::offer`]s a frame and
//! moves on. When the queue is full, an ephemeral frame is shed (a new one is
//! refused, or an older queued one is evicted to make room for a durable one);
//! when a durable frame finds no room at all the socket must be closed with
//! [`close::SLOW_CONSUMER`] so the client resumes from its cursor. The
//! server's answers to the client (acks, errors) take the same room: a client
//! that sends without reading fills the queue too, and is closed the same way.

use std::collections::VecDeque;
use std::sync::Mutex;

use talk_events::EventKind;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The close codes the gateway uses (RFC 6455 §7.4: 4000–4999 are ours).
pub mod close {
    /// Normal closure (the connection is over).
    pub const NORMAL: u16 = 1000;
    /// The server is shutting down: reconnect (to any instance) and resume with your cursor.
    pub const GOING_AWAY: u16 = 1001;
    /// A frame (or message) larger than 64 KiB: refused as soon as its header is read.
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    /// The server cannot serve the connection right now (membership lookup failed): retry.
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// No pong (or any frame) within the pong timeout.
    pub const PONG_TIMEOUT: u16 = 4000;
    /// The client fell behind (or the gateway lost its place): reconnect and resume with your cursor.
    pub const SLOW_CONSUMER: u16 = 4008;
    /// No valid credentials: no token and no `auth` frame within 5 s, or a bad
    /// token in it; or the token was revoked (logout, password or permission
    /// change, delete) or expired while the socket was open.
    pub const UNAUTHENTICATED: u16 = 4401;
    /// A subscription to a topic the caller may not have.
    pub const FORBIDDEN_TOPIC: u16 = 4403;
    /// The agent already holds as many sockets on this gateway as it may
    /// (`ws_max_connections_per_agent`): close one first.
    pub const TOO_MANY_CONNECTIONS: u16 = 4409;
    /// The client kept sending faster than `ws_frames_per_sec` after its
    /// frames were refused: reconnect later, and send less.
    pub const RATE_LIMITED: u16 = 4429;
}

/// Whether frames of `kind` may be shed for a slow client before it is
/// disconnected. No domain event may: each one is a change the client must
/// see (a reaction's count included), live or on resume. The mechanism stays
/// for ephemeral events (typing), which will be sheddable.
pub(crate) fn sheddable(kind: EventKind) -> bool {
    match kind {
        EventKind::TalkCreated
        | EventKind::TalkUpdated
        | EventKind::TalkDeleted
        | EventKind::TalkClosed
        | EventKind::TalkReopened
        | EventKind::ParticipantJoined
        | EventKind::ParticipantLeft
        | EventKind::ParticipantUpdated
        | EventKind::MessageCreated
        | EventKind::MessageUpdated
        | EventKind::MessageDeleted
        | EventKind::ReactionAdded
        | EventKind::ReactionRemoved
        | EventKind::ReadUpdated => false,
    }
}

/// What the writer sends next.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// A text frame.
    Frame(String),
    /// A close frame, then the end of the connection.
    Close(u16, String),
}

/// The result of offering an event frame without waiting.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Offer {
    /// Queued.
    Queued,
    /// Queued after evicting an older ephemeral frame.
    QueuedEvicting,
    /// Not queued: it is ephemeral and the queue is full.
    Shed,
    /// Not queued: durable and no room; the caller closes the socket.
    Full,
    /// Not queued: the socket is closing.
    Closing,
}

struct Item {
    text: String,
    ephemeral: bool,
}

#[derive(Default)]
struct State {
    frames: VecDeque<Item>,
    close: Option<(u16, String)>,
}

/// One socket's outgoing frames.
pub(crate) struct Queue {
    state: Mutex<State>,
    capacity: usize,
    readable: Notify,
    writable: Notify,
    closing: CancellationToken,
}

impl Queue {
    /// A queue of at most `capacity` event frames.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::new(State::default()),
            capacity: capacity.max(1),
            readable: Notify::new(),
            writable: Notify::new(),
            closing: CancellationToken::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues an event frame without waiting, applying the lag policy.
    pub(crate) fn offer(&self, text: String, ephemeral: bool) -> Offer {
        let mut state = self.lock();
        if state.close.is_some() {
            return Offer::Closing;
        }
        let outcome = if state.frames.len() < self.capacity {
            Offer::Queued
        } else if ephemeral {
            return Offer::Shed;
        } else if let Some(at) = state.frames.iter().position(|f| f.ephemeral) {
            state.frames.remove(at);
            Offer::QueuedEvicting
        } else {
            return Offer::Full;
        };
        state.frames.push_back(Item { text, ephemeral });
        drop(state);
        self.readable.notify_one();
        outcome
    }

    /// Queues an event frame, waiting for room (replay only: it has its own
    /// bus subscription, so waiting slows nobody else). False once closing.
    pub(crate) async fn push_wait(&self, text: String, ephemeral: bool) -> bool {
        let mut text = Some(text);
        loop {
            {
                let mut state = self.lock();
                if state.close.is_some() {
                    return false;
                }
                if state.frames.len() < self.capacity
                    && let Some(text) = text.take()
                {
                    state.frames.push_back(Item { text, ephemeral });
                    drop(state);
                    self.readable.notify_one();
                    return true;
                }
            }
            tokio::select! {
                () = self.writable.notified() => {}
                () = self.closing.cancelled() => return false,
            }
        }
    }

    /// How many event frames it holds at most.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Queues a protocol frame (ack, error, resync) like a durable event: it
    /// may evict a queued ephemeral one, and when there is no room the socket
    /// is closed with [`close::SLOW_CONSUMER`] (its answers are not read).
    pub(crate) fn control(&self, text: String) {
        if self.offer(text, false) == Offer::Full {
            self.close(
                close::SLOW_CONSUMER,
                "slow consumer: answers not read, resume with your cursor",
                false,
            );
        }
    }

    /// Ends the connection with `code`: after the queued frames when `flush`,
    /// else at once (the client resumes from its cursor). The first close wins.
    pub(crate) fn close(&self, code: u16, reason: &str, flush: bool) {
        let mut state = self.lock();
        if state.close.is_some() {
            return;
        }
        state.close = Some((code, reason.to_owned()));
        if !flush {
            state.frames.clear();
        }
        drop(state);
        self.closing.cancel();
        self.readable.notify_one();
    }

    /// Whether the connection is closing.
    pub(crate) fn is_closing(&self) -> bool {
        self.closing.is_cancelled()
    }

    /// The close code, once closing.
    pub(crate) fn close_code(&self) -> Option<u16> {
        self.lock().close.as_ref().map(|(code, _)| *code)
    }

    /// Resolves once [`Queue::close`] was called.
    pub(crate) async fn closing(&self) {
        self.closing.cancelled().await;
    }

    /// The next thing to send (cancel-safe: nothing is taken unless it is returned).
    pub(crate) async fn next(&self) -> Next {
        loop {
            {
                let mut state = self.lock();
                if let Some(item) = state.frames.pop_front() {
                    drop(state);
                    self.writable.notify_one();
                    return Next::Frame(item.text);
                }
                if let Some((code, reason)) = &state.close {
                    return Next::Close(*code, reason.clone());
                }
            }
            self.readable.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_domain_event_is_shed() {
        for kind in EventKind::ALL {
            assert!(!sheddable(kind), "{kind:?}");
        }
    }

    #[tokio::test]
    async fn sheds_ephemeral_first_then_reports_full() {
        let queue = Queue::new(2);
        assert_eq!(queue.offer("r1".into(), true), Offer::Queued);
        assert_eq!(queue.offer("m1".into(), false), Offer::Queued);
        assert_eq!(queue.offer("r2".into(), true), Offer::Shed);
        assert_eq!(queue.offer("m2".into(), false), Offer::QueuedEvicting);
        assert_eq!(queue.offer("m3".into(), false), Offer::Full);
        assert_eq!(queue.next().await, Next::Frame("m1".into()));
        assert_eq!(queue.next().await, Next::Frame("m2".into()));
        queue.close(close::SLOW_CONSUMER, "slow", false);
        assert_eq!(queue.offer("m4".into(), false), Offer::Closing);
        assert_eq!(
            queue.next().await,
            Next::Close(close::SLOW_CONSUMER, "slow".into())
        );
    }

    #[tokio::test]
    async fn answers_take_the_room_of_events() {
        let queue = Queue::new(2);
        assert_eq!(queue.offer("r1".into(), true), Offer::Queued);
        queue.control("ack1".into());
        queue.control("ack2".into());
        assert!(!queue.is_closing(), "the reaction made room");
        queue.control("ack3".into());
        assert_eq!(queue.close_code(), Some(close::SLOW_CONSUMER));
        assert!(matches!(
            queue.next().await,
            Next::Close(close::SLOW_CONSUMER, _)
        ));
    }

    #[tokio::test]
    async fn flushing_close_sends_queued_frames_first() {
        let queue = Queue::new(4);
        queue.control("error".into());
        queue.close(close::FORBIDDEN_TOPIC, "no", true);
        assert_eq!(queue.next().await, Next::Frame("error".into()));
        assert_eq!(
            queue.next().await,
            Next::Close(close::FORBIDDEN_TOPIC, "no".into())
        );
    }
}
