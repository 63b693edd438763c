//! Who is in a talk: join, leave, add, remove, and participants' roles. Every
//! change locks the talk row first, then writes, recounts `member_count` and
//! stages its events, so the count is exact and one talk's events are in
//! commit order. Who may do what is `roles.rs`.

use talk_events::kinds::{
    ParticipantJoined, ParticipantLeft, ParticipantUpdated, TalkClosed, TalkReopened,
};
use talk_proto::{Participant, WriteOptions};
use talk_store::db_error;
use talk_types::{AgentId, ApiError, ParticipantId, Reason, TalkId, time};

use super::access::{self, Seen, participant_not_found};
use super::roles::{Action, Standing};
use super::{Caller, Operation, TalkEvents, Talks, Write, convert, scope};
use crate::db::entities::participant::{self, OWNER_AGENT, ParticipantState, Role};
use crate::db::entities::talk::{self, CloseReason, TalkState, TalkType};
use crate::db::queries::{participants, talks};

/// Whether the caller may add `agent` to the talk they see: adding oneself
/// to a public talk is joining it, anyone's to do.
fn may_add(caller: &Caller, seen: &Seen, agent: AgentId) -> Result<(), ApiError> {
    if seen.talk.kind == TalkType::Talk && agent == caller.agent_id {
        return Ok(());
    }
    seen.may(caller, Action::AddOther)
}

impl Talks {
    /// Joins a public talk of the caller's customer; joining twice returns the record.
    pub async fn join(
        &self,
        caller: Caller,
        options: Option<WriteOptions>,
        id: TalkId,
    ) -> Result<Participant, ApiError> {
        let (mut write, seen) = match self
            .begin_on(&caller, Operation::JoinTalk, id, options.as_ref())
            .await?
        {
            Ok(begun) => begun,
            Err(replay) => return Ok(replay),
        };
        if seen.talk.kind != TalkType::Talk {
            return Err(ApiError::of(
                Reason::NotPublic,
                "Only a public talk (type talk) can be joined; ask a participant to add you.",
            ));
        }
        let record = match seen.me {
            Some(ref existing) => existing.clone(),
            // Abandoned: whoever joins reopens it, and owns it.
            None if seen.talk.state == TalkState::Closed && seen.talk.member_count == 0 => {
                let mut talk = seen.talk;
                talk.reopen(time::now());
                let talk = talks::save(write.txn(), talk).await.map_err(db_error)?;
                write.event_about(TalkReopened(convert::talk(&talk)), &talk);
                self.enter(&mut write, talk, caller.agent_id, Role::Owner)
                    .await?
            }
            None => {
                seen.require_open()?;
                self.enter(&mut write, seen.talk, caller.agent_id, Role::Member)
                    .await?
            }
        };
        let response = convert::participant(&record);
        write.commit(&response).await?;
        Ok(response)
    }

    /// Adds an agent of the caller's customer; an active member's record is returned as is.
    pub async fn add(
        &self,
        caller: Caller,
        options: Option<WriteOptions>,
        id: TalkId,
        agent: AgentId,
    ) -> Result<Participant, ApiError> {
        let operation = Operation::AddParticipant;
        let scope = scope(&caller, operation, id);
        if let Some(replay) = self.writes.recorded(&scope, options.as_ref()).await? {
            return Ok(replay);
        }
        let seen = access::current(&self.db, &caller, id).await?;
        may_add(&caller, &seen, agent)?;
        self.agents.require(&caller, &[agent]).await?;

        let (mut write, seen) = match self
            .begin_on(&caller, operation, id, options.as_ref())
            .await?
        {
            Ok(begun) => begun,
            Err(replay) => return Ok(replay),
        };
        may_add(&caller, &seen, agent)?;
        let existing = participants::active_of(write.txn(), caller.customer_id, id, agent)
            .await
            .map_err(db_error)?;
        let record = match existing {
            Some(record) => record,
            None => {
                seen.require_open()?;
                self.enter(&mut write, seen.talk, agent, Role::Member)
                    .await?
            }
        };
        let response = convert::participant(&record);
        write.commit(&response).await?;
        Ok(response)
    }

    /// Removes a participant record of the talk: one's own (that is leaving),
    /// or another's as `roles.rs` allows.
    pub async fn remove(
        &self,
        caller: Caller,
        options: Option<WriteOptions>,
        id: TalkId,
        participant_id: ParticipantId,
    ) -> Result<Participant, ApiError> {
        let (mut write, seen) = match self
            .begin_on(&caller, Operation::RemoveParticipant, id, options.as_ref())
            .await?
        {
            Ok(begun) => begun,
            Err(replay) => return Ok(replay),
        };
        if seen.standing(&caller) == Standing::Outsider {
            return Err(ApiError::permission_denied());
        }
        let record =
            participants::find_in_talk(write.txn(), caller.customer_id, id, participant_id)
                .await
                .map_err(db_error)?
                .ok_or_else(participant_not_found)?;
        if record.owner_id != caller.agent_id {
            let owner = record.role == Role::Owner;
            seen.may(&caller, Action::RemoveOther { owner })?;
        }
        let record = match record.state {
            ParticipantState::Left => record,
            ParticipantState::Active => self.exit(&mut write, seen.talk, record).await?,
        };
        let response = convert::participant(&record);
        write.commit(&response).await?;
        Ok(response)
    }

    /// Makes an active participant a moderator or a member again (owners
    /// and admins); an owner stays an owner.
    pub async fn set_role(
        &self,
        caller: Caller,
        options: Option<WriteOptions>,
        id: TalkId,
        participant_id: ParticipantId,
        role: Role,
    ) -> Result<Participant, ApiError> {
        if role == Role::Owner {
            return Err(invalid_role());
        }
        let (mut write, seen) = match self
            .begin_on(&caller, Operation::SetParticipantRole, id, options.as_ref())
            .await?
        {
            Ok(begun) => begun,
            Err(replay) => return Ok(replay),
        };
        seen.may(&caller, Action::SetRole)?;
        let record =
            participants::find_in_talk(write.txn(), caller.customer_id, id, participant_id)
                .await
                .map_err(db_error)?
                .filter(|r| r.state == ParticipantState::Active)
                .ok_or_else(participant_not_found)?;
        let record = match record.role {
            Role::Owner => return Err(invalid_role()),
            current if current == role => record,
            _ => {
                let record = participants::set_role(write.txn(), record, role)
                    .await
                    .map_err(db_error)?;
                write.event_about(
                    ParticipantUpdated(convert::participant(&record)),
                    &seen.talk,
                );
                record
            }
        };
        let response = convert::participant(&record);
        write.commit(&response).await?;
        Ok(response)
    }

    /// The caller leaves the talk.
    pub async fn leave(
        &self,
        caller: Caller,
        options: Option<WriteOptions>,
        id: TalkId,
    ) -> Result<Participant, ApiError> {
        let (mut write, seen) = match self
            .begin_on(&caller, Operation::LeaveTalk, id, options.as_ref())
            .await?
        {
            Ok(begun) => begun,
            Err(replay) => return Ok(replay),
        };
        let Some(me) = seen.me else {
            return Err(match seen.talk.kind {
                TalkType::Talk => participant_not_found(),
                TalkType::Direct | TalkType::Group => ApiError::permission_denied(),
            });
        };
        let record = self.exit(&mut write, seen.talk, me).await?;
        let response = convert::participant(&record);
        write.commit(&response).await?;
        Ok(response)
    }

    /// Adds a new active record for `agent` to the locked `talk`, within the
    /// cap on participants (its `member_count` is exact under the lock).
    async fn enter(
        &self,
        write: &mut Write,
        talk: talk::Model,
        agent: AgentId,
        role: Role,
    ) -> Result<participant::Model, ApiError> {
        let members = usize::try_from(talk.member_count).unwrap_or(0);
        self.limits.check_participants(members + 1)?;
        let now = time::now();
        let record = participant::Model {
            id: ParticipantId::new().0,
            customer_id: talk.customer_id,
            talk_id: talk.talk_id(),
            owner_type: OWNER_AGENT.to_owned(),
            owner_id: agent,
            state: ParticipantState::Active,
            role,
            tm_joined: now,
            tm_left: None,
        };
        participants::insert_many(write.txn(), vec![record.clone()])
            .await
            .map_err(db_error)?;
        let talk = self.recount(write, talk).await?;
        write.event_about(ParticipantJoined(convert::participant(&record)), &talk);
        Ok(record)
    }

    /// Marks `record` left in the locked `talk`; the last one out closes it.
    async fn exit(
        &self,
        write: &mut Write,
        talk: talk::Model,
        record: participant::Model,
    ) -> Result<participant::Model, ApiError> {
        let record = participants::mark_left(write.txn(), record, time::now())
            .await
            .map_err(db_error)?;
        let mut talk = self.recount(write, talk).await?;
        write.event_about(ParticipantLeft(convert::participant(&record)), &talk);
        if talk.member_count == 0 && talk.state == TalkState::Active {
            talk.close(CloseReason::LastLeft, talk.tm_update);
            let talk = talks::save(write.txn(), talk).await.map_err(db_error)?;
            write.event_about(TalkClosed(convert::talk(&talk)), &talk);
        }
        Ok(record)
    }

    /// Sets `member_count` to the number of active records (the row is locked).
    async fn recount(&self, write: &Write, mut talk: talk::Model) -> Result<talk::Model, ApiError> {
        let count = participants::count_active(write.txn(), talk.talk_id())
            .await
            .map_err(db_error)?;
        talk.member_count = i32::try_from(count).unwrap_or(i32::MAX);
        talk.tm_update = time::now();
        talks::save(write.txn(), talk).await.map_err(db_error)
    }
}

/// 400 INVALID_ROLE: owners are made by creating (or reviving) a talk only.
fn invalid_role() -> ApiError {
    ApiError::of(
        Reason::InvalidRole,
        "role must be moderator or member; an owner stays an owner.",
    )
}
