//! Extraction of wire requests into domain inputs.

use talk_types::{AgentId, ApiError};

/// An agent id from the request: empty is MISSING_FIELD, not a UUID is INVALID_ID.
pub fn agent_id(value: &str) -> Result<AgentId, ApiError> {
    if value.is_empty() {
        return Err(crate::service::validate::missing("agent_id"));
    }
    AgentId::parse("agent_id", value)
}
