//! Reads: one talk, the caller's talks, public channels, participants, access.

use talk_proto::{Access, PageRequest, Participant, Talk, TalkPage};
use talk_store::db_error;
use talk_types::time::{self, Timestamp};
use talk_types::{AgentId, ApiError, CustomerId, TalkId};

use super::access::{self, Deleted};
use super::{Caller, Talks, convert};
use crate::db::entities::talk::TalkState;
use crate::db::queries::{self, participants, talks};

/// How long after joining a member is named in the audience of message
/// events: far longer than an outbox needs to publish its `participant_joined`,
/// while a big talk's audience stays small.
pub const RECENT_JOIN_WINDOW: chrono::Duration = chrono::Duration::minutes(10);

/// The page size and cursor of a list request.
fn page_of(page: Option<&PageRequest>) -> Result<(u64, Option<Timestamp>), ApiError> {
    let (size, token) = page.map_or((0, ""), |p| (p.page_size, p.page_token.as_str()));
    talk_types::page::parse(size, token)
}

/// A page and its cursor: the last item's `tm_create`, or "" when empty.
fn to_page(rows: &[crate::db::entities::talk::Model]) -> TalkPage {
    TalkPage {
        talks: rows.iter().map(convert::talk).collect(),
        next_page_token: rows
            .last()
            .map(|t| time::format(&t.tm_create))
            .unwrap_or_default(),
    }
}

impl Talks {
    /// One talk, for its participants (even deleted) or, when public, any agent of its customer.
    pub async fn get(&self, caller: Caller, id: TalkId) -> Result<Talk, ApiError> {
        let seen = access::visible(&self.db, &caller, id, Deleted::VisibleToParticipants).await?;
        Ok(convert::talk(&seen.talk))
    }

    /// The caller's talks (active participant, not deleted), newest first.
    pub async fn list_mine(
        &self,
        caller: Caller,
        page: Option<PageRequest>,
    ) -> Result<TalkPage, ApiError> {
        self.list_mine_in(caller, page, None).await
    }

    /// [`Talks::list_mine`] of the talks in `state` only, when one is given.
    pub async fn list_mine_in(
        &self,
        caller: Caller,
        page: Option<PageRequest>,
        state: Option<TalkState>,
    ) -> Result<TalkPage, ApiError> {
        let (limit, before) = page_of(page.as_ref())?;
        let select = talks::mine_in(caller.customer_id, caller.agent_id, state);
        let rows = talks::page(&self.db, select, before, limit)
            .await
            .map_err(db_error)?;
        Ok(to_page(&rows))
    }

    /// The customer's public channels (not deleted), newest first.
    pub async fn list_channels(
        &self,
        caller: Caller,
        page: Option<PageRequest>,
    ) -> Result<TalkPage, ApiError> {
        let (limit, before) = page_of(page.as_ref())?;
        let rows = talks::page(&self.db, talks::channels(caller.customer_id), before, limit)
            .await
            .map_err(db_error)?;
        Ok(to_page(&rows))
    }

    /// Active participants, newest joined first; visible like the talk.
    pub async fn list_participants(
        &self,
        caller: Caller,
        id: TalkId,
    ) -> Result<Vec<Participant>, ApiError> {
        access::visible(&self.db, &caller, id, Deleted::Hidden).await?;
        let rows = participants::list_active(&self.db, caller.customer_id, id)
            .await
            .map_err(db_error)?;
        Ok(rows.iter().map(convert::participant).collect())
    }

    /// The talk, the caller's active record and the agents who joined within
    /// [`RECENT_JOIN_WINDOW`] (the audience of message-service's events), for
    /// message-service's rules.
    pub async fn check_access(&self, caller: Caller, id: TalkId) -> Result<Access, ApiError> {
        let mut answers = self
            .check_access_many(caller.customer_id, id, &[caller.agent_id])
            .await?;
        answers.pop().unwrap_or_else(|| Err(ApiError::internal()))
    }

    /// [`Talks::check_access`] for several agents of `customer` in one read:
    /// one answer per agent, in order. Err only when the read failed.
    pub async fn check_access_many(
        &self,
        customer: CustomerId,
        id: TalkId,
        agents: &[AgentId],
    ) -> Result<Vec<Result<Access, ApiError>>, ApiError> {
        let since = time::now() - RECENT_JOIN_WINDOW;
        let Some(found) = queries::access::find(&self.db, customer, id, agents, since)
            .await
            .map_err(db_error)?
        else {
            return Ok(agents
                .iter()
                .map(|_| Err(access::talk_not_found()))
                .collect());
        };
        let recent: Vec<String> = found.recent.iter().map(ToString::to_string).collect();
        Ok(agents
            .iter()
            .map(|agent| {
                let me = found.mine.iter().find(|p| p.owner_id == *agent).cloned();
                let seen = access::judge(found.talk.clone(), me, Deleted::Hidden)?;
                Ok(Access {
                    talk: Some(convert::talk(&seen.talk)),
                    participant: seen.me.as_ref().map(convert::participant),
                    recent_member_ids: recent.clone(),
                })
            })
            .collect())
    }

    /// The live talks where `agent` is an active participant, with when its
    /// membership began.
    pub async fn memberships(
        &self,
        agent: AgentId,
        customer: CustomerId,
    ) -> Result<Vec<(TalkId, time::Timestamp)>, ApiError> {
        talks::memberships(&self.db, customer, agent)
            .await
            .map_err(db_error)
    }
}
