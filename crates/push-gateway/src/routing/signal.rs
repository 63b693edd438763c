//! Who hears an ephemeral signal: the connections of the talks' current
//! participants (and of the customer's admins), under the first topic of
//! theirs that covers one of the talks — never a replaying connection, and
//! always as a sheddable frame.

use std::collections::HashSet;

use talk_types::{AgentId, CustomerId, TalkId};

use super::conn::{Conn, Mode, is_prefix};
use super::{ConnId, Hub};
use crate::protocol;

/// A signal ready to deliver.
pub(crate) struct Ephemeral<'a> {
    /// The frame's type (`typing_started`, `agent_status_updated`, …).
    pub(crate) name: &'static str,
    pub(crate) customer: CustomerId,
    /// Whom it is about.
    pub(crate) agent: AgentId,
    /// The talks whose participants hear it.
    pub(crate) talks: &'a [TalkId],
    /// The frame's `data`, as JSON.
    pub(crate) data: &'a str,
    /// Whether the agent's own connections hear it too.
    pub(crate) to_agent: bool,
    /// Only for connections that asked for presence.
    pub(crate) presence: bool,
}

impl Hub {
    /// Whether connection `id`'s agent is a participant of `talk`, as this
    /// gateway knows (its memberships, kept by participant events).
    pub(crate) fn in_talk(&self, id: ConnId, talk: TalkId) -> bool {
        self.lock()
            .conns
            .get(&id)
            .is_some_and(|conn| conn.talks.contains(&talk))
    }

    /// From now on connection `id` hears `presence_changed`.
    pub(crate) fn hear_presence(&self, id: ConnId) {
        if let Some(conn) = self.lock().conns.get_mut(&id) {
            conn.presence = true;
        }
    }

    /// The talks of `agent`, as its connections here know them.
    pub(crate) fn agent_talks(&self, agent: AgentId) -> Vec<TalkId> {
        let table = self.lock();
        let mut talks: Vec<TalkId> = table
            .agents
            .get(&agent)
            .into_iter()
            .flatten()
            .filter_map(|id| table.conns.get(id))
            .flat_map(|conn| conn.talks.iter().copied())
            .collect();
        talks.sort_unstable();
        talks.dedup();
        talks
    }

    /// Offers `signal` to every connection that should hear it, without
    /// waiting (a full queue sheds it); answers how many got it.
    pub(crate) fn dispatch_signal(&self, signal: &Ephemeral<'_>) -> usize {
        let table = self.lock();
        let mut recipients: HashSet<ConnId> = HashSet::new();
        for talk in signal.talks {
            recipients.extend(table.talks.get(talk).into_iter().flatten());
        }
        recipients.extend(table.customers.get(&signal.customer).into_iter().flatten());
        let mut delivered = 0;
        for id in recipients {
            if table.waiting.contains(&id) {
                continue;
            }
            let Some(conn) = table.conns.get(&id) else {
                continue;
            };
            if (conn.identity.agent.id == signal.agent && !signal.to_agent)
                || (signal.presence && !conn.presence)
            {
                continue;
            }
            if let Some(topic) = topic(conn, signal)
                && offer(conn, signal, &topic)
            {
                delivered += 1;
            }
        }
        delivered
    }
}

/// The first `…:chat:<talk>` topic, over the signal's talks, that one of the
/// connection's subscriptions is a prefix of.
fn topic(conn: &Conn, signal: &Ephemeral<'_>) -> Option<String> {
    if conn.identity.agent.customer_id != signal.customer || matches!(conn.mode, Mode::Replaying) {
        return None;
    }
    let customer = signal.customer.to_string();
    let admin = conn.identity.is_admin();
    for talk in signal.talks {
        let talk_id = talk.to_string();
        let scopes = [
            conn.talks
                .contains(talk)
                .then_some(("agent_id:", conn.agent_id.as_str())),
            admin.then_some(("customer_id:", customer.as_str())),
        ];
        for (scope, id) in scopes.into_iter().flatten() {
            let form: &[&str] = &[scope, id, ":chat:", &talk_id];
            if conn.topics.iter().any(|t| is_prefix(t, form)) {
                return Some(form.concat());
            }
        }
    }
    None
}

fn offer(conn: &Conn, signal: &Ephemeral<'_>, topic: &str) -> bool {
    let frame = protocol::signal(signal.name, signal.data, topic);
    let counted = talk_telemetry::metrics::WS_DROPS.with_label_values(&[signal.name]);
    match conn.queue.offer(frame, true) {
        crate::queue::Offer::Queued | crate::queue::Offer::QueuedEvicting => {
            talk_telemetry::metrics::WS_DELIVERIES
                .with_label_values(&[signal.name])
                .inc();
            true
        }
        crate::queue::Offer::Shed | crate::queue::Offer::Full => {
            counted.inc();
            false
        }
        crate::queue::Offer::Closing => false,
    }
}
