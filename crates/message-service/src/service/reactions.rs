//! Adding and removing emoji reactions. Each reaction is a row of its own, and
//! the message row is locked while one changes, so concurrent reactions never
//! lose one another and the distinct-emoji cap holds. Emoji are stored in
//! their canonical form (`emoji::normalize`): every spelling of one emoji is
//! one reaction.

use talk_events::kinds::{ReactionAdded, ReactionRemoved};
use talk_proto::{Message, WriteOptions};
use talk_store::db_error;
use talk_types::{ApiError, MessageId, Reason, time};

use super::edit::rewrite;
use super::{Caller, Messages, Operation, Scope, emoji, load};
use crate::db::queries::reactions;

/// Most distinct emoji on one message.
pub const MAX_DISTINCT_EMOJI: usize = 50;

impl Messages {
    /// Adds the caller's `emoji` to a message; adding it again (in any
    /// spelling) changes nothing (and announces nothing) but still returns the
    /// message.
    pub async fn add_reaction(
        &self,
        caller: &Caller,
        options: Option<&WriteOptions>,
        id: MessageId,
        emoji: String,
    ) -> Result<Message, ApiError> {
        let emoji = emoji::normalize(&emoji)?;
        let scope = Scope::new(caller.agent_id, Operation::AddReaction, id);
        let change = match self.begin_change(caller, id, &scope, options).await? {
            Ok(change) => change,
            Err(replay) => return Ok(replay),
        };
        let txn = change.write.txn();
        if reactions::exists(txn, id, caller.agent_id, &emoji)
            .await
            .map_err(db_error)?
        {
            let message = load(txn, change.row).await?;
            change.write.commit(&message).await?;
            return Ok(message);
        }
        let present = reactions::distinct_emoji(txn, id).await.map_err(db_error)?;
        if !present.contains(&emoji) && present.len() >= MAX_DISTINCT_EMOJI {
            return Err(ApiError::of(
                Reason::TooManyReactions,
                "A message can carry at most 50 different emoji.",
            ));
        }
        let now = time::now();
        reactions::insert(txn, id, caller.agent_id, &emoji, now)
            .await
            .map_err(db_error)?;
        let message = rewrite(&change, now, |_| {}).await?;
        change.publish(ReactionAdded, message).await
    }

    /// Removes the caller's `emoji` (in any spelling) from a message; 404 when
    /// it was not there. A value that is no emoji still removes a reaction
    /// stored exactly so before emoji were normalised (`:shipit:`), else 400.
    pub async fn remove_reaction(
        &self,
        caller: &Caller,
        options: Option<&WriteOptions>,
        id: MessageId,
        emoji: String,
    ) -> Result<Message, ApiError> {
        let (emoji, invalid) = match emoji::normalize(&emoji) {
            Ok(canonical) => (canonical, None),
            Err(e) => (emoji, Some(e)),
        };
        let scope = Scope::new(caller.agent_id, Operation::RemoveReaction, id);
        let change = match self.begin_change(caller, id, &scope, options).await? {
            Ok(change) => change,
            Err(replay) => return Ok(replay),
        };
        let removed = reactions::delete(change.write.txn(), id, caller.agent_id, &emoji)
            .await
            .map_err(db_error)?;
        if !removed {
            if let Some(invalid) = invalid {
                return Err(invalid);
            }
            return Err(ApiError::of(
                Reason::ReactionNotFound,
                "You have not reacted to this message with that emoji.",
            ));
        }
        let message = rewrite(&change, time::now(), |_| {}).await?;
        change.publish(ReactionRemoved, message).await
    }
}
