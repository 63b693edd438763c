//! One socket: authentication by first frame (when the request had no token),
//! membership, the reader loop (client frames, liveness) and the writer task
//! (the bounded queue, pings, the close frame).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use futures_util::StreamExt;
use futures_util::stream::SplitStream;
use serde_json::Value;
use talk_auth::Identity;
use talk_events::signal::TypingState;
use talk_proto::ListMembershipsRequest;
use talk_telemetry::metrics;
use talk_types::TalkId;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_util::sync::CancellationToken;

use super::socket::{authenticate, refuse, too_big, write};
use super::{Params, Shared};
use crate::limits::{
    MAX_FRAME_BYTES, MAX_TOPICS, TYPING_PER_SEC, Throttle, TypingThrottle, TypingVerdict, Verdict,
};
use crate::protocol::{self, ClientFrame, Reason};
use crate::queue::{Queue, close};
use crate::resume;
use crate::routing::{ConnId, Resume};

/// How long a closed socket waits for the client's close frame.
const CLOSE_LINGER: Duration = Duration::from_secs(5);
/// How long the membership lookup may take before the socket is closed.
const MEMBERSHIP_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a connection's first `subscribe` without a cursor keeps live
/// events back, waiting for a `resume` that a reconnecting client sends right
/// after it (see `Mode::Held`).
const RESUME_GRACE: Duration = Duration::from_millis(500);

/// Serves one upgraded socket until it closes.
pub(crate) async fn serve(mut socket: WebSocket, shared: Arc<Shared>, params: Params) {
    metrics::WS_CONNECTIONS.inc();
    let throttle = Throttle::new(shared.frames_per_sec);
    let identity = match params.identity.clone() {
        Some(identity) => Ok(identity),
        None => authenticate(&mut socket, &shared, &throttle).await,
    };
    let reason = match identity {
        Ok(identity) => run(socket, &shared, identity, &params, throttle).await,
        Err(reason) => reason,
    };
    metrics::WS_CONNECTIONS.dec();
    metrics::WS_DISCONNECTS.with_label_values(&[reason]).inc();
}

struct Connection<'a> {
    id: ConnId,
    identity: Identity,
    shared: &'a Shared,
    queue: Arc<Queue>,
    throttle: Throttle,
    typing_throttle: TypingThrottle,
    /// Cancels the replay task when the connection ends.
    cancel: CancellationToken,
    subscribed: bool,
    pending_resume: Option<u64>,
    /// When the hold of the first subscribe ends.
    hold_until: Option<Instant>,
}

async fn run(
    mut socket: WebSocket,
    shared: &Shared,
    identity: Identity,
    params: &Params,
    throttle: Throttle,
) -> &'static str {
    let queue = Arc::new(Queue::new(shared.queue_len));
    let most = shared.max_connections_per_agent;
    let Some(id) = shared
        .hub
        .register(identity.clone(), params.naming, queue.clone(), most)
    else {
        let message = format!(
            "An agent may hold at most {most} connections on this gateway; close one first."
        );
        let error = protocol::error(Reason::TooManyConnections, &message, None);
        refuse(
            &mut socket,
            error,
            close::TOO_MANY_CONNECTIONS,
            "too many connections",
        )
        .await;
        return "too_many_connections";
    };
    let (sink, stream) = socket.split();
    let writer = tokio::spawn(write(sink, queue.clone(), shared.ping_every));
    let mut conn = Connection {
        id,
        identity,
        shared,
        queue,
        throttle,
        typing_throttle: TypingThrottle::new(),
        cancel: CancellationToken::new(),
        subscribed: false,
        pending_resume: None,
        hold_until: None,
    };
    let reason = conn.run(stream, params.cursor, writer).await;
    shared.presence.closed(&shared.hub, id);
    shared.hub.unregister(id);
    conn.cancel.cancel();
    // Wakes a replay waiting for room in the queue.
    conn.queue.close(close::NORMAL, "bye", false);
    reason
}

impl Connection<'_> {
    async fn run(
        &mut self,
        mut stream: SplitStream<WebSocket>,
        cursor: Option<u64>,
        mut writer: JoinHandle<()>,
    ) -> &'static str {
        let loaded = self.load_membership().await;
        // Presence carries the agent's talks: announced once they are known.
        self.shared
            .presence
            .opened(&self.shared.hub, self.id, &self.identity);
        if loaded && let Some(cursor) = cursor {
            self.resume(cursor, None);
        }
        let pong_timeout = self.shared.pong_timeout;
        let mut deadline = Instant::now() + pong_timeout;
        let reason = loop {
            tokio::select! {
                () = self.shared.shutdown.cancelled() => {
                    self.queue.close(close::GOING_AWAY, "server shutting down, resume with your cursor", false);
                    break "shutdown";
                }
                () = self.queue.closing() => break close_reason(&self.queue),
                () = sleep_until(deadline) => {
                    self.queue.close(close::PONG_TIMEOUT, "no pong received in time", false);
                    break "pong_timeout";
                }
                () = sleep_until(self.hold_until.unwrap_or(deadline)), if self.hold_until.is_some() => {
                    self.hold_until = None;
                    self.shared.hub.release(self.id);
                }
                _ = &mut writer => {
                    return if self.queue.is_closing() { close_reason(&self.queue) } else { "write_failed" };
                }
                message = stream.next() => match message {
                    Some(Err(e)) if too_big(&e) => {
                        let why = format!("frames are limited to {MAX_FRAME_BYTES} bytes");
                        self.queue.close(close::MESSAGE_TOO_BIG, &why, false);
                        break "frame_too_big";
                    }
                    Some(Ok(Message::Close(_)) | Err(_)) | None => {
                        writer.abort();
                        return "client_closed";
                    }
                    Some(Ok(message)) => {
                        deadline = Instant::now() + pong_timeout;
                        let parsed = match &message {
                            Message::Text(text) => {
                                self.shared.presence.active(&self.shared.hub, self.id);
                                Some(protocol::parse(text.as_str()))
                            }
                            _ => None,
                        };
                        // Typing frames have a rate of their own (dropped
                        // beyond it, the socket stays).
                        if let Some((id, Ok(ClientFrame::Typing(talk, state)))) = &parsed {
                            self.typing(id.as_ref(), *talk, *state);
                            tokio::task::yield_now().await;
                            continue;
                        }
                        match self.throttle.check() {
                            Verdict::Allowed => self.handle(message, parsed),
                            Verdict::Refused => self.refuse_for_rate(parsed),
                            Verdict::Exceeded => {
                                self.queue.close(close::RATE_LIMITED, "rate limited: too many frames", true);
                                break "rate_limited";
                            }
                        }
                        // Let the writer send the answer: a client's buffered
                        // frames would otherwise all be read (and answered into
                        // the queue) before it runs.
                        tokio::task::yield_now().await;
                    }
                },
            }
        };
        // Let the writer send the close frame; a client that reads nothing gets cut off.
        if timeout(pong_timeout, &mut writer).await.is_err() {
            writer.abort();
            return reason;
        }
        // Closing handshake: keep reading until the client's close (or a short
        // linger), so its late pongs do not reset the connection before it has
        // read our close frame.
        let drain = async {
            while let Some(Ok(message)) = stream.next().await {
                if matches!(message, Message::Close(_)) {
                    break;
                }
            }
        };
        let _ = timeout(CLOSE_LINGER, drain).await;
        reason
    }

    async fn load_membership(&mut self) -> bool {
        let request = talk_runtime::grpc::request(ListMembershipsRequest {
            agent_id: self.identity.agent.id.to_string(),
            customer_id: self.identity.agent.customer_id.to_string(),
        });
        let mut client = self.shared.talks.clone();
        match timeout(MEMBERSHIP_TIMEOUT, client.list_memberships(request)).await {
            Ok(Ok(response)) => {
                let memberships = response.into_inner();
                // A talk without its join time (an older talk-service) is not filtered.
                let joined = memberships
                    .tm_joined
                    .iter()
                    .copied()
                    .chain(std::iter::repeat(0));
                let talks: Vec<(TalkId, i64)> = memberships
                    .talk_ids
                    .iter()
                    .zip(joined)
                    .filter_map(|(id, at)| Some((id.parse().ok()?, at)))
                    .collect();
                self.shared.hub.load_membership(self.id, talks);
                // The connection starts once the gateway follows all its talks.
                if timeout(MEMBERSHIP_TIMEOUT, self.shared.hub.watched(self.id))
                    .await
                    .is_err()
                {
                    tracing::warn!("the gateway could not follow this agent's talks in time");
                    self.unavailable();
                    return false;
                }
                true
            }
            Ok(Err(status)) => {
                tracing::warn!(code = ?status.code(), "membership lookup failed");
                self.unavailable();
                false
            }
            Err(_) => {
                tracing::warn!("membership lookup timed out");
                self.unavailable();
                false
            }
        }
    }

    fn unavailable(&self) {
        self.queue.control(protocol::error(
            Reason::ServiceUnavailable,
            "Your talks could not be loaded; retry later.",
            None,
        ));
        self.queue.close(
            close::TRY_AGAIN_LATER,
            "membership unavailable, retry",
            true,
        );
    }

    fn handle(
        &mut self,
        message: Message,
        parsed: Option<(Option<Value>, Result<ClientFrame, protocol::Refusal>)>,
    ) {
        match message {
            Message::Text(_) => {
                if let Some((id, frame)) = parsed {
                    self.handle_text(id, frame);
                }
            }
            Message::Binary(_) => self.queue.control(protocol::error(
                Reason::InvalidFrame,
                "Frames must be JSON text.",
                None,
            )),
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) => {}
        }
    }

    /// Answers a frame over the rate with an error frame (text frames only:
    /// those are the ones with an id); it is not carried out.
    fn refuse_for_rate(
        &self,
        parsed: Option<(Option<Value>, Result<ClientFrame, protocol::Refusal>)>,
    ) {
        if let Some((id, _)) = parsed {
            let rate = self.shared.frames_per_sec;
            let message = format!(
                "More than {rate} frames a second: this frame was not carried out; \
                 the socket is closed (4429) if it goes on."
            );
            self.queue
                .control(protocol::error(Reason::RateLimited, &message, id.as_ref()));
        }
    }

    fn handle_text(&mut self, id: Option<Value>, frame: Result<ClientFrame, protocol::Refusal>) {
        let frame = match frame {
            Ok(frame) => frame,
            Err(refusal) => {
                let error = protocol::error(refusal.reason, &refusal.message, id.as_ref());
                return self.queue.control(error);
            }
        };
        match frame {
            ClientFrame::Auth(_) => {}
            ClientFrame::Subscribe(topics) => {
                if topics.len() > MAX_TOPICS {
                    let refusal = protocol::too_many_topics();
                    let error = protocol::error(refusal.reason, &refusal.message, id.as_ref());
                    return self.queue.control(error);
                }
                for topic in &topics {
                    if let Err(refusal) = protocol::check_topic(&self.identity, topic) {
                        let error = protocol::error(refusal.reason, &refusal.message, id.as_ref());
                        self.queue.control(error);
                        self.queue
                            .close(close::FORBIDDEN_TOPIC, "topic not allowed", true);
                        return;
                    }
                }
                // A first subscribe without a cursor holds live events, in
                // case a resume follows it.
                let hold = !self.subscribed && self.pending_resume.is_none();
                if !self.shared.hub.subscribe(self.id, topics, hold) {
                    let refusal = protocol::too_many_topics();
                    let error = protocol::error(refusal.reason, &refusal.message, id.as_ref());
                    return self.queue.control(error);
                }
                if hold {
                    self.hold_until = Some(Instant::now() + RESUME_GRACE);
                }
                self.subscribed = true;
                self.ack(id.as_ref());
                if let Some(cursor) = self.pending_resume.take() {
                    self.start_replay(cursor);
                }
            }
            ClientFrame::Unsubscribe(topics) => {
                self.shared.hub.unsubscribe(self.id, &topics);
                self.ack(id.as_ref());
            }
            ClientFrame::Resume(cursor) => self.resume(cursor, id.as_ref()),
            // Taken before the frame rate (see `run`).
            ClientFrame::Typing(talk, state) => self.typing(id.as_ref(), talk, state),
            ClientFrame::Presence(away) => {
                // A client that speaks presence hears it.
                self.shared.hub.hear_presence(self.id);
                self.shared
                    .presence
                    .declare(&self.shared.hub, self.id, away);
                self.ack(id.as_ref());
            }
        }
    }

    /// A typing frame: within its own rate, for a talk the agent is in,
    /// out on the bus for the talk's other participants on every gateway.
    fn typing(&self, id: Option<&Value>, talk: TalkId, state: TypingState) {
        match self.typing_throttle.check() {
            TypingVerdict::Allowed => {}
            TypingVerdict::Dropped => return,
            TypingVerdict::DroppedTold => {
                let message = format!(
                    "More than {TYPING_PER_SEC} typing frames a second: the extra ones are \
                     dropped (the socket stays open)."
                );
                return self
                    .queue
                    .control(protocol::error(Reason::RateLimited, &message, id));
            }
        }
        if !self.shared.hub.in_talk(self.id, talk) {
            let refusal = protocol::not_participant(talk);
            return self
                .queue
                .control(protocol::error(refusal.reason, &refusal.message, id));
        }
        let agent = &self.identity.agent;
        self.shared
            .signals
            .typing(agent.customer_id, agent.id, talk, state);
        self.ack(id);
    }

    fn ack(&self, id: Option<&Value>) {
        if let Some(id) = id {
            self.queue.control(protocol::ack(id));
        }
    }

    /// Resumes after `cursor`: now if the connection has topics, else at its
    /// first subscribe (live delivery is held back until then).
    fn resume(&mut self, cursor: u64, id: Option<&Value>) {
        let refusal = match self.pending_resume {
            Some(_) => Resume::InProgress,
            None => self.shared.hub.begin_resume(self.id),
        };
        let error = match refusal {
            Resume::Started => None,
            Resume::InProgress => Some((
                Reason::ResumeInProgress,
                "A resume is already in progress on this connection.",
            )),
            Resume::TooLate => Some((
                Reason::ResumeTooLate,
                "This connection has already received live events: resume on a new connection \
                 (?cursor=, or a resume frame before or right after the first subscribe).",
            )),
        };
        if let Some((reason, message)) = error {
            return self.queue.control(protocol::error(reason, message, id));
        }
        self.hold_until = None;
        self.ack(id);
        if self.subscribed {
            self.start_replay(cursor);
        } else {
            self.pending_resume = Some(cursor);
        }
    }

    fn start_replay(&self, cursor: u64) {
        tokio::spawn(resume::replay(resume::Replay {
            bus: self.shared.bus.clone(),
            hub: self.shared.hub.clone(),
            messages: self.shared.messages.clone(),
            id: self.id,
            customer: self.identity.agent.customer_id,
            queue: self.queue.clone(),
            cursor,
            cancel: self.cancel.clone(),
        }));
    }
}

fn close_reason(queue: &Queue) -> &'static str {
    match queue.close_code() {
        Some(close::SLOW_CONSUMER) => "slow_consumer",
        Some(close::FORBIDDEN_TOPIC) => "forbidden_topic",
        Some(close::TRY_AGAIN_LATER) => "membership_unavailable",
        Some(close::RATE_LIMITED) => "rate_limited",
        Some(close::MESSAGE_TOO_BIG) => "frame_too_big",
        Some(_) | None => "server_closed",
    }
}
