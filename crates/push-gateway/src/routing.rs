//! Who receives what: an event's audience when its publisher named one, else
//! the membership table (talk → connections of its current participants);
//! each connection's topics, and the topic matching.
//!
//! Everything lives behind one mutex held for a few microseconds per event:
//! the consumer's dispatch of one event and a replay's switch to live are
//! atomic with respect to each other, which is what makes resume gap-free.
//!
//! The table also says what the gateway's bus watch must follow: the talks
//! its connected agents are in, and every talk of a customer whose admin (or
//! manager) is connected, who may subscribe to `customer_id:<cid>:chat`
//! (`interest_delta`). A connection whose scopes are not all watched yet
//! waits (gets nothing) until the consumer has added them, so that it starts
//! at one position for every talk.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use talk_auth::{AccessKeyId, Identity};
use talk_events::{EventKind, Scope};
use talk_types::{AgentId, CustomerId, TalkId};
use tokio::sync::{Notify, watch};

use crate::limits::MAX_TOPICS;
use crate::protocol::Naming;
use crate::queue::Queue;

mod conn;
mod signal;

use conn::{Conn, Mode};
pub(crate) use signal::Ephemeral;

/// A connection's id within this gateway.
pub(crate) type ConnId = u64;

/// One decoded event, ready to route.
#[derive(Debug)]
pub(crate) struct Event {
    pub(crate) seq: u64,
    pub(crate) kind: EventKind,
    pub(crate) customer: CustomerId,
    pub(crate) talk: TalkId,
    /// For participant events: whose membership changed.
    pub(crate) subject: Option<AgentId>,
    /// The agents the publishing service says must receive the event (its
    /// talk's members at publish time); empty: the membership table decides.
    pub(crate) audience: Vec<AgentId>,
    /// The resource in its REST shape, as JSON.
    pub(crate) data: String,
    /// When it happened (microseconds since the epoch).
    pub(crate) occurred_at: i64,
    /// `customer` and `talk` as topics spell them.
    pub(crate) customer_id: String,
    pub(crate) talk_id: String,
    /// The id of the resource in `data` (talk, participant or message): the
    /// last part of VoIPBIN's per-event topics.
    pub(crate) resource: String,
    /// For message events: the message's id.
    pub(crate) message: Option<String>,
    /// For `read_updated`: whether the talk's other participants hear it
    /// (as `message_read`); the reader's own connections always do.
    pub(crate) receipts: bool,
}

/// The answer to a resume.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Resume {
    /// The connection replays from the cursor.
    Started,
    /// A resume is already under way.
    InProgress,
    /// Live events already reached the connection: a replay now would
    /// repeat them, or put older events after them.
    TooLate,
}

/// What `PushService/Stats` reports of the table.
pub(crate) struct Stats {
    pub(crate) connections: usize,
    pub(crate) watched_talks: usize,
    pub(crate) position: u64,
    pub(crate) received: u64,
}

#[derive(Default)]
struct Table {
    /// Seq of the last event the consumer dispatched (None before it started).
    live_seq: Option<u64>,
    /// The furthest position the bus watch answered when it started following
    /// talks. It may have read past events of those talks up to there without
    /// returning them (the in-process bus's filtered watch drops what it did
    /// not follow yet), so a replay goes live only once it is there too.
    watched_to: u64,
    next_id: ConnId,
    conns: HashMap<ConnId, Conn>,
    talks: HashMap<TalkId, HashSet<ConnId>>,
    agents: HashMap<AgentId, HashSet<ConnId>>,
    /// The connections of admins (and managers), by customer: they may hear
    /// every talk of it.
    customers: HashMap<CustomerId, HashSet<ConnId>>,
    /// What the bus watch follows.
    watched: HashSet<Scope>,
    /// Scopes that gained their first connection, or lost their last one,
    /// since the consumer last asked.
    changed: HashSet<Scope>,
    /// Connections waiting for the watch to follow all their scopes.
    waiting: HashSet<ConnId>,
    /// The earliest `participant_joined` that made a connection want a talk
    /// the watch does not follow: the watch must follow it from there.
    follow_from: Option<u64>,
}

/// The routing table shared by the consumer, the connections and their replays.
pub(crate) struct Hub {
    table: Mutex<Table>,
    progress: watch::Sender<u64>,
    interest: Notify,
    /// What the bus watch has received (for `PushService/Stats`).
    received: AtomicU64,
}

impl Hub {
    /// An empty table.
    pub(crate) fn new() -> Self {
        Self {
            table: Mutex::new(Table::default()),
            progress: watch::channel(0).0,
            interest: Notify::new(),
            received: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a connection whose membership is still loading, unless its agent
    /// already has `max_per_agent` connections here (0: no limit).
    pub(crate) fn register(
        &self,
        identity: Identity,
        naming: Naming,
        queue: Arc<Queue>,
        max_per_agent: usize,
    ) -> Option<ConnId> {
        let mut table = self.lock();
        let held = table.agents.get(&identity.agent.id).map_or(0, HashSet::len);
        if max_per_agent > 0 && held >= max_per_agent {
            return None;
        }
        table.next_id += 1;
        let id = table.next_id;
        let since = table.live_seq.unwrap_or(0);
        table
            .agents
            .entry(identity.agent.id)
            .or_default()
            .insert(id);
        if identity.is_admin() {
            let customer = identity.agent.customer_id;
            let conns = table.customers.entry(customer).or_default();
            let first = conns.is_empty();
            conns.insert(id);
            if first {
                table.changed.insert(Scope::Customer(customer));
            }
        }
        table.conns.insert(
            id,
            Conn {
                agent_id: identity.agent.id.to_string(),
                identity,
                naming,
                topics: Vec::new(),
                talks: HashSet::new(),
                joined_at: HashMap::new(),
                left: HashSet::new(),
                since,
                pending: Some(Vec::new()),
                mode: Mode::Live {
                    last_seq: 0,
                    delivered: false,
                },
                queue,
                presence: false,
            },
        );
        Some(id)
    }

    /// Sets the fetched membership (each talk with when the agent's
    /// membership began), then re-applies the changes seen meanwhile.
    pub(crate) fn load_membership(&self, id: ConnId, snapshot: Vec<(TalkId, i64)>) {
        let mut table = self.lock();
        let Some(conn) = table.conns.get_mut(&id) else {
            return;
        };
        let old: Vec<TalkId> = conn.talks.drain().collect();
        for &(talk, joined_at) in &snapshot {
            conn.joined_at.entry(talk).or_insert(joined_at);
        }
        let mut talks: HashSet<TalkId> = snapshot.into_iter().map(|(talk, _)| talk).collect();
        for (talk, joined) in conn.pending.take().unwrap_or_default() {
            if joined {
                talks.insert(talk);
            } else {
                talks.remove(&talk);
            }
        }
        conn.left.retain(|t| !talks.contains(t));
        conn.talks = talks.clone();
        for talk in old {
            table.unindex(talk, id);
        }
        for talk in talks {
            table.index(talk, id);
        }
        let conn = &table.conns[&id];
        if !conn.watched(&table.watched) {
            table.waiting.insert(id);
        }
        drop(table);
        self.interest.notify_one();
    }

    /// Resolves once the bus watch follows every talk of the connection.
    pub(crate) async fn watched(&self, id: ConnId) {
        let mut progress = self.progress();
        while self.lock().waiting.contains(&id) {
            if progress.changed().await.is_err() {
                return;
            }
        }
    }

    /// Removes a connection.
    pub(crate) fn unregister(&self, id: ConnId) {
        let mut table = self.lock();
        let Some(conn) = table.conns.remove(&id) else {
            return;
        };
        table.waiting.remove(&id);
        for talk in conn.talks {
            table.unindex(talk, id);
        }
        if let Some(conns) = table.agents.get_mut(&conn.identity.agent.id) {
            conns.remove(&id);
            if conns.is_empty() {
                table.agents.remove(&conn.identity.agent.id);
            }
        }
        let customer = conn.identity.agent.customer_id;
        if let Some(conns) = table.customers.get_mut(&customer) {
            conns.remove(&id);
            if conns.is_empty() {
                table.customers.remove(&customer);
                table.changed.insert(Scope::Customer(customer));
            }
        }
        drop(table);
        self.interest.notify_one();
    }

    /// Adds topics (already checked); re-subscribing is a no-op. False, and
    /// nothing added, when the connection would hold more than
    /// [`MAX_TOPICS`]. With `hold`, the connection's live events are kept
    /// back from now on (see [`Mode::Held`]) until [`Hub::release`] or a
    /// resume: in the same step, so that no live event comes between.
    pub(crate) fn subscribe(&self, id: ConnId, topics: Vec<String>, hold: bool) -> bool {
        if let Some(conn) = self.lock().conns.get_mut(&id) {
            let new: HashSet<&String> =
                topics.iter().filter(|t| !conn.topics.contains(t)).collect();
            if conn.topics.len() + new.len() > MAX_TOPICS {
                return false;
            }
            for topic in topics {
                if !conn.topics.contains(&topic) {
                    conn.topics.push(topic);
                }
            }
            if hold && let Mode::Live { last_seq, .. } = conn.mode {
                conn.mode = Mode::Held {
                    last_seq,
                    frames: Vec::new(),
                };
            }
        }
        true
    }

    /// Removes topics (exact strings).
    pub(crate) fn unsubscribe(&self, id: ConnId, topics: &[String]) {
        if let Some(conn) = self.lock().conns.get_mut(&id) {
            conn.topics.retain(|t| !topics.contains(t));
        }
    }

    /// Ends a hold: what was kept back is queued, live delivery goes on.
    pub(crate) fn release(&self, id: ConnId) {
        if let Some(conn) = self.lock().conns.get_mut(&id) {
            conn.release();
        }
    }

    /// Stops live delivery until the replay switches the connection back
    /// (what a hold kept back is dropped: the replay delivers it in order).
    pub(crate) fn begin_resume(&self, id: ConnId) -> Resume {
        let mut table = self.lock();
        let Some(conn) = table.conns.get_mut(&id) else {
            return Resume::InProgress;
        };
        match conn.mode {
            Mode::Replaying => Resume::InProgress,
            Mode::Live {
                delivered: true, ..
            } => Resume::TooLate,
            Mode::Live { .. } | Mode::Held { .. } => {
                conn.mode = Mode::Replaying;
                Resume::Started
            }
        }
    }

    /// Switches to live delivery if the replay (at `replayed`) has caught up
    /// with the consumer and with where the watch last started following
    /// talks; events up to `replayed` are not delivered twice.
    pub(crate) fn try_go_live(&self, id: ConnId, replayed: u64) -> bool {
        let mut table = self.lock();
        let Some(live) = table.live_seq else {
            return false;
        };
        if table.waiting.contains(&id) {
            return false;
        }
        if replayed < live.max(table.watched_to) {
            return false;
        }
        let Some(conn) = table.conns.get_mut(&id) else {
            return true;
        };
        conn.mode = Mode::Live {
            last_seq: replayed,
            delivered: true,
        };
        true
    }

    /// Switches to live delivery from the consumer's position (after a resync).
    pub(crate) fn go_live_now(&self, id: ConnId) {
        let mut table = self.lock();
        let last_seq = table.live_seq.unwrap_or(0);
        if let Some(conn) = table.conns.get_mut(&id) {
            conn.mode = Mode::Live {
                last_seq,
                delivered: true,
            };
        }
    }

    /// A receiver that changes whenever the consumer dispatched an event.
    pub(crate) fn progress(&self) -> watch::Receiver<u64> {
        self.progress.subscribe()
    }

    /// The consumer's position, if it has one.
    pub(crate) fn live_seq(&self) -> Option<u64> {
        self.lock().live_seq
    }

    /// Sets the consumer's starting position (or its new one after losing events).
    pub(crate) fn start_at(&self, seq: u64) {
        self.lock().live_seq = Some(seq);
        self.progress.send_replace(seq);
    }

    /// Closes every connection so that clients resume (the consumer lost its place).
    pub(crate) fn close_all(&self, code: u16, reason: &str) {
        for conn in self.lock().conns.values() {
            conn.queue.close(code, reason, false);
        }
    }

    /// Forgets the consumer's position (it is taken afresh from the bus).
    pub(crate) fn reset(&self) {
        self.lock().live_seq = None;
    }

    /// Resolves when the talks the watch must follow may have changed.
    pub(crate) async fn interest_changed(&self) {
        self.interest.notified().await;
    }

    /// Scopes the watch must start following (from the position given, if
    /// live connections need their events from there), and scopes it may
    /// stop following.
    pub(crate) fn interest_delta(&self) -> (Vec<Scope>, Option<u64>, Vec<Scope>) {
        let mut table = self.lock();
        let changed = std::mem::take(&mut table.changed);
        let from = table.follow_from.take();
        let (mut add, mut remove) = (Vec::new(), Vec::new());
        for scope in changed {
            let wanted = match scope {
                Scope::Talk(talk) => table.talks.contains_key(&talk),
                Scope::Customer(customer) => table.customers.contains_key(&customer),
            };
            if wanted && !table.watched.contains(&scope) {
                add.push(scope);
            } else if !wanted && table.watched.contains(&scope) {
                remove.push(scope);
            }
        }
        (add, from, remove)
    }

    /// The watch no longer follows `scopes`.
    pub(crate) fn unwatched(&self, scopes: &[Scope]) {
        let mut table = self.lock();
        for scope in scopes {
            table.watched.remove(scope);
        }
    }

    /// Every scope of the table, for a new watch (which follows none).
    pub(crate) fn rewatch(&self) -> Vec<Scope> {
        let mut table = self.lock();
        table.watched.clear();
        table.changed.clear();
        table.follow_from = None;
        let talks = table.talks.keys().map(|&talk| Scope::Talk(talk));
        let customers = table.customers.keys().map(|&c| Scope::Customer(c));
        talks.chain(customers).collect()
    }

    /// The watch follows `scopes`; a connection that was waiting for them
    /// starts after `ready` (where the watch had read the bus to), whatever
    /// the talk.
    pub(crate) fn watching(&self, scopes: &[Scope], ready: u64) {
        let seq = {
            let mut guard = self.lock();
            let table = &mut *guard;
            table.watched.extend(scopes.iter().copied());
            table.watched_to = table.watched_to.max(ready);
            let (conns, watched) = (&mut table.conns, &table.watched);
            table.waiting.retain(|id| {
                let Some(conn) = conns.get_mut(id) else {
                    return false;
                };
                if !conn.watched(watched) {
                    return true;
                }
                if let Mode::Live { last_seq, .. } | Mode::Held { last_seq, .. } = &mut conn.mode {
                    *last_seq = (*last_seq).max(ready);
                }
                false
            });
            table.live_seq.unwrap_or(0)
        };
        // A replay waiting to go live re-checks.
        self.progress.send_replace(seq);
    }

    /// The table's size and the consumer's position.
    pub(crate) fn stats(&self) -> Stats {
        let table = self.lock();
        Stats {
            connections: table.conns.len(),
            watched_talks: table.watched.len(),
            position: table.live_seq.unwrap_or(0),
            received: self.received.load(Ordering::Relaxed),
        }
    }

    /// Notes how many messages the bus watch has received.
    pub(crate) fn set_received(&self, received: u64) {
        self.received.store(received, Ordering::Relaxed);
    }

    /// The agents with a connection here.
    pub(crate) fn connected_agents(&self) -> Vec<AgentId> {
        self.lock().agents.keys().copied().collect()
    }

    /// The access keys the connections here were opened with.
    pub(crate) fn connected_keys(&self) -> Vec<AccessKeyId> {
        let table = self.lock();
        let mut keys: Vec<AccessKeyId> = table
            .conns
            .values()
            .filter_map(|c| c.identity.key)
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    /// Closes every connection whose identity `refused` names a reason for
    /// (its token was revoked or expired), with close code `code`; answers
    /// how many.
    pub(crate) fn close_refused(
        &self,
        code: u16,
        refused: impl Fn(&Identity) -> Option<&'static str>,
    ) -> usize {
        let table = self.lock();
        let mut closed = 0;
        for conn in table.conns.values() {
            if let Some(reason) = refused(&conn.identity) {
                conn.queue.close(code, reason, false);
                closed += 1;
            }
        }
        closed
    }

    /// Closes every connection of `agent`; answers how many.
    pub(crate) fn close_agent(&self, agent: AgentId, code: u16, reason: &str) -> usize {
        let table = self.lock();
        let mut closed = 0;
        for id in table.agents.get(&agent).into_iter().flatten() {
            if let Some(conn) = table.conns.get(id) {
                conn.queue.close(code, reason, false);
                closed += 1;
            }
        }
        closed
    }

    /// The frame a replay delivers for `event`, if this connection should
    /// see it: nothing of a talk from before the agent's membership of it
    /// began (an agent added later reads no history by replaying from 0).
    pub(crate) fn replay_frame(&self, id: ConnId, event: &Event) -> Option<String> {
        let table = self.lock();
        let conn = table.conns.get(&id)?;
        if conn
            .joined_at
            .get(&event.talk)
            .is_some_and(|&joined| event.occurred_at < joined)
        {
            return None;
        }
        conn.frame(event)
    }

    /// Live dispatch of one event to every connection that should see it.
    /// Never waits: a full queue sheds or closes (see [`Queue::offer`]).
    pub(crate) fn dispatch(&self, event: Option<&Event>, seq: u64) -> usize {
        let mut delivered = 0;
        let mut table = self.lock();
        if let Some(event) = event {
            delivered = table.dispatch(event);
        }
        table.live_seq = Some(seq);
        let interest = !table.changed.is_empty();
        drop(table);
        self.progress.send_replace(seq);
        if interest {
            self.interest.notify_one();
        }
        delivered
    }
}

impl Table {
    fn index(&mut self, talk: TalkId, id: ConnId) {
        let conns = self.talks.entry(talk).or_default();
        if conns.is_empty() {
            self.changed.insert(Scope::Talk(talk));
        }
        conns.insert(id);
    }

    fn unindex(&mut self, talk: TalkId, id: ConnId) {
        if let Some(conns) = self.talks.get_mut(&talk) {
            conns.remove(&id);
            if conns.is_empty() {
                self.talks.remove(&talk);
                self.changed.insert(Scope::Talk(talk));
            }
        }
    }

    fn set_member(&mut self, agent: AgentId, talk: TalkId, joined: Option<i64>) {
        let ids: Vec<ConnId> = self
            .agents
            .get(&agent)
            .into_iter()
            .flatten()
            .copied()
            .collect();
        for id in ids {
            let Some(conn) = self.conns.get_mut(&id) else {
                continue;
            };
            if let Some(pending) = &mut conn.pending {
                pending.push((talk, joined.is_some()));
            }
            if let Some(at) = joined {
                conn.joined_at.insert(talk, at);
                conn.talks.insert(talk);
                conn.left.remove(&talk);
                self.index(talk, id);
            } else {
                conn.talks.remove(&talk);
                conn.left.insert(talk);
                self.unindex(talk, id);
            }
        }
    }

    fn dispatch(&mut self, event: &Event) -> usize {
        let subject = event.subject.filter(|_| {
            matches!(
                event.kind,
                EventKind::ParticipantJoined | EventKind::ParticipantLeft
            )
        });
        if let (EventKind::ParticipantJoined, Some(agent)) = (event.kind, subject) {
            self.set_member(agent, event.talk, Some(event.occurred_at));
            if self.talks.contains_key(&event.talk)
                && !self.watched.contains(&Scope::Talk(event.talk))
            {
                self.follow_from.get_or_insert(event.seq);
            }
        }
        // The talk's members as this table knows them, the recent joiners
        // the publisher named (see `Conn::topic`), and the customer's admins.
        let mut recipients: HashSet<ConnId> =
            self.talks.get(&event.talk).cloned().unwrap_or_default();
        recipients.extend(self.customers.get(&event.customer).into_iter().flatten());
        recipients.extend(
            event
                .audience
                .iter()
                .flat_map(|agent| self.agents.get(agent).into_iter().flatten()),
        );
        if let (EventKind::ParticipantLeft, Some(agent)) = (event.kind, subject) {
            // The removed agent gets its own removal, then nothing more.
            recipients.extend(self.agents.get(&agent).into_iter().flatten());
        }
        let mut delivered = 0;
        for id in recipients {
            if !self.waiting.is_empty() && self.waiting.contains(&id) {
                continue;
            }
            if let Some(conn) = self.conns.get_mut(&id)
                && conn.offer_live(event)
            {
                delivered += 1;
            }
        }
        if let (EventKind::ParticipantLeft, Some(agent)) = (event.kind, subject) {
            self.set_member(agent, event.talk, None);
        }
        delivered
    }
}
