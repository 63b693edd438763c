//! Read positions and unread counts.
//!
//! `unread_count` is the number of messages after the reader's position that
//! are neither the reader's own nor deleted. Posting moves the author's
//! position to its own message, so this equals `last_seq - last_read_seq`
//! minus the deleted messages in between.

use std::collections::HashMap;

use talk_proto::{ReadState, WriteOptions};
use talk_store::db_error;
use talk_types::{ApiError, Reason, TalkId};

use super::{Begun, Caller, Messages, Operation, Scope};
use crate::db::queries::{counters, messages, read_states};

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

impl Messages {
    /// Records that the caller has read `talk` up to `seq` (never backwards).
    pub async fn mark_read(
        &self,
        caller: &Caller,
        options: Option<&WriteOptions>,
        talk: TalkId,
        seq: u64,
    ) -> Result<ReadState, ApiError> {
        let scope = Scope::new(caller.agent_id, Operation::MarkRead, talk);
        if let Some(replay) = self.writes.recorded(&scope, options).await? {
            return Ok(replay);
        }
        self.access(caller, talk).await?;
        let write = match self.writes.begin(&scope, options).await? {
            Begun::Fresh(write) => write,
            Begun::Replay(replay) => return Ok(replay),
        };
        let txn = write.txn();
        let last_seq = counters::find_many(txn, caller.customer_id, &[talk])
            .await
            .map_err(db_error)?
            .first()
            .map_or(0, |c| to_u64(c.last_seq));
        if seq > last_seq {
            return Err(ApiError::of(
                Reason::InvalidSeq,
                format!("seq must not be past the talk's last message ({last_seq})."),
            ));
        }
        let seq = i64::try_from(seq).map_err(|_| ApiError::internal())?;
        read_states::advance(txn, caller.customer_id, talk, caller.agent_id, seq)
            .await
            .map_err(db_error)?;
        let state = self
            .read_states(txn, caller, &[talk])
            .await?
            .pop()
            .ok_or_else(ApiError::internal)?;
        write.commit(&state).await?;
        Ok(state)
    }

    /// The caller's read state of each of `talks`, in order; talks without
    /// messages have zeros.
    pub async fn unread_counts(
        &self,
        caller: &Caller,
        talks: &[TalkId],
    ) -> Result<Vec<ReadState>, ApiError> {
        self.read_states(&self.db, caller, talks).await
    }

    async fn read_states<C: sea_orm::ConnectionTrait>(
        &self,
        db: &C,
        caller: &Caller,
        talks: &[TalkId],
    ) -> Result<Vec<ReadState>, ApiError> {
        let (customer, agent) = (caller.customer_id, caller.agent_id);
        let last: HashMap<TalkId, i64> = counters::find_many(db, customer, talks)
            .await
            .map_err(db_error)?
            .into_iter()
            .map(|c| (c.talk_id, c.last_seq))
            .collect();
        let read: HashMap<TalkId, i64> = read_states::find_many(db, customer, agent, talks)
            .await
            .map_err(db_error)?
            .into_iter()
            .map(|r| (r.talk_id, r.last_read_seq))
            .collect();
        let unread: HashMap<TalkId, i64> = messages::unread(db, customer, agent, talks)
            .await
            .map_err(db_error)?
            .into_iter()
            .collect();
        Ok(talks
            .iter()
            .map(|talk| ReadState {
                talk_id: talk.to_string(),
                last_read_seq: to_u64(read.get(talk).copied().unwrap_or(0)),
                last_seq: to_u64(last.get(talk).copied().unwrap_or(0)),
                unread_count: to_u64(unread.get(talk).copied().unwrap_or(0)),
            })
            .collect())
    }
}
