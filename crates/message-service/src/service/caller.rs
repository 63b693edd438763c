//! The authenticated agent on whose behalf a call is made.

use talk_types::{AgentId, ApiError, CustomerId};

/// The caller, as the edge verified it from a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The calling agent.
    pub agent_id: AgentId,
    /// The caller's customer: the only one it sees.
    pub customer_id: CustomerId,
    /// The caller as received, passed on to talk-service.
    pub wire: talk_proto::Caller,
}

impl Caller {
    /// The caller of a request; a missing or malformed one is unauthenticated.
    pub fn from_wire(caller: Option<talk_proto::Caller>) -> Result<Self, ApiError> {
        let wire = caller.ok_or_else(ApiError::unauthenticated)?;
        let agent_id = wire
            .agent_id
            .parse()
            .map_err(|_| ApiError::unauthenticated())?;
        let customer_id = wire
            .customer_id
            .parse()
            .map_err(|_| ApiError::unauthenticated())?;
        Ok(Self {
            agent_id,
            customer_id,
            wire,
        })
    }
}
