//! One type per domain event, its name and version bound to the type.

use prost::Message as _;
use talk_proto::event_envelope::Payload as WirePayload;
use talk_proto::{EventEnvelope, Message, Participant, ReadMark, Talk};
use talk_types::{CustomerId, EventId, TalkId, time};

/// The payload an event carries: the resource in its current state.
#[derive(Clone, Debug, PartialEq)]
pub enum Payload {
    /// A talk event.
    Talk(Talk),
    /// A participant event.
    Participant(Participant),
    /// A message or reaction event.
    Message(Message),
    /// An agent's read position.
    Read(ReadMark),
}

/// Every kind of event, with its seed and VoIPBIN names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A talk was created.
    TalkCreated,
    /// A talk's name or detail changed.
    TalkUpdated,
    /// A talk was soft-deleted.
    TalkDeleted,
    /// A talk was closed.
    TalkClosed,
    /// A talk was reopened.
    TalkReopened,
    /// An agent joined or was added.
    ParticipantJoined,
    /// An agent left or was removed.
    ParticipantLeft,
    /// A participant's role changed.
    ParticipantUpdated,
    /// A message was posted.
    MessageCreated,
    /// A message was edited.
    MessageUpdated,
    /// A message was deleted.
    MessageDeleted,
    /// A reaction was added.
    ReactionAdded,
    /// A reaction was removed.
    ReactionRemoved,
    /// An agent read a talk up to a seq (Talk's own; VoIPBIN has no read events).
    ReadUpdated,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 14] = [
        Self::TalkCreated,
        Self::TalkUpdated,
        Self::TalkDeleted,
        Self::TalkClosed,
        Self::TalkReopened,
        Self::ParticipantJoined,
        Self::ParticipantLeft,
        Self::ParticipantUpdated,
        Self::MessageCreated,
        Self::MessageUpdated,
        Self::MessageDeleted,
        Self::ReactionAdded,
        Self::ReactionRemoved,
        Self::ReadUpdated,
    ];

    /// The seed's name (the default on the WebSocket and the subject's last token).
    pub fn name(self) -> &'static str {
        match self {
            Self::TalkCreated => "talk_created",
            Self::TalkUpdated => "talk_updated",
            Self::TalkDeleted => "talk_deleted",
            Self::TalkClosed => "talk_closed",
            Self::TalkReopened => "talk_reopened",
            Self::ParticipantJoined => "participant_joined",
            Self::ParticipantLeft => "participant_left",
            Self::ParticipantUpdated => "participant_updated",
            Self::MessageCreated => "message_created",
            Self::MessageUpdated => "message_updated",
            Self::MessageDeleted => "message_deleted",
            Self::ReactionAdded => "reaction_added",
            Self::ReactionRemoved => "reaction_removed",
            Self::ReadUpdated => "read_updated",
        }
    }

    /// VoIPBIN's name (reference §5.5), on `/v1.0/service_agents/ws`, in
    /// VoIPBIN's topics and in webhooks. Several kinds share one: close and
    /// reopen are `chat_updated`, a reaction added or removed
    /// `chatmessage_reaction_updated`; `chatmessage_updated` and
    /// `chatparticipant_updated` are Talk's own (VoIPBIN has no edits or roles).
    pub fn voipbin_name(self) -> &'static str {
        match self {
            Self::TalkCreated => "chat_created",
            Self::TalkUpdated | Self::TalkClosed | Self::TalkReopened => "chat_updated",
            Self::TalkDeleted => "chat_deleted",
            Self::ParticipantJoined => "chatparticipant_added",
            Self::ParticipantLeft => "chatparticipant_removed",
            Self::ParticipantUpdated => "chatparticipant_updated",
            Self::MessageCreated => "chatmessage_created",
            Self::MessageUpdated => "chatmessage_updated",
            Self::MessageDeleted => "chatmessage_deleted",
            Self::ReactionAdded | Self::ReactionRemoved => "chatmessage_reaction_updated",
            Self::ReadUpdated => "read_updated",
        }
    }

    /// The kind named `name` (seed naming).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// A typed domain event.
pub trait DomainEvent {
    /// Its kind (and so its name and subject).
    const KIND: EventKind;
    /// Payload schema version.
    const VERSION: u32 = 1;
    /// The payload.
    fn into_payload(self) -> Payload;
}

macro_rules! event {
    ($(#[$doc:meta])* $name:ident, $kind:ident, $variant:ident($ty:ty)) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name(pub $ty);

        impl DomainEvent for $name {
            const KIND: EventKind = EventKind::$kind;
            fn into_payload(self) -> Payload {
                Payload::$variant(self.0)
            }
        }
    };
}

event!(/// `talk_created`.
    TalkCreated, TalkCreated, Talk(Talk));
event!(/// `talk_updated`.
    TalkUpdated, TalkUpdated, Talk(Talk));
event!(/// `talk_deleted`.
    TalkDeleted, TalkDeleted, Talk(Talk));
event!(/// `talk_closed`.
    TalkClosed, TalkClosed, Talk(Talk));
event!(/// `talk_reopened`.
    TalkReopened, TalkReopened, Talk(Talk));
event!(/// `participant_joined`.
    ParticipantJoined, ParticipantJoined, Participant(Participant));
event!(/// `participant_left`.
    ParticipantLeft, ParticipantLeft, Participant(Participant));
event!(/// `participant_updated`: its role changed.
    ParticipantUpdated, ParticipantUpdated, Participant(Participant));
event!(/// `message_created`.
    MessageCreated, MessageCreated, Message(Message));
event!(/// `message_updated`.
    MessageUpdated, MessageUpdated, Message(Message));
event!(/// `message_deleted`.
    MessageDeleted, MessageDeleted, Message(Message));
event!(/// `reaction_added`.
    ReactionAdded, ReactionAdded, Message(Message));
event!(/// `reaction_removed`.
    ReactionRemoved, ReactionRemoved, Message(Message));
event!(/// `read_updated`: an agent's read position moved.
    ReadUpdated, ReadUpdated, Read(ReadMark));

/// Builds the envelope of a typed event.
pub fn envelope<E: DomainEvent>(
    event: E,
    customer_id: CustomerId,
    talk_id: TalkId,
    traceparent: String,
) -> EventEnvelope {
    let payload = match event.into_payload() {
        Payload::Talk(t) => WirePayload::Talk(t),
        Payload::Participant(p) => WirePayload::Participant(p),
        Payload::Message(m) => WirePayload::Message(m),
        Payload::Read(r) => WirePayload::Read(r),
    };
    let subject_agent_id = match &payload {
        WirePayload::Participant(p) => p.owner_id.clone(),
        WirePayload::Read(r) => r.agent_id.clone(),
        WirePayload::Talk(_) | WirePayload::Message(_) => String::new(),
    };
    EventEnvelope {
        id: EventId::new().to_string(),
        kind: E::KIND.name().to_owned(),
        version: E::VERSION,
        customer_id: customer_id.to_string(),
        talk_id: talk_id.to_string(),
        occurred_at: time::to_micros(&time::now()),
        traceparent,
        subject_agent_id,
        at_creation: false,
        audience: Vec::new(),
        payload: Some(payload),
    }
}

/// The subject an envelope is published on.
pub fn subject(prefix: &str, envelope: &EventEnvelope) -> String {
    format!(
        "{prefix}.{}.{}.{}",
        envelope.customer_id, envelope.talk_id, envelope.kind
    )
}

/// An envelope's kind and payload, checked.
pub fn decode(envelope: &EventEnvelope) -> Option<(EventKind, Payload)> {
    let kind = EventKind::from_name(&envelope.kind)?;
    let payload = match envelope.payload.clone()? {
        WirePayload::Talk(t) => Payload::Talk(t),
        WirePayload::Participant(p) => Payload::Participant(p),
        WirePayload::Message(m) => Payload::Message(m),
        WirePayload::Read(r) => Payload::Read(r),
    };
    Some((kind, payload))
}

/// The envelope as bytes for the bus.
pub fn encode(envelope: &EventEnvelope) -> Vec<u8> {
    envelope.encode_to_vec()
}
