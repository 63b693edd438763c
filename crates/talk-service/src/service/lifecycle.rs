//! A talk's own changes: update, soft delete, close and reopen (participants only).

use talk_events::kinds::{TalkClosed, TalkDeleted, TalkReopened, TalkUpdated};
use talk_proto::{Talk, WriteOptions};
use talk_store::db_error;
use talk_types::{ApiError, Reason, TalkId, time};

use super::create::check_len;
use super::roles::Action;
use super::{Caller, MAX_DETAIL_CHARS, MAX_NAME_CHARS, Operation, TalkEvents, Talks, convert};
use crate::db::entities::talk::{CloseReason, TalkState, TalkType};
use crate::db::queries::{customer_talks, direct_pairs, talks};

/// Which way a state change goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transition {
    Close,
    Reopen,
}

impl Talks {
    /// Changes the name and/or detail.
    pub async fn update(
        &self,
        caller: Caller,
        options: Option<WriteOptions>,
        id: TalkId,
        name: Option<String>,
        detail: Option<String>,
    ) -> Result<Talk, ApiError> {
        if name.is_none() && detail.is_none() {
            return Err(ApiError::of(
                Reason::MissingField,
                "Give at least one of name and detail.",
            ));
        }
        check_len("name", name.as_deref(), MAX_NAME_CHARS)?;
        check_len("detail", detail.as_deref(), MAX_DETAIL_CHARS)?;
        let (mut write, seen) = match self
            .begin_on(&caller, Operation::UpdateTalk, id, options.as_ref())
            .await?
        {
            Ok(begun) => begun,
            Err(replay) => return Ok(replay),
        };
        seen.may(&caller, Action::Manage)?;
        let mut model = seen.talk;
        if let Some(name) = name {
            model.name = name;
        }
        if let Some(detail) = detail {
            model.detail = detail;
        }
        model.tm_update = time::now();
        let model = talks::save(write.txn(), model).await.map_err(db_error)?;
        let response = convert::talk(&model);
        write.event_about(TalkUpdated(response.clone()), &model);
        write.commit(&response).await?;
        Ok(response)
    }

    /// Soft-deletes the talk; answers with the talk as it was before (VoIPBIN).
    pub async fn delete(
        &self,
        caller: Caller,
        options: Option<WriteOptions>,
        id: TalkId,
    ) -> Result<Talk, ApiError> {
        let (mut write, seen) = match self
            .begin_on(&caller, Operation::DeleteTalk, id, options.as_ref())
            .await?
        {
            Ok(begun) => begun,
            Err(replay) => return Ok(replay),
        };
        seen.may(&caller, Action::Manage)?;
        let snapshot = convert::talk(&seen.talk);
        let mut model = seen.talk;
        let now = time::now();
        model.tm_delete = Some(now);
        model.tm_update = now;
        let model = talks::save(write.txn(), model).await.map_err(db_error)?;
        if model.kind == TalkType::Direct {
            direct_pairs::release(write.txn(), caller.customer_id, id)
                .await
                .map_err(db_error)?;
        }
        // After the pair, as a create takes them.
        customer_talks::release(write.txn(), caller.customer_id)
            .await
            .map_err(db_error)?;
        write.event_about(TalkDeleted(snapshot.clone()), &model);
        write.commit(&snapshot).await?;
        Ok(snapshot)
    }

    /// Closes an active talk (409 TALK_ALREADY_CLOSED otherwise).
    pub async fn close(
        &self,
        caller: Caller,
        options: Option<WriteOptions>,
        id: TalkId,
    ) -> Result<Talk, ApiError> {
        self.transition(caller, options, id, Transition::Close)
            .await
    }

    /// Reopens a closed talk (409 TALK_NOT_CLOSED otherwise).
    pub async fn reopen(
        &self,
        caller: Caller,
        options: Option<WriteOptions>,
        id: TalkId,
    ) -> Result<Talk, ApiError> {
        self.transition(caller, options, id, Transition::Reopen)
            .await
    }

    async fn transition(
        &self,
        caller: Caller,
        options: Option<WriteOptions>,
        id: TalkId,
        to: Transition,
    ) -> Result<Talk, ApiError> {
        let rpc = match to {
            Transition::Close => Operation::CloseTalk,
            Transition::Reopen => Operation::ReopenTalk,
        };
        let (mut write, seen) = match self.begin_on(&caller, rpc, id, options.as_ref()).await? {
            Ok(begun) => begun,
            Err(replay) => return Ok(replay),
        };
        seen.may(&caller, Action::Manage)?;
        let mut model = seen.talk;
        let now = time::now();
        match (to, model.state) {
            (Transition::Close, TalkState::Active) => model.close(CloseReason::Manual, now),
            (Transition::Reopen, TalkState::Closed) => model.reopen(now),
            (Transition::Close, TalkState::Closed) => {
                return Err(ApiError::of(
                    Reason::TalkAlreadyClosed,
                    "The talk is already closed.",
                ));
            }
            (Transition::Reopen, TalkState::Active) => {
                return Err(ApiError::of(
                    Reason::TalkNotClosed,
                    "The talk is not closed, so it cannot be reopened.",
                ));
            }
        }
        let model = talks::save(write.txn(), model).await.map_err(db_error)?;
        let response = convert::talk(&model);
        match to {
            Transition::Close => write.event_about(TalkClosed(response.clone()), &model),
            Transition::Reopen => write.event_about(TalkReopened(response.clone()), &model),
        };
        write.commit(&response).await?;
        Ok(response)
    }
}
