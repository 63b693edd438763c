//! A bus event as webhooks carry it: the JSON of a WebSocket frame,
//! `{"type", "timestamp", "data"}`, with `data` in the REST shapes
//! (talk-wire) and `type` in the endpoint's naming.

use serde::Serialize;
use talk_events::kinds::{self, Payload};
use talk_events::{Delivery, EventKind};
use talk_types::{AgentId, CustomerId, TalkId, time};

use super::naming::Naming;
use crate::WebhookId;

/// A decoded event.
#[derive(Clone, Debug)]
pub struct Event {
    /// Its bus position.
    pub seq: u64,
    /// Its id (the envelope's UUIDv7).
    pub id: String,
    /// What happened.
    pub kind: EventKind,
    /// Whose it is.
    pub customer: CustomerId,
    /// The talk it happened in.
    pub talk: TalkId,
    /// When it happened, in microseconds since the epoch.
    pub occurred_at: i64,
    /// For participant events: whose membership changed.
    pub subject: Option<AgentId>,
    /// The resource in its REST shape.
    pub data: serde_json::Value,
}

#[derive(Serialize)]
struct Body<'a> {
    r#type: &'a str,
    timestamp: String,
    data: &'a serde_json::Value,
}

/// Decodes a delivery (None for an unknown kind or bad ids).
pub fn decode(delivery: &Delivery) -> Option<Event> {
    let envelope = &delivery.envelope;
    let (kind, payload) = kinds::decode(envelope)?;
    let data = match payload {
        Payload::Talk(t) => serde_json::to_value(talk_wire::Talk::from(t)),
        Payload::Participant(p) => serde_json::to_value(talk_wire::Participant::from(p)),
        Payload::Message(m) => serde_json::to_value(talk_wire::Message::from(m)),
        // Read positions are for the reader's devices, not for webhooks.
        Payload::Read(_) => return None,
    }
    .ok()?;
    Some(Event {
        seq: delivery.seq,
        id: envelope.id.clone(),
        kind,
        customer: envelope.customer_id.parse().ok()?,
        talk: envelope.talk_id.parse().ok()?,
        occurred_at: envelope.occurred_at,
        subject: envelope.subject_agent_id.parse().ok(),
        data,
    })
}

impl Event {
    /// The body posted to an endpoint of `naming`.
    pub fn body(&self, naming: Naming) -> String {
        render(naming.name(self.kind), self.occurred_at, &self.data)
    }

    /// The `webhook-id` of this event at `endpoint`: the same on every
    /// attempt and replay, different for each endpoint.
    pub fn message_id(&self, endpoint: WebhookId) -> String {
        let event = self.id.replace('-', "");
        format!("msg_{event}_{}", endpoint.0.simple())
    }
}

/// `{"type", "timestamp", "data"}` as JSON.
pub fn render(event_type: &str, occurred_at: i64, data: &serde_json::Value) -> String {
    let timestamp = time::from_micros(occurred_at)
        .map(|t| time::format(&t))
        .unwrap_or_default();
    serde_json::to_string(&Body {
        r#type: event_type,
        timestamp,
        data,
    })
    .unwrap_or_default()
}
