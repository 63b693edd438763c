//! The frames of the WebSocket protocol: what clients send, what the server
//! pushes, and which topics a caller may subscribe to.

use serde::Deserialize;
use serde_json::{Value, json};
use talk_auth::Identity;
use talk_events::EventKind;
use uuid::Uuid;

/// Which event names a connection receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Naming {
    /// The seed's names (`message_created`, ...): the default.
    Seed,
    /// VoIPBIN's names (`chatmessage_created`, ...): `?events=voipbin`.
    Voipbin,
}

impl Naming {
    /// What `kind` is called on a connection of this naming.
    pub(crate) fn name(self, kind: EventKind) -> &'static str {
        match self {
            Self::Seed => kind.name(),
            Self::Voipbin => match kind {
                EventKind::TalkCreated => "chat_created",
                EventKind::TalkUpdated | EventKind::TalkClosed | EventKind::TalkReopened => {
                    "chat_updated"
                }
                EventKind::TalkDeleted => "chat_deleted",
                EventKind::ParticipantJoined => "chatparticipant_added",
                EventKind::ParticipantLeft => "chatparticipant_removed",
                // Talk's own: VoIPBIN participants have no role.
                EventKind::ParticipantUpdated => "chatparticipant_updated",
                EventKind::MessageCreated => "chatmessage_created",
                EventKind::MessageUpdated => "chatmessage_updated",
                EventKind::MessageDeleted => "chatmessage_deleted",
                EventKind::ReactionAdded | EventKind::ReactionRemoved => {
                    "chatmessage_reaction_updated"
                }
            },
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
    Auth { token: String },
    Subscribe { topics: Vec<String> },
    Unsubscribe { topics: Vec<String> },
    Resume { cursor: Value },
}

/// Parses a text frame; also returns the frame's `id` (for the ack) when it has one.
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
    let id = value.get("id").filter(|id| !id.is_null()).cloned();
    let frame = match serde_json::from_value::<Wire>(value) {
        Ok(Wire::Auth { token }) => Ok(ClientFrame::Auth(token)),
        Ok(Wire::Subscribe { topics }) => Ok(ClientFrame::Subscribe(topics)),
        Ok(Wire::Unsubscribe { topics }) => Ok(ClientFrame::Unsubscribe(topics)),
        Ok(Wire::Resume { cursor }) => parse_cursor(&cursor).map(ClientFrame::Resume),
        Err(e) => Err(refusal(
            Reason::InvalidFrame,
            format!("Expected a frame of type auth, subscribe, unsubscribe or resume: {e}"),
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

fn refusal(reason: Reason, message: String) -> Refusal {
    Refusal { reason, message }
}

/// Checks one topic (VoIPBIN: `<scope>:<uuid>[:…]`): `agent_id:<me>` for
/// anyone, `customer_id:<my customer>` for admins.
pub(crate) fn check_topic(identity: &Identity, topic: &str) -> Result<(), Refusal> {
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

/// `{"type":"error","data":{"reason","message"}}` (with the client frame's `id`).
pub(crate) fn error(reason: Reason, message: &str, id: Option<&Value>) -> String {
    let data = json!({"reason": reason.code(), "message": message});
    let mut frame = json!({"type": "error", "data": data});
    if let Some(id) = id {
        frame["id"] = id.clone();
    }
    frame.to_string()
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
    fn event_frames_are_json() {
        let frame = event("message_created", r#"{"id":"m"}"#, "agent_id:a:chat:t", 9);
        let value: Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(value["type"], "message_created");
        assert_eq!(value["data"]["id"], "m");
        assert_eq!(value["cursor"], "9");
    }
}
