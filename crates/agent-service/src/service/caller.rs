//! The authenticated agent on whose behalf a call is made.

use talk_auth::{PERMISSION_ADMIN, PERMISSION_MANAGER, PERMISSION_SUPER_ADMIN};
use talk_types::{AgentId, CustomerId};

/// The caller, as the edge verified it from a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The calling agent.
    pub agent_id: AgentId,
    /// The caller's customer: the only one it sees.
    pub customer_id: CustomerId,
    /// The caller's permission bitmask.
    pub permission: u32,
}

impl Caller {
    /// Customer admins, managers and super admins manage agents.
    pub fn is_admin(&self) -> bool {
        self.permission & (PERMISSION_SUPER_ADMIN | PERMISSION_ADMIN | PERMISSION_MANAGER) != 0
    }

    /// Only a super admin grants, removes or touches the super admin bit.
    pub fn is_super_admin(&self) -> bool {
        self.permission & PERMISSION_SUPER_ADMIN != 0
    }
}
