//! One connection as the routing table sees it: its caller, topics, talks
//! and delivery mode, and the decision whether (and under which topic) an
//! event reaches it.

use std::collections::HashSet;
use std::sync::Arc;

use talk_auth::Identity;
use talk_events::EventKind;
use talk_types::TalkId;

use super::Event;
use crate::queue::{Offer, Queue, close};
use crate::ws::protocol::{self, Naming};

/// Whether a connection gets the consumer's live events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    /// Live: events after `last_seq` (dedupe against a finished replay).
    Live { last_seq: u64 },
    /// A resume is pending or replaying: the replay task delivers, the consumer skips.
    Replaying,
}

pub(super) struct Conn {
    pub(super) identity: Identity,
    pub(super) naming: Naming,
    pub(super) topics: Vec<String>,
    pub(super) talks: HashSet<TalkId>,
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
}

impl Conn {
    /// The topic under which this connection receives `event`, if any.
    fn topic(&self, event: &Event) -> Option<String> {
        let me = self.identity.agent.id;
        if self.identity.agent.customer_id != event.customer {
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
        if !own_membership_event && !member {
            return None;
        }
        let agent_topic = format!("agent_id:{me}:chat:{}", event.talk);
        if self
            .topics
            .iter()
            .any(|t| agent_topic.starts_with(t.as_str()))
        {
            return Some(agent_topic);
        }
        if self.identity.is_admin() {
            let customer_topic = format!("customer_id:{}:chat:{}", event.customer, event.talk);
            if self
                .topics
                .iter()
                .any(|t| customer_topic.starts_with(t.as_str()))
            {
                return Some(customer_topic);
            }
        }
        None
    }

    pub(super) fn frame(&self, event: &Event) -> Option<String> {
        let topic = self.topic(event)?;
        let name = match self.naming {
            Naming::Seed => event.kind.name(),
            Naming::Voipbin => event.kind.voipbin_name(),
        };
        Some(protocol::event(name, &event.data, &topic, event.seq))
    }

    /// Offers a live event; true when it was queued.
    pub(super) fn offer_live(&mut self, event: &Event) -> bool {
        let Mode::Live { last_seq } = self.mode else {
            return false;
        };
        if event.seq <= last_seq || self.queue.is_closing() {
            return false;
        }
        let Some(frame) = self.frame(event) else {
            return false;
        };
        let kind = event.kind.name();
        match self.queue.offer(frame, event.kind.is_ephemeral()) {
            Offer::Queued => {}
            Offer::QueuedEvicting => {
                talk_telemetry::metrics::WS_DROPS
                    .with_label_values(&["ephemeral"])
                    .inc();
            }
            Offer::Shed => {
                talk_telemetry::metrics::WS_DROPS
                    .with_label_values(&[kind])
                    .inc();
                return false;
            }
            Offer::Full => {
                talk_telemetry::metrics::WS_DROPS
                    .with_label_values(&[kind])
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
            last_seq: event.seq,
        };
        talk_telemetry::metrics::WS_DELIVERIES
            .with_label_values(&[kind])
            .inc();
        true
    }
}
