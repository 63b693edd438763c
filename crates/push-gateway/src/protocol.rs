//! The frames of the WebSocket protocol: what clients send, what the server
//! pushes, and which topics a caller may subscribe to.

use serde::Deserialize;
use serde_json::{Value, json};
use talk_auth::Identity;
use talk_events::EventKind;
use talk_events::signal::TypingState;
use talk_types::TalkId;
use uuid::Uuid;

use crate::limits::{MAX_ID_BYTES, MAX_TOPIC_BYTES, MAX_TOPICS};

/// The longest `message` of an error frame, in bytes: parse errors quote
/// the client's input, which is not echoed at length.
const MAX_MESSAGE_BYTES: usize = 256;

/// Which event names a connection receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Naming {
    /// The seed's names (`message_created`, ...): `/v1.0/ws`'s default,
    /// or `?events=seed`.
    Seed,
    /// VoIPBIN's names (`chatmessage_created`, ...): the default of
    /// `/v1.0/service_agents/ws`, or `?events=voipbin`.
    Voipbin,
}

impl Naming {
    /// What `kind` is called on a connection of this naming.
    pub(crate) fn name(self, kind: EventKind) -> &'static str {
        match self {
            Self::Seed => kind.name(),
            Self::Voipbin => kind.voipbin_name(),
        }
    }
}

/// A frame from the client.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ClientFrame {
    /// `{"type":"auth","token":…}`.
    Auth(String),
    /// `{"type":"subscribe","topics":[…]}`.
    Subscribe(Vec<String>),
    /// `{"type":"unsubscribe","topics":[…]}`.
    Unsubscribe(Vec<String>),
    /// `{"type":"resume","cursor":"<n>"}`.
    Resume(u64),
    /// `{"type":"typing","chat_id":…,"state":"typing"|"working"|"stopped"}`.
    Typing(TalkId, TypingState),
    /// `{"type":"presence","state":"away"|"online"}`: true when away.
    Presence(bool),
}

/// Why a client's frame was refused: the `reason` of the error frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    /// Not JSON.
    InvalidJson,
    /// JSON, but no frame the protocol knows (or a binary frame).
    InvalidFrame,
    /// A resume cursor that is not a position.
    InvalidCursor,
    /// A topic that does not look like one.
    InvalidTopic,
    /// A topic the caller may not hear.
    PermissionDenied,
    /// The caller's talks could not be loaded.
    ServiceUnavailable,
    /// A second resume while one is under way.
    ResumeInProgress,
    /// A resume after live events reached the connection.
    ResumeTooLate,
    /// An `id` longer than [`MAX_ID_BYTES`]: the frame was not carried out.
    IdTooLong,
    /// A subscribe that would hold more than [`MAX_TOPICS`] topics.
    TooManyTopics,
    /// A frame over the connection's rate: it was not carried out.
    RateLimited,
    /// The agent holds as many sockets on this gateway as it may.
    TooManyConnections,
    /// A typing frame for a talk the caller is not a participant of.
    NotParticipant,
}

impl Reason {
    /// As the error frame names it.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::InvalidJson => "INVALID_JSON",
            Self::InvalidFrame => "INVALID_FRAME",
            Self::InvalidCursor => "INVALID_CURSOR",
            Self::InvalidTopic => "INVALID_TOPIC",
            Self::PermissionDenied => "PERMISSION_DENIED",
            Self::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            Self::ResumeInProgress => "RESUME_IN_PROGRESS",
            Self::ResumeTooLate => "RESUME_TOO_LATE",
            Self::IdTooLong => "ID_TOO_LONG",
            Self::TooManyTopics => "TOO_MANY_TOPICS",
            Self::RateLimited => "RATE_LIMITED",
            Self::TooManyConnections => "TOO_MANY_CONNECTIONS",
            Self::NotParticipant => "NOT_PARTICIPANT",
        }
    }
}

/// A client frame that could not be understood: the reason and a sentence.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) reason: Reason,
    pub(crate) message: String,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Wire {
    Auth {
        token: String,
    },
    Subscribe {
        topics: Vec<String>,
    },
    Unsubscribe {
        topics: Vec<String>,
    },
    Resume {
        cursor: Value,
    },
    Typing {
        chat_id: String,
        state: Option<String>,
    },
    Presence {
        state: String,
    },
}

/// Parses a text frame; also returns the frame's `id` (for the ack) when it
/// has one short enough to echo (a longer one refuses the frame, unechoed).
pub(crate) fn parse(text: &str) -> (Option<Value>, Result<ClientFrame, Refusal>) {
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(e) => {
            return (
                None,
                Err(refusal(
                    Reason::InvalidJson,
                    format!("The frame is not valid JSON: {e}"),
                )),
            );
        }
    };
    let id = value.get("id").filter(|id| !id.is_null());
    if id.is_some_and(|id| id.to_string().len() > MAX_ID_BYTES) {
        let message = format!(
            "The id may be at most {MAX_ID_BYTES} bytes of JSON; the frame was not carried out."
        );
        return (None, Err(refusal(Reason::IdTooLong, message)));
    }
    let id = id.cloned();
    let frame = match serde_json::from_value::<Wire>(value) {
        Ok(Wire::Auth { token }) => Ok(ClientFrame::Auth(token)),
        Ok(Wire::Subscribe { topics }) => Ok(ClientFrame::Subscribe(topics)),
        Ok(Wire::Unsubscribe { topics }) => Ok(ClientFrame::Unsubscribe(topics)),
        Ok(Wire::Resume { cursor }) => parse_cursor(&cursor).map(ClientFrame::Resume),
        Ok(Wire::Typing { chat_id, state }) => parse_typing(&chat_id, state.as_deref()),
        Ok(Wire::Presence { state }) => match state.as_str() {
            "away" => Ok(ClientFrame::Presence(true)),
            "online" => Ok(ClientFrame::Presence(false)),
            other => Err(refusal(
                Reason::InvalidFrame,
                format!("state must be away or online (got {other:?})."),
            )),
        },
        Err(e) => Err(refusal(
            Reason::InvalidFrame,
            format!(
                "Expected a frame of type auth, subscribe, unsubscribe, resume, typing or presence: {e}"
            ),
        )),
    };
    (id, frame)
}

/// A cursor: the bus position as a decimal string (or a JSON number).
pub(crate) fn parse_cursor(value: &Value) -> Result<u64, Refusal> {
    let parsed = match value {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        Value::Null | Value::Bool(_) | Value::Array(_) | Value::Object(_) => None,
    };
    parsed.ok_or_else(|| {
        refusal(
            Reason::InvalidCursor,
            "The cursor must be the decimal string of a frame's cursor.".into(),
        )
    })
}

/// A typing frame: a chat id and one of the states (`typing` when absent).
fn parse_typing(chat_id: &str, state: Option<&str>) -> Result<ClientFrame, Refusal> {
    let talk = chat_id.parse::<TalkId>().map_err(|_| {
        refusal(
            Reason::InvalidFrame,
            "chat_id must be the id of a chat you are in.".into(),
        )
    })?;
    let state = state.unwrap_or("typing");
    let state = TypingState::from_name(state)
        .ok_or_else(|| refusal(Reason::InvalidFrame, TypingState::refusal(state)))?;
    Ok(ClientFrame::Typing(talk, state))
}

/// The refusal of a typing frame for a talk the caller is not in.
pub(crate) fn not_participant(talk: TalkId) -> Refusal {
    refusal(
        Reason::NotParticipant,
        format!("You are not a participant of chat {talk}: nothing was sent."),
    )
}

fn refusal(reason: Reason, message: String) -> Refusal {
    Refusal { reason, message }
}

/// Checks one topic (VoIPBIN: `<scope>:<uuid>[:…]`): `agent_id:<me>` for
/// anyone, `customer_id:<my customer>` for admins.
pub(crate) fn check_topic(identity: &Identity, topic: &str) -> Result<(), Refusal> {
    if topic.len() > MAX_TOPIC_BYTES {
        return Err(refusal(
            Reason::InvalidTopic,
            format!("A topic may be at most {MAX_TOPIC_BYTES} bytes."),
        ));
    }
    let mut parts = topic.split(':');
    let scope = parts.next().unwrap_or_default();
    let id = parts.next().and_then(|id| Uuid::parse_str(id).ok());
    let Some(id) = id.filter(|id| !id.is_nil()) else {
        return Err(refusal(
            Reason::InvalidTopic,
            format!("Topic {topic:?} must look like agent_id:<uuid>:chat[:<chat_id>]."),
        ));
    };
    let allowed = match scope {
        "agent_id" => id == identity.agent.id.0,
        "customer_id" => id == identity.agent.customer_id.0 && identity.is_admin(),
        _ => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(refusal(
            Reason::PermissionDenied,
            format!("You may not subscribe to topic {topic:?}."),
        ))
    }
}

/// The refusal of a subscribe that would leave the connection with more
/// than [`MAX_TOPICS`] topics.
pub(crate) fn too_many_topics() -> Refusal {
    refusal(
        Reason::TooManyTopics,
        format!(
            "A connection may hold at most {MAX_TOPICS} topics; nothing was subscribed \
             (unsubscribe some, or use agent_id:<you>:chat for all your talks)."
        ),
    )
}

/// An event frame. `data` is already JSON.
pub(crate) fn event(name: &str, data: &str, topic: &str, seq: u64) -> String {
    // `name` and `topic` are ASCII identifiers, uuids and colons: no escaping needed,
    // but serde_json quotes them anyway so a surprise cannot break the frame.
    format!(
        r#"{{"type":{},"data":{data},"topic":{},"cursor":"{seq}"}}"#,
        Value::from(name),
        Value::from(topic),
    )
}

/// An ephemeral frame (typing, presence, status): no cursor, since it is
/// never replayed. `data` is already JSON.
pub(crate) fn signal(name: &str, data: &str, topic: &str) -> String {
    format!(
        r#"{{"type":{},"data":{data},"topic":{}}}"#,
        Value::from(name),
        Value::from(topic),
    )
}

/// `{"type":"error","data":{"reason","message"}}` (with the client frame's `id`).
pub(crate) fn error(reason: Reason, message: &str, id: Option<&Value>) -> String {
    let data = json!({"reason": reason.code(), "message": clip(message)});
    let mut frame = json!({"type": "error", "data": data});
    if let Some(id) = id {
        frame["id"] = id.clone();
    }
    frame.to_string()
}

/// `message`, cut at [`MAX_MESSAGE_BYTES`] (on a character boundary).
fn clip(message: &str) -> String {
    if message.len() <= MAX_MESSAGE_BYTES {
        return message.to_owned();
    }
    let mut end = MAX_MESSAGE_BYTES;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &message[..end])
}

/// `{"type":"ack","id":…}`.
pub(crate) fn ack(id: &Value) -> String {
    json!({"type": "ack", "id": id}).to_string()
}

/// `{"type":"resync_required","data":{"cursor","first_available"}}`: the cursor
/// is outside the retained history; refetch over REST.
pub(crate) fn resync_required(cursor: u64, first_available: u64) -> String {
    json!({
        "type": "resync_required",
        "data": {"cursor": cursor.to_string(), "first_available": first_available.to_string()},
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_frames_and_ids() {
        let (id, frame) = parse(r#"{"type":"resume","cursor":"42","id":7}"#);
        assert_eq!(id, Some(Value::from(7)));
        assert_eq!(frame, Ok(ClientFrame::Resume(42)));
        let (_, frame) = parse(r#"{"type":"subscribe","topics":["a"]}"#);
        assert_eq!(frame, Ok(ClientFrame::Subscribe(vec!["a".into()])));
        assert_eq!(parse("nope").1.unwrap_err().reason, Reason::InvalidJson);
        assert_eq!(
            parse(r#"{"type":"dance"}"#).1.unwrap_err().reason,
            Reason::InvalidFrame
        );
        assert_eq!(
            parse(r#"{"type":"resume","cursor":"x"}"#)
                .1
                .unwrap_err()
                .reason,
            Reason::InvalidCursor
        );
    }

    #[test]
    fn long_ids_topics_and_echoes_are_refused_or_cut() {
        let at_limit = format!(
            r#"{{"type":"unsubscribe","topics":[],"id":"{}"}}"#,
            "i".repeat(126)
        );
        let (id, frame) = parse(&at_limit);
        assert_eq!(id.map(|id| id.to_string().len()), Some(MAX_ID_BYTES));
        assert!(frame.is_ok());
        let past = format!(
            r#"{{"type":"unsubscribe","topics":[],"id":"{}"}}"#,
            "i".repeat(127)
        );
        let (id, frame) = parse(&past);
        assert_eq!(id, None, "not echoed");
        assert_eq!(frame.unwrap_err().reason, Reason::IdTooLong);

        let echo = format!(r#"{{"type":"{}"}}"#, "x".repeat(60_000));
        let (_, frame) = parse(&echo);
        let refusal = frame.unwrap_err();
        let error = error(refusal.reason, &refusal.message, None);
        assert!(error.len() < 2 * MAX_MESSAGE_BYTES, "{error}");
    }

    #[test]
    fn typing_frames_name_a_chat_and_a_known_state() {
        let talk = "0190c3a0-0000-7000-8000-000000000001";
        let frame = format!(r#"{{"type":"typing","chat_id":"{talk}","state":"working"}}"#);
        assert_eq!(
            parse(&frame).1,
            Ok(ClientFrame::Typing(
                talk.parse().unwrap(),
                TypingState::Working
            ))
        );
        let frame = format!(r#"{{"type":"typing","chat_id":"{talk}","state":"dancing"}}"#);
        let refusal = parse(&frame).1.unwrap_err();
        assert_eq!(refusal.reason, Reason::InvalidFrame);
        assert!(refusal.message.contains("typing, working, stopped"));
        let frame = r#"{"type":"typing","chat_id":"nope"}"#;
        assert_eq!(parse(frame).1.unwrap_err().reason, Reason::InvalidFrame);
    }

    #[test]
    fn event_frames_are_json() {
        let frame = event("message_created", r#"{"id":"m"}"#, "agent_id:a:chat:t", 9);
        let value: Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(value["type"], "message_created");
        assert_eq!(value["data"]["id"], "m");
        assert_eq!(value["cursor"], "9");
    }
}
