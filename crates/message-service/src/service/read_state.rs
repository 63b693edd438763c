//! Read positions and unread counts.
//!
//! `unread_count` is the number of messages after the reader's position that
//! are neither the reader's own nor deleted. Posting moves the author's
//! position to its own message, so this equals `last_seq - last_read_seq`
//! minus the deleted messages in between.
//!
//! A read that moves the position is announced (`read_updated`, durable):
//! the reader's other devices clear the badge, and in talks of at most
//! [`RECEIPTS_MAX_MEMBERS`] the others hear it as `message_read`. Receipts
//! ("seen by") are the talk's read positions at or past a message.

use std::collections::HashMap;

use talk_events::kinds::ReadUpdated;
use talk_proto::{ReadMark, ReadState, Receipt, Receipts, WriteOptions};
use talk_store::db_error;
use talk_types::{ApiError, MessageId, Reason, TalkId, time};

use super::{Begun, Caller, Messages, Operation, Scope};
use crate::db::queries::{counters, messages, read_states};

/// The largest talk whose participants hear each other's reads
/// (`message_read`); in larger talks only the reader's devices do, and
/// receipts are there to be asked for.
pub const RECEIPTS_MAX_MEMBERS: u32 = 100;

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
        let access = self.access(caller, talk).await?;
        let members = access.talk.as_ref().map_or(0, |t| t.member_count);
        let mut write = match self.writes.begin(&scope, options).await? {
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
        let before = read_states::find_many(txn, caller.customer_id, caller.agent_id, &[talk])
            .await
            .map_err(db_error)?
            .first()
            .map_or(0, |r| r.last_read_seq);
        read_states::advance(txn, caller.customer_id, talk, caller.agent_id, seq)
            .await
            .map_err(db_error)?;
        let state = self
            .read_states(txn, caller, &[talk])
            .await?
            .pop()
            .ok_or_else(ApiError::internal)?;
        if seq > before {
            let mark = ReadMark {
                chat_id: talk.to_string(),
                agent_id: caller.agent_id.to_string(),
                seq: state.last_read_seq,
                receipts: members <= RECEIPTS_MAX_MEMBERS,
                unread_count: state.unread_count,
                tm_read: time::to_micros(&time::now()),
            };
            write.event(ReadUpdated(mark), caller.customer_id, talk);
        }
        write.commit(&state).await?;
        Ok(state)
    }

    /// Who has read message `id`: every read position of its talk at or
    /// past its seq, the author's aside (the caller must be able to read it).
    pub async fn receipts(&self, caller: &Caller, id: MessageId) -> Result<Receipts, ApiError> {
        let message = self.readable(caller, id).await?;
        let readers =
            read_states::readers(&self.db, caller.customer_id, message.talk_id, message.seq)
                .await
                .map_err(db_error)?;
        Ok(Receipts {
            message_id: id.to_string(),
            chat_id: message.talk_id.to_string(),
            seq: to_u64(message.seq),
            receipts: readers
                .into_iter()
                .filter(|r| r.agent_id.0 != message.owner_id)
                .map(|r| Receipt {
                    agent_id: r.agent_id.to_string(),
                    last_read_seq: to_u64(r.last_read_seq),
                })
                .collect(),
        })
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
