//! Extraction of wire requests into domain inputs.

use talk_types::{AgentId, ApiError, CustomerId};

use crate::service::Caller;

/// The caller of an internal call; a missing or malformed caller is a 401.
pub fn caller(caller: Option<talk_proto::Caller>) -> Result<Caller, ApiError> {
    let talk_proto::Caller {
        agent_id,
        customer_id,
        permission,
    } = caller.ok_or_else(ApiError::unauthenticated)?;
    let agent_id: AgentId = agent_id.parse().map_err(|_| ApiError::unauthenticated())?;
    let customer_id: CustomerId = customer_id
        .parse()
        .map_err(|_| ApiError::unauthenticated())?;
    Ok(Caller {
        agent_id,
        customer_id,
        permission,
    })
}

/// An agent id from the request: empty is MISSING_FIELD, not a UUID is INVALID_ID.
pub fn agent_id(value: &str) -> Result<AgentId, ApiError> {
    if value.is_empty() {
        return Err(crate::service::validate::missing("agent_id"));
    }
    AgentId::parse("agent_id", value)
}
