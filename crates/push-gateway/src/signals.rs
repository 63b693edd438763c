//! Ephemeral signals on this gateway: typing frames of its connections go
//! out on the bus (NATS core; a bounded queue, a full one drops), and every
//! signal of the deployment comes back in and is offered to the sockets of
//! the talks' participants (`routing::signal`), never replayed.
//!
//! Typing: every gateway keeps who types where (`Typists`) from the signals
//! it hears, so it forwards a state change once (`typing_started` with the
//! state; a refresh only moves the deadline) and sends `typing_stopped`
//! itself when a state runs out ([`TYPING_TTL`] without a refresh) — each
//! gateway for its own sockets, all from the same signals.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;
use talk_events::signal::{TYPING_TTL, TypingState};
use talk_events::{Bus, Signal, SignalKind};
use talk_types::{AgentId, CustomerId, TalkId, time};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::routing::{Ephemeral, Hub};

/// Signals waiting to be published; beyond, new ones are dropped.
const OUTGOING: usize = 1024;
/// How often expired typing states are looked for.
const SWEEP: Duration = Duration::from_millis(250);

/// `typing_started` (with the state) / `typing_stopped`.
pub(crate) const TYPING_STARTED: &str = "typing_started";
/// See [`TYPING_STARTED`].
pub(crate) const TYPING_STOPPED: &str = "typing_stopped";
/// An agent's status changed (VoIPBIN's event name).
pub(crate) const AGENT_STATUS_UPDATED: &str = "agent_status_updated";

struct Typist {
    state: TypingState,
    until: Instant,
    customer: CustomerId,
}

/// The gateway's signals: the way out, and who types where.
pub(crate) struct Signals {
    outgoing: mpsc::Sender<Signal>,
    typists: Mutex<HashMap<(TalkId, AgentId), Typist>>,
}

impl Signals {
    /// The signals, and the queue [`run`] publishes from.
    pub(crate) fn new() -> (Arc<Self>, mpsc::Receiver<Signal>) {
        let (outgoing, receiver) = mpsc::channel(OUTGOING);
        let signals = Self {
            outgoing,
            typists: Mutex::default(),
        };
        (Arc::new(signals), receiver)
    }

    /// Queues a typing signal of `agent` in `talk` for the bus; false when
    /// the queue is full (it is dropped, as any signal may be).
    pub(crate) fn typing(
        &self,
        customer: CustomerId,
        agent: AgentId,
        talk: TalkId,
        state: TypingState,
    ) -> bool {
        let signal = Signal {
            kind: SignalKind::Typing.name().to_owned(),
            customer_id: customer.to_string(),
            agent_id: agent.to_string(),
            talk_ids: vec![talk.to_string()],
            state: state.name().to_owned(),
            data: String::new(),
            occurred_at: time::to_micros(&time::now()),
        };
        self.outgoing.try_send(signal).is_ok()
    }

    fn typists(&self) -> std::sync::MutexGuard<'_, HashMap<(TalkId, AgentId), Typist>> {
        self.typists.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Delivers one signal heard on the bus.
    fn heard(&self, hub: &Hub, signal: &Signal) {
        let (Some(kind), Ok(customer), Ok(agent)) = (
            SignalKind::from_name(&signal.kind),
            signal.customer_id.parse::<CustomerId>(),
            signal.agent_id.parse::<AgentId>(),
        ) else {
            return;
        };
        let talks: Vec<TalkId> = signal
            .talk_ids
            .iter()
            .filter_map(|t| t.parse().ok())
            .collect();
        match kind {
            SignalKind::Typing => {
                let (Some(&talk), Some(state)) =
                    (talks.first(), TypingState::from_name(&signal.state))
                else {
                    return;
                };
                self.typing_heard(hub, customer, agent, talk, state);
            }
            SignalKind::AgentStatus => {
                hub.dispatch_signal(&Ephemeral {
                    name: AGENT_STATUS_UPDATED,
                    customer,
                    agent,
                    talks: &talks,
                    data: &signal.data,
                    to_agent: true,
                    presence: false,
                });
            }
            SignalKind::Presence => {}
        }
    }

    fn typing_heard(
        &self,
        hub: &Hub,
        customer: CustomerId,
        agent: AgentId,
        talk: TalkId,
        state: TypingState,
    ) {
        let changed = {
            let mut typists = self.typists();
            match state {
                TypingState::Stopped => typists.remove(&(talk, agent)).is_some(),
                TypingState::Typing | TypingState::Working => {
                    let until = Instant::now() + TYPING_TTL;
                    let before = typists.insert(
                        (talk, agent),
                        Typist {
                            state,
                            until,
                            customer,
                        },
                    );
                    before.is_none_or(|b| b.state != state)
                }
            }
        };
        if changed {
            announce(hub, customer, agent, talk, state);
        }
    }

    /// Ends the typing states that ran out before `now`.
    fn expire(&self, hub: &Hub, now: Instant) {
        let mut ended = Vec::new();
        self.typists().retain(|&(talk, agent), typist| {
            let alive = typist.until > now;
            if !alive {
                ended.push((typist.customer, agent, talk));
            }
            alive
        });
        for (customer, agent, talk) in ended {
            announce(hub, customer, agent, talk, TypingState::Stopped);
        }
    }
}

fn announce(hub: &Hub, customer: CustomerId, agent: AgentId, talk: TalkId, state: TypingState) {
    let (name, data) = match state {
        TypingState::Stopped => (
            TYPING_STOPPED,
            json!({"chat_id": talk, "agent_id": agent, "state": state.name()}),
        ),
        TypingState::Typing | TypingState::Working => (
            TYPING_STARTED,
            json!({
                "chat_id": talk,
                "agent_id": agent,
                "state": state.name(),
                "expires_in_ms": TYPING_TTL.as_millis(),
            }),
        ),
    };
    hub.dispatch_signal(&Ephemeral {
        name,
        customer,
        agent,
        talks: &[talk],
        data: &data.to_string(),
        to_agent: false,
        presence: false,
    });
}

/// Runs until `shutdown`: publishes this gateway's signals, hears every
/// signal of the deployment, and expires typing states.
pub(crate) async fn run(
    bus: Arc<dyn Bus>,
    hub: Arc<Hub>,
    signals: Arc<Signals>,
    mut outgoing: mpsc::Receiver<Signal>,
    shutdown: CancellationToken,
) {
    let publish = {
        let bus = bus.clone();
        async move {
            while let Some(signal) = outgoing.recv().await {
                if let Err(e) = bus.signal(&signal).await {
                    tracing::debug!(error = %e, "signal dropped");
                }
            }
        }
    };
    let hear = async {
        let mut backoff = Duration::from_millis(100);
        loop {
            match bus.signals().await {
                Ok(mut stream) => {
                    backoff = Duration::from_millis(100);
                    while let Some(signal) = stream.next().await {
                        signals.heard(&hub, &signal);
                    }
                    tracing::warn!("signal subscription ended; subscribing again");
                }
                Err(e) => tracing::warn!(error = %e, "cannot hear signals; retrying"),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    };
    let sweep = async {
        let mut every = tokio::time::interval(SWEEP);
        loop {
            every.tick().await;
            signals.expire(&hub, Instant::now());
        }
    };
    tokio::select! {
        () = shutdown.cancelled() => {}
        () = publish => {}
        () = hear => {}
        () = sweep => {}
    }
}
