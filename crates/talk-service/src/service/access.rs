//! Who may see and change a talk.

use sea_orm::ConnectionTrait;
use talk_store::db_error;
use talk_types::{ApiError, Reason, TalkId};

use super::Caller;
use super::roles::{self, Action, Standing};
use crate::db::entities::participant;
use crate::db::entities::talk::{self, TalkState, TalkType};
use crate::db::queries::{participants, talks};

/// A talk and the caller's active record in it.
pub(super) struct Seen {
    pub talk: talk::Model,
    pub me: Option<participant::Model>,
}

/// Whether a deleted talk may still be read (by its participants).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Deleted {
    /// Deleted talks are 404.
    Hidden,
    /// Participants still see a deleted talk.
    VisibleToParticipants,
}

/// Reads a talk the caller may see: 404 when it is not theirs to know about
/// (unknown, another customer, deleted), 403 when it is private to others.
pub(super) async fn visible<C: ConnectionTrait>(
    conn: &C,
    caller: &Caller,
    id: TalkId,
    deleted: Deleted,
) -> Result<Seen, ApiError> {
    let talk = talks::find(conn, caller.customer_id, id)
        .await
        .map_err(db_error)?
        .ok_or_else(talk_not_found)?;
    let me = participants::active_of(conn, caller.customer_id, id, caller.agent_id)
        .await
        .map_err(db_error)?;
    judge(talk, me, deleted)
}

/// The rule of [`visible`] on a talk and the caller's active record, read already.
pub(super) fn judge(
    talk: talk::Model,
    me: Option<participant::Model>,
    deleted: Deleted,
) -> Result<Seen, ApiError> {
    if talk.tm_delete.is_some() && (deleted == Deleted::Hidden || me.is_none()) {
        return Err(talk_not_found());
    }
    if me.is_none() && talk.kind != TalkType::Talk {
        return Err(ApiError::permission_denied());
    }
    Ok(Seen { talk, me })
}

/// Locks a live (non-deleted) talk of the caller's customer for a write.
pub(super) async fn lock<C: ConnectionTrait>(
    conn: &C,
    caller: &Caller,
    id: TalkId,
) -> Result<Seen, ApiError> {
    let talk = talks::lock(conn, caller.customer_id, id).await;
    live(conn, caller, id, talk.map_err(db_error)?).await
}

/// [`lock`] without the lock: a check before a write (which checks again
/// under the lock).
pub(super) async fn current<C: ConnectionTrait>(
    conn: &C,
    caller: &Caller,
    id: TalkId,
) -> Result<Seen, ApiError> {
    let talk = talks::find(conn, caller.customer_id, id).await;
    live(conn, caller, id, talk.map_err(db_error)?).await
}

async fn live<C: ConnectionTrait>(
    conn: &C,
    caller: &Caller,
    id: TalkId,
    talk: Option<talk::Model>,
) -> Result<Seen, ApiError> {
    let talk = talk
        .filter(|t| t.tm_delete.is_none())
        .ok_or_else(talk_not_found)?;
    let me = participants::active_of(conn, caller.customer_id, id, caller.agent_id)
        .await
        .map_err(db_error)?;
    Ok(Seen { talk, me })
}

impl Seen {
    /// What the caller is to the talk.
    pub fn standing(&self, caller: &Caller) -> Standing {
        Standing::of(caller, self.me.as_ref())
    }

    /// Whether the caller may do `action` to the talk ([`roles::allow`]).
    pub fn may(&self, caller: &Caller, action: Action) -> Result<(), ApiError> {
        roles::allow(action, self.talk.kind, self.standing(caller))
    }

    /// 409 TALK_CLOSED when the talk is closed.
    pub fn require_open(&self) -> Result<(), ApiError> {
        match self.talk.state {
            TalkState::Active => Ok(()),
            TalkState::Closed => Err(ApiError::of(
                Reason::TalkClosed,
                "The talk is closed; reopen it before adding participants.",
            )),
        }
    }
}

/// 404 TALK_NOT_FOUND.
pub(super) fn talk_not_found() -> ApiError {
    ApiError::from(Reason::TalkNotFound)
}

/// 404 PARTICIPANT_NOT_FOUND.
pub(super) fn participant_not_found() -> ApiError {
    ApiError::from(Reason::ParticipantNotFound)
}
