//! Who may send a talk's ephemeral signals: typing is for the talk's active
//! participants while it is open; an agent's status goes to the talks it
//! is in.

use talk_types::{AgentId, ApiError, CustomerId, Reason, TalkId};

use super::{Caller, Talks, access};

impl Talks {
    /// Whether `caller` may say it types in talk `id`: 404 for an unknown
    /// (or another customer's, or deleted) talk, 403 when it is not an active
    /// participant, 409 when the talk is closed.
    pub async fn may_type(&self, caller: &Caller, id: TalkId) -> Result<(), ApiError> {
        let seen = access::current(&self.db, caller, id).await?;
        if seen.me.is_none() {
            return Err(ApiError::of(
                Reason::PermissionDenied,
                "Only the talk's participants may type in it.",
            ));
        }
        seen.require_open().map_err(|_| {
            ApiError::of(
                Reason::TalkClosed,
                "The talk is closed; nobody types in it.",
            )
        })
    }

    /// The talks `agent` is an active participant of.
    pub async fn talks_of(
        &self,
        agent: AgentId,
        customer: CustomerId,
    ) -> Result<Vec<TalkId>, ApiError> {
        let memberships = self.memberships(agent, customer).await?;
        Ok(memberships.into_iter().map(|(talk, _)| talk).collect())
    }
}
