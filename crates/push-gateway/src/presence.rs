//! Presence: `online` while any socket of the agent is open on any gateway,
//! `away` when every one of them says so (a `presence` frame) or has sent
//! nothing for [`IDLE`], `offline` once the last one has been closed for
//! [`OFFLINE_GRACE`] (a reconnect within it changes nothing).
//!
//! Gateways share it on a board (a JetStream key-value bucket; the
//! in-process bus's map on the embedded default): each gateway writes one
//! entry per agent it holds sockets of, `<customer>.<agent>.<gateway>`,
//! with the state and the agent's talks, rewrites it every [`HEARTBEAT`],
//! and deletes it [`OFFLINE_GRACE`] after the agent's last socket here
//! closed. An entry not rewritten for [`PRESENCE_TTL`] is gone (the bucket
//! forgets it; every gateway's copy drops it too): a gateway that restarts
//! or dies leaves its agents online that long, long enough for their
//! clients to reconnect anywhere without a flap. Every gateway watches the
//! whole board, derives each agent's presence (the best of its entries) and
//! tells its own sockets that share a talk with the agent when it changes
//! (`presence_changed`), so each socket hears each change once.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;
use talk_auth::Identity;
use talk_events::signal::PRESENCE_TTL;
use talk_events::{Bus, Signal, SignalKind};
use talk_types::{AgentId, CustomerId, TalkId, time};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::routing::{ConnId, Ephemeral, Hub};

/// No client frame for this long: the socket counts as away.
pub(crate) const IDLE: Duration = Duration::from_secs(300);
/// How long after its last socket here closed an agent's entry stays.
pub(crate) const OFFLINE_GRACE: Duration = Duration::from_secs(10);
/// How often a gateway rewrites its entries.
const HEARTBEAT: Duration = Duration::from_secs(10);
/// How often idle sockets, closed agents and stale entries are looked for.
const TICK: Duration = Duration::from_secs(1);
/// Board writes waiting to be sent; beyond, dropped (the heartbeat repairs).
const OUTGOING: usize = 1024;

/// `presence_changed`.
pub(crate) const PRESENCE_CHANGED: &str = "presence_changed";

/// An agent's presence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum State {
    /// No socket anywhere (or none for longer than the grace).
    Offline,
    /// Every socket says away or is idle.
    Away,
    /// Some socket is active.
    Online,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            Self::Offline => "offline",
            Self::Away => "away",
            Self::Online => "online",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [Self::Offline, Self::Away, Self::Online]
            .into_iter()
            .find(|s| s.name() == name)
    }
}

struct Mine {
    agent: AgentId,
    customer: CustomerId,
    away: bool,
    active: Instant,
}

#[derive(Default)]
struct Local {
    conns: HashMap<ConnId, Mine>,
    /// What this gateway last wrote for each agent.
    written: HashMap<AgentId, (CustomerId, State)>,
    /// Agents whose last socket here closed, and when.
    closing: HashMap<AgentId, Instant>,
}

struct Entry {
    agent: AgentId,
    customer: CustomerId,
    state: State,
    talks: Vec<TalkId>,
    /// When it was written (microseconds).
    at: i64,
}

#[derive(Default)]
struct Board {
    entries: HashMap<String, Entry>,
    /// Each agent's presence as this gateway last told its sockets (absent:
    /// offline), with the talks that heard it.
    told: HashMap<AgentId, (State, Vec<TalkId>, CustomerId)>,
}

/// A write to the board, queued for [`run`].
pub(crate) enum Write {
    Put(String, Signal),
    Delete(String),
}

/// This gateway's side of presence.
pub(crate) struct Presence {
    gateway: String,
    local: Mutex<Local>,
    board: Mutex<Board>,
    outgoing: mpsc::Sender<Write>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Presence {
    /// Presence for a gateway of its own id, and the queue [`run`] writes from.
    pub(crate) fn new() -> (Arc<Self>, mpsc::Receiver<Write>) {
        let (outgoing, receiver) = mpsc::channel(OUTGOING);
        let presence = Self {
            gateway: Uuid::new_v4().simple().to_string(),
            local: Mutex::default(),
            board: Mutex::default(),
            outgoing,
        };
        (Arc::new(presence), receiver)
    }

    fn key(&self, customer: CustomerId, agent: AgentId) -> String {
        format!("{customer}.{agent}.{}", self.gateway)
    }

    /// A socket opened.
    pub(crate) fn opened(&self, hub: &Hub, id: ConnId, identity: &Identity) {
        let agent = identity.agent.id;
        {
            let mut local = lock(&self.local);
            local.conns.insert(
                id,
                Mine {
                    agent,
                    customer: identity.agent.customer_id,
                    away: false,
                    active: Instant::now(),
                },
            );
            local.closing.remove(&agent);
        }
        self.refresh(hub, agent);
    }

    /// A socket sent a frame (it is not idle).
    pub(crate) fn active(&self, hub: &Hub, id: ConnId) {
        let agent = {
            let mut local = lock(&self.local);
            let Some(mine) = local.conns.get_mut(&id) else {
                return;
            };
            let was_idle = mine.active.elapsed() >= IDLE;
            mine.active = Instant::now();
            was_idle.then_some(mine.agent)
        };
        if let Some(agent) = agent {
            self.refresh(hub, agent);
        }
    }

    /// A socket says its user is away (or back).
    pub(crate) fn declare(&self, hub: &Hub, id: ConnId, away: bool) {
        let agent = {
            let mut local = lock(&self.local);
            let Some(mine) = local.conns.get_mut(&id) else {
                return;
            };
            mine.away = away;
            mine.active = Instant::now();
            mine.agent
        };
        self.refresh(hub, agent);
    }

    /// A socket closed.
    pub(crate) fn closed(&self, hub: &Hub, id: ConnId) {
        let agent = {
            let mut local = lock(&self.local);
            let Some(mine) = local.conns.remove(&id) else {
                return;
            };
            if !local.conns.values().any(|m| m.agent == mine.agent) {
                local.closing.insert(mine.agent, Instant::now());
                return;
            }
            mine.agent
        };
        self.refresh(hub, agent);
    }

    /// The agent's presence on this gateway (None: no socket here).
    fn here(local: &Local, agent: AgentId) -> Option<(CustomerId, State)> {
        let now = Instant::now();
        local
            .conns
            .values()
            .filter(|m| m.agent == agent)
            .map(|m| {
                let idle = now.duration_since(m.active) >= IDLE;
                let state = if m.away || idle {
                    State::Away
                } else {
                    State::Online
                };
                (m.customer, state)
            })
            .max_by_key(|(_, state)| *state)
    }

    /// Writes the agent's entry if its presence here changed.
    fn refresh(&self, hub: &Hub, agent: AgentId) {
        let changed = {
            let mut local = lock(&self.local);
            match Self::here(&local, agent) {
                Some(now) if local.written.get(&agent) != Some(&now) => {
                    local.written.insert(agent, now);
                    Some(now)
                }
                Some(_) | None => None,
            }
        };
        if let Some((customer, state)) = changed {
            self.put(hub, customer, agent, state);
        }
    }

    fn put(&self, hub: &Hub, customer: CustomerId, agent: AgentId, state: State) {
        let entry = Signal {
            kind: SignalKind::Presence.name().to_owned(),
            customer_id: customer.to_string(),
            agent_id: agent.to_string(),
            talk_ids: hub
                .agent_talks(agent)
                .iter()
                .map(ToString::to_string)
                .collect(),
            state: state.name().to_owned(),
            data: String::new(),
            occurred_at: time::to_micros(&time::now()),
        };
        let _ = self
            .outgoing
            .try_send(Write::Put(self.key(customer, agent), entry));
    }

    /// Idle sockets, agents gone past the grace, and (with `heartbeat`)
    /// every entry of this gateway written again.
    fn tick(&self, hub: &Hub, heartbeat: bool) {
        let (gone, agents) = {
            let mut local = lock(&self.local);
            let gone: Vec<(AgentId, CustomerId)> = local
                .closing
                .iter()
                .filter(|(_, at)| at.elapsed() >= OFFLINE_GRACE)
                .filter_map(|(agent, _)| Some((*agent, local.written.get(agent)?.0)))
                .collect();
            for (agent, _) in &gone {
                local.closing.remove(agent);
                local.written.remove(agent);
            }
            let agents: Vec<AgentId> = local.written.keys().copied().collect();
            (gone, agents)
        };
        for (agent, customer) in gone {
            let _ = self
                .outgoing
                .try_send(Write::Delete(self.key(customer, agent)));
        }
        for agent in agents {
            self.refresh(hub, agent);
        }
        if heartbeat {
            let written: Vec<(AgentId, CustomerId, State)> = lock(&self.local)
                .written
                .iter()
                .map(|(agent, (customer, state))| (*agent, *customer, *state))
                .collect();
            for (agent, customer, state) in written {
                self.put(hub, customer, agent, state);
            }
        }
        self.expire(hub);
    }

    /// On shutdown: this gateway's entries are written again as if written
    /// [`PRESENCE_TTL`] − [`OFFLINE_GRACE`] ago, so every gateway forgets
    /// them after the grace — as if their sockets had closed — unless the
    /// clients reconnect meanwhile (a crash leaves them the whole TTL).
    async fn leave(&self, bus: &dyn Bus) {
        let backdate = i64::try_from((PRESENCE_TTL - OFFLINE_GRACE).as_micros()).unwrap_or(0);
        let at = time::to_micros(&time::now()) - backdate;
        let entries: Vec<(String, Signal)> = {
            let board = lock(&self.board);
            let local = lock(&self.local);
            local
                .written
                .iter()
                .map(|(agent, (customer, state))| {
                    let talks = board
                        .told
                        .get(agent)
                        .map(|t| t.1.iter().map(ToString::to_string).collect())
                        .unwrap_or_default();
                    let entry = Signal {
                        kind: SignalKind::Presence.name().to_owned(),
                        customer_id: customer.to_string(),
                        agent_id: agent.to_string(),
                        talk_ids: talks,
                        state: state.name().to_owned(),
                        data: String::new(),
                        occurred_at: at,
                    };
                    (self.key(*customer, *agent), entry)
                })
                .collect()
        };
        let writes = async {
            for (key, entry) in entries {
                if let Err(e) = bus.board_put(&key, &entry).await {
                    tracing::debug!(error = %e, "presence entry left as it was");
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), writes).await;
    }

    /// A change of the board.
    fn heard(&self, hub: &Hub, key: String, value: Option<Signal>) {
        let agent = {
            let mut board = lock(&self.board);
            let previous = board.entries.remove(&key).map(|e| e.agent);
            match value.and_then(entry) {
                Some(entry) => {
                    let agent = entry.agent;
                    board.entries.insert(key, entry);
                    Some(agent)
                }
                None => previous,
            }
        };
        if let Some(agent) = agent {
            self.tell(hub, agent);
        }
    }

    /// Forgets the entries not written for [`PRESENCE_TTL`].
    fn expire(&self, hub: &Hub) {
        let oldest = time::to_micros(&time::now())
            - i64::try_from(PRESENCE_TTL.as_micros()).unwrap_or(i64::MAX);
        let agents: HashSet<AgentId> = {
            let mut board = lock(&self.board);
            let mut agents = HashSet::new();
            board.entries.retain(|_, e| {
                let alive = e.at >= oldest;
                if !alive {
                    agents.insert(e.agent);
                }
                alive
            });
            agents
        };
        for agent in agents {
            self.tell(hub, agent);
        }
    }

    /// Tells this gateway's sockets that share a talk with `agent` (and the
    /// agent's own) of its presence, if it changed.
    fn tell(&self, hub: &Hub, agent: AgentId) {
        let announce = {
            let mut board = lock(&self.board);
            let mine: Vec<&Entry> = board
                .entries
                .values()
                .filter(|e| e.agent == agent)
                .collect();
            let state = mine.iter().map(|e| e.state).max().unwrap_or(State::Offline);
            let customer = mine.first().map(|e| e.customer);
            let mut talks: Vec<TalkId> =
                mine.iter().flat_map(|e| e.talks.iter().copied()).collect();
            talks.sort_unstable();
            talks.dedup();
            let told = board.told.remove(&agent);
            let before = told.as_ref().map_or(State::Offline, |t| t.0);
            // Those who heard the agent before hear its change (an entry of
            // a closing agent names no talks any more: its sockets are gone).
            let (known, customer) = match (customer, told) {
                (Some(customer), told) => (told.map(|t| t.1).unwrap_or_default(), customer),
                (None, Some((_, talks, customer))) => (talks, customer),
                (None, None) => return,
            };
            if talks.is_empty() {
                talks = known;
            }
            if state != State::Offline {
                board.told.insert(agent, (state, talks.clone(), customer));
            }
            (state != before).then_some((state, talks, customer))
        };
        let Some((state, talks, customer)) = announce else {
            return;
        };
        let data = json!({"agent_id": agent, "presence": state.name()}).to_string();
        hub.dispatch_signal(&Ephemeral {
            name: PRESENCE_CHANGED,
            customer,
            agent,
            talks: &talks,
            data: &data,
            to_agent: true,
            presence: true,
        });
    }
}

fn entry(signal: Signal) -> Option<Entry> {
    Some(Entry {
        agent: signal.agent_id.parse().ok()?,
        customer: signal.customer_id.parse().ok()?,
        state: State::from_name(&signal.state)?,
        talks: signal
            .talk_ids
            .iter()
            .filter_map(|t| t.parse().ok())
            .collect(),
        at: signal.occurred_at,
    })
}

/// Runs until `shutdown`: writes this gateway's entries, watches the
/// board, and ticks; on shutdown its entries are left to expire after the
/// grace (`Presence::leave`), so clients that reconnect within it (to any
/// gateway) show no one offline.
pub(crate) async fn run(
    bus: Arc<dyn Bus>,
    hub: Arc<Hub>,
    presence: Arc<Presence>,
    mut outgoing: mpsc::Receiver<Write>,
    shutdown: CancellationToken,
) {
    let write = {
        let bus = bus.clone();
        async move {
            while let Some(write) = outgoing.recv().await {
                let done = match &write {
                    Write::Put(key, entry) => bus.board_put(key, entry).await,
                    Write::Delete(key) => bus.board_delete(key).await,
                };
                if let Err(e) = done {
                    tracing::debug!(error = %e, "presence write dropped");
                }
            }
        }
    };
    let watch = async {
        let mut backoff = Duration::from_millis(100);
        loop {
            match bus.board_watch().await {
                Ok(mut changes) => {
                    backoff = Duration::from_millis(100);
                    while let Some(change) = changes.next().await {
                        presence.heard(&hub, change.key, change.value);
                    }
                    tracing::warn!("presence watch ended; watching again");
                }
                Err(e) => tracing::warn!(error = %e, "cannot watch presence; retrying"),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    };
    let tick = async {
        let mut every = tokio::time::interval(TICK);
        let mut last_beat = Instant::now();
        loop {
            every.tick().await;
            let heartbeat = last_beat.elapsed() >= HEARTBEAT;
            if heartbeat {
                last_beat = Instant::now();
            }
            presence.tick(&hub, heartbeat);
        }
    };
    tokio::select! {
        () = shutdown.cancelled() => {}
        () = write => return,
        () = watch => return,
        () = tick => return,
    }
    presence.leave(bus.as_ref()).await;
}
