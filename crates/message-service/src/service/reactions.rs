//! Adding and removing emoji reactions. Each reaction is a row of its own, and
//! the message row is locked while one changes, so concurrent reactions never
//! lose one another and the distinct-emoji cap holds.

use sea_orm::{DatabaseTransaction, IntoActiveModel, Set};
use talk_events::kinds::{ReactionAdded, ReactionRemoved};
use talk_proto::{Message, WriteOptions};
use talk_store::db_error;
use talk_types::{ApiError, MessageId, Reason, time};

use super::{Caller, Messages, Operation, Scope, emoji, load, next_change};
use crate::db::entities::message;
use crate::db::queries::{messages, reactions};

/// Most distinct emoji on one message.
pub const MAX_DISTINCT_EMOJI: usize = 50;

impl Messages {
    /// Adds the caller's `emoji` to a message; adding it again changes nothing
    /// (and announces nothing) but still returns the message.
    pub async fn add_reaction(
        &self,
        caller: &Caller,
        options: Option<&WriteOptions>,
        id: MessageId,
        emoji: String,
    ) -> Result<Message, ApiError> {
        emoji::validate(&emoji)?;
        let scope = Scope::new(caller.agent_id, Operation::AddReaction, id);
        let (txn, row, audience) = match self.begin_change(caller, id, &scope, options).await? {
            Ok(begun) => begun,
            Err(replay) => return Ok(replay),
        };
        if reactions::exists(&txn, id, caller.agent_id, &emoji)
            .await
            .map_err(db_error)?
        {
            let message = load(&txn, row).await?;
            self.finish(txn, &scope, options, &message).await?;
            return Ok(message);
        }
        let present = reactions::distinct_emoji(&txn, id)
            .await
            .map_err(db_error)?;
        if !present.contains(&emoji) && present.len() >= MAX_DISTINCT_EMOJI {
            return Err(ApiError::of(
                Reason::TooManyReactions,
                "A message can carry at most 50 different emoji.",
            ));
        }
        let now = time::now();
        reactions::insert(&txn, id, caller.agent_id, &emoji, now)
            .await
            .map_err(db_error)?;
        let talk = row.talk_id;
        let message = self.stamp(&txn, row, now).await?;
        let customer = caller.customer_id;
        self.announce(
            &txn,
            ReactionAdded(message.clone()),
            customer,
            talk,
            audience,
        )
        .await?;
        self.finish(txn, &scope, options, &message).await?;
        Ok(message)
    }

    /// Removes the caller's `emoji` from a message; 404 when it was not there.
    pub async fn remove_reaction(
        &self,
        caller: &Caller,
        options: Option<&WriteOptions>,
        id: MessageId,
        emoji: String,
    ) -> Result<Message, ApiError> {
        emoji::validate(&emoji)?;
        let scope = Scope::new(caller.agent_id, Operation::RemoveReaction, id);
        let (txn, row, audience) = match self.begin_change(caller, id, &scope, options).await? {
            Ok(begun) => begun,
            Err(replay) => return Ok(replay),
        };
        let removed = reactions::delete(&txn, id, caller.agent_id, &emoji)
            .await
            .map_err(db_error)?;
        if !removed {
            return Err(ApiError::of(
                Reason::ReactionNotFound,
                "You have not reacted to this message with that emoji.",
            ));
        }
        let talk = row.talk_id;
        let message = self.stamp(&txn, row, time::now()).await?;
        let customer = caller.customer_id;
        self.announce(
            &txn,
            ReactionRemoved(message.clone()),
            customer,
            talk,
            audience,
        )
        .await?;
        self.finish(txn, &scope, options, &message).await?;
        Ok(message)
    }

    /// Takes a change number for a reaction change and moves `tm_update` (as VoIPBIN does).
    async fn stamp(
        &self,
        txn: &DatabaseTransaction,
        row: message::Model,
        now: time::Timestamp,
    ) -> Result<Message, ApiError> {
        let change_seq = next_change(txn, &row).await?;
        let mut change = row.into_active_model();
        change.tm_update = Set(now);
        change.change_seq = Set(change_seq);
        let row = messages::update(txn, change).await.map_err(db_error)?;
        load(txn, row).await
    }
}
