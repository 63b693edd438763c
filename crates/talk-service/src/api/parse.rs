//! Wire requests to domain inputs: ids parsed, enums checked, the caller verified.

use talk_proto::ParticipantRef;
use talk_types::{AgentId, ApiError, Reason};

use crate::db::entities::participant::{OWNER_AGENT, Role};
use crate::db::entities::talk::{TalkState, TalkType};

/// `direct` | `group` | `talk`; empty means "infer".
pub fn talk_type(value: &str) -> Result<Option<TalkType>, ApiError> {
    match value {
        "" => Ok(None),
        "direct" => Ok(Some(TalkType::Direct)),
        "group" => Ok(Some(TalkType::Group)),
        "talk" => Ok(Some(TalkType::Talk)),
        _ => Err(ApiError::of(
            Reason::InvalidType,
            "The type must be one of direct, group or talk.",
        )),
    }
}

/// A role that can be given: `moderator` | `member`.
pub fn role(value: &str) -> Result<Role, ApiError> {
    match value {
        "moderator" => Ok(Role::Moderator),
        "member" => Ok(Role::Member),
        _ => Err(ApiError::of(
            Reason::InvalidRole,
            "role must be moderator or member; an owner stays an owner.",
        )),
    }
}

/// A participant reference: `owner_type` agent (or empty), `owner_id` a UUID.
pub fn participant_ref(reference: ParticipantRef) -> Result<AgentId, ApiError> {
    let ParticipantRef {
        owner_type,
        owner_id,
    } = reference;
    if !owner_type.is_empty() && owner_type != OWNER_AGENT {
        return Err(ApiError::of(
            Reason::InvalidOwnerType,
            "The owner_type must be agent.",
        ));
    }
    AgentId::parse("owner_id", &owner_id)
}

/// The participant of an add request, which must be there.
pub fn required_participant(reference: Option<ParticipantRef>) -> Result<AgentId, ApiError> {
    participant_ref(reference.ok_or_else(|| {
        ApiError::of(
            Reason::MissingField,
            "The participant (owner_id) is required.",
        )
    })?)
}

/// The state a listing is narrowed to: `open` (or `active`), `closed`, or
/// every state for `all` and "".
pub fn status(value: &str) -> Result<Option<TalkState>, ApiError> {
    match value {
        "" | "all" => Ok(None),
        "open" | "active" => Ok(Some(TalkState::Active)),
        "closed" => Ok(Some(TalkState::Closed)),
        _ => Err(ApiError::of(
            Reason::InvalidRequestParameter,
            "The parameter \"status\" must be open, closed or all.",
        )),
    }
}
