//! One connection as the routing table sees it: its caller, topics, talks
//! and delivery mode, and the decision whether (and under which topic) an
//! event reaches it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use talk_auth::Identity;
use talk_events::{EventKind, Scope};
use talk_types::TalkId;

use super::Event;
use crate::protocol::{self, Naming};
use crate::queue::{self, Offer, Queue, close};

/// Whether a connection gets the consumer's live events.
#[derive(Debug)]
pub(super) enum Mode {
    /// Live: events after `last_seq` (dedupe against a finished replay).
    /// `delivered`: whether any live event reached the queue.
    Live { last_seq: u64, delivered: bool },
    /// Subscribed without a cursor a moment ago: live events after
    /// `last_seq` are kept back in case a `resume` follows the `subscribe`
    /// (its replay then delivers them, in order after the older ones); they
    /// are queued when the hold ends.
    Held { last_seq: u64, frames: Vec<Held> },
    /// A resume is pending or replaying: the replay task delivers, the consumer skips.
    Replaying,
}

/// A frame kept back while a connection is [`Mode::Held`].
#[derive(Debug)]
pub(super) struct Held {
    seq: u64,
    frame: String,
    kind: EventKind,
}

pub(super) struct Conn {
    pub(super) identity: Identity,
    /// The agent's id as topics spell it.
    pub(super) agent_id: String,
    pub(super) naming: Naming,
    pub(super) topics: Vec<String>,
    pub(super) talks: HashSet<TalkId>,
    /// When the agent's current membership of each of its talks began
    /// (microseconds): a replay shows nothing of a talk from before.
    pub(super) joined_at: HashMap<TalkId, i64>,
    /// Talks this connection saw its agent leave (and not rejoin): an
    /// audience computed before the removal does not reach it any more.
    pub(super) left: HashSet<TalkId>,
    /// The consumer's position when the connection registered: the
    /// membership changes of later events are tracked in `talks` and `left`.
    pub(super) since: u64,
    /// Membership changes seen while the initial membership is being fetched.
    pub(super) pending: Option<Vec<(TalkId, bool)>>,
    pub(super) mode: Mode,
    pub(super) queue: Arc<Queue>,
    /// Whether the connection asked for presence (a `presence` frame).
    pub(super) presence: bool,
}

impl Conn {
    /// Whether the bus watch follows everything this connection may hear:
    /// its talks, and its customer's for an admin.
    pub(super) fn watched(&self, watched: &HashSet<Scope>) -> bool {
        let customer = Scope::Customer(self.identity.agent.customer_id);
        self.talks
            .iter()
            .all(|&t| watched.contains(&Scope::Talk(t)))
            && (!self.identity.is_admin() || watched.contains(&customer))
    }

    /// The topic under which this connection receives `event`, if any: the
    /// first of the topics VoIPBIN generates for the event (its
    /// `createTopics`) that one of the connection's subscriptions is a
    /// prefix of. Those of `agent_id:<me>` need the agent in the talk (or the
    /// event to be its own membership's); those of `customer_id:<cid>` an
    /// admin or manager, in the talk or not.
    fn topic(&self, event: &Event) -> Option<String> {
        let me = self.identity.agent.id;
        if self.identity.agent.customer_id != event.customer {
            return None;
        }
        // A read position: the reader's own devices, and the others only
        // when the talk is small enough for receipts.
        if event.kind == EventKind::ReadUpdated && event.subject != Some(me) && !event.receipts {
            return None;
        }
        let own_membership_event = event.subject == Some(me)
            && matches!(
                event.kind,
                EventKind::ParticipantJoined | EventKind::ParticipantLeft
            );
        // The audience names recent joiners the publisher knew of: their
        // `participant_joined` (published by another service) may not have
        // reached this gateway yet. A removal this connection has already seen
        // wins (the removed agent gets its own removal last), and a replay of
        // an event from before the connection goes by its membership snapshot.
        let member = self.talks.contains(&event.talk)
            || (event.seq > self.since
                && event.audience.contains(&me)
                && !self.left.contains(&event.talk));
        // VoIPBIN names the resource after the event: `chatmessage` of
        // `chatmessage_created`.
        let name = event.kind.voipbin_name();
        let kind = name.split('_').next().unwrap_or(name);
        let scopes = [
            (own_membership_event || member).then_some(("agent_id:", self.agent_id.as_str())),
            (self.identity.is_admin()).then_some(("customer_id:", event.customer_id.as_str())),
        ];
        for (scope, id) in scopes.into_iter().flatten() {
            let forms: [&[&str]; 2] = [
                &[scope, id, ":chat:", &event.talk_id],
                &[scope, id, ":", kind, ":", name, ":", &event.resource],
            ];
            for form in forms {
                if self.topics.iter().any(|t| is_prefix(t, form)) {
                    return Some(form.concat());
                }
            }
        }
        None
    }

    /// The frame of `event` for this connection: its topic, its naming, and
    /// `me` on a message's reaction counts for this connection's agent.
    pub(super) fn frame(&self, event: &Event) -> Option<String> {
        let topic = self.topic(event)?;
        // Another's read position is a receipt.
        let receipt =
            event.kind == EventKind::ReadUpdated && event.subject != Some(self.identity.agent.id);
        let name = if receipt {
            "message_read"
        } else {
            self.naming.name(event.kind)
        };
        let viewer = self.identity.agent.id.to_string();
        let data = talk_wire::message_viewed_by(&event.data, &viewer);
        Some(protocol::event(name, &data, &topic, event.seq))
    }

    /// Offers a live event; true when it was queued (or kept back).
    pub(super) fn offer_live(&mut self, event: &Event) -> bool {
        let last_seq = match &self.mode {
            Mode::Live { last_seq, .. } | Mode::Held { last_seq, .. } => *last_seq,
            Mode::Replaying => return false,
        };
        if event.seq <= last_seq || self.queue.is_closing() {
            return false;
        }
        let Some(frame) = self.frame(event) else {
            return false;
        };
        if let Mode::Held { last_seq, frames } = &mut self.mode {
            *last_seq = event.seq;
            frames.push(Held {
                seq: event.seq,
                frame,
                kind: event.kind,
            });
            if frames.len() >= self.queue.capacity() {
                self.release();
            }
            return true;
        }
        self.enqueue(event.seq, frame, event.kind)
    }

    /// Ends a hold: the frames kept back are queued, then live delivery goes on.
    pub(super) fn release(&mut self) {
        let Mode::Held { last_seq, frames } = &mut self.mode else {
            return;
        };
        let frames = std::mem::take(frames);
        self.mode = Mode::Live {
            last_seq: *last_seq,
            delivered: false,
        };
        for held in frames {
            if !self.enqueue(held.seq, held.frame, held.kind) && self.queue.is_closing() {
                return;
            }
        }
    }

    /// Queues a live frame without waiting; true when it was queued.
    fn enqueue(&mut self, seq: u64, frame: String, kind: EventKind) -> bool {
        let name = kind.name();
        match self.queue.offer(frame, queue::sheddable(kind)) {
            Offer::Queued => {}
            Offer::QueuedEvicting => {
                talk_telemetry::metrics::WS_DROPS
                    .with_label_values(&["ephemeral"])
                    .inc();
            }
            Offer::Shed => {
                talk_telemetry::metrics::WS_DROPS
                    .with_label_values(&[name])
                    .inc();
                return false;
            }
            Offer::Full => {
                talk_telemetry::metrics::WS_DROPS
                    .with_label_values(&[name])
                    .inc();
                self.queue.close(
                    close::SLOW_CONSUMER,
                    "slow consumer, resume with your cursor",
                    false,
                );
                return false;
            }
            Offer::Closing => return false,
        }
        self.mode = Mode::Live {
            last_seq: seq,
            delivered: true,
        };
        talk_telemetry::metrics::WS_DELIVERIES
            .with_label_values(&[name])
            .inc();
        true
    }
}

/// Whether `topic` is a prefix of the concatenation of `parts` (without
/// building it: most events match no topic of most connections).
pub(super) fn is_prefix(topic: &str, parts: &[&str]) -> bool {
    let mut rest = topic.as_bytes();
    for part in parts {
        let part = part.as_bytes();
        if rest.len() <= part.len() {
            return part.starts_with(rest);
        }
        let Some(after) = rest.strip_prefix(part) else {
            return false;
        };
        rest = after;
    }
    rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::is_prefix;

    #[test]
    fn prefixes_of_concatenations() {
        let parts: &[&str] = &["agent_id:", "a1", ":chat:", "t1"];
        for topic in [
            "",
            "agent_id",
            "agent_id:a1",
            "agent_id:a1:chat",
            "agent_id:a1:chat:t1",
        ] {
            assert!(is_prefix(topic, parts), "{topic}");
        }
        for topic in [
            "agent_id:a2",
            "agent_id:a1:chat:t12",
            "agent_id:a1:chatmessage",
        ] {
            assert!(!is_prefix(topic, parts), "{topic}");
        }
    }
}
