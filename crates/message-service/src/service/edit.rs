//! Editing and deleting one's own messages.

use sea_orm::{IntoActiveModel, Set};
use talk_events::kinds::{MessageDeleted, MessageUpdated};
use talk_proto::{Message, WriteOptions};
use talk_store::db_error;
use talk_types::{ApiError, MessageId, Reason, time};

use super::{Caller, Change, Messages, Operation, Scope, load, next_change, validate};
use crate::db::entities::message;
use crate::db::queries::{edits, mentions, messages};

/// Previous texts kept per message: an edit past them drops the oldest, so
/// a message edited over and over (a bot's progress line) stays editable
/// while its history stays small.
pub const MAX_EDITS_KEPT: u64 = 50;

impl Messages {
    /// [`Messages::begin_change`] of a message the caller must be the author of.
    async fn begin_own_change(
        &self,
        caller: &Caller,
        id: MessageId,
        scope: &Scope,
        options: Option<&WriteOptions>,
    ) -> Result<Result<Change, Message>, ApiError> {
        let begun = self
            .begin_change::<Message>(caller, id, scope, options)
            .await?;
        if let Ok(change) = &begun
            && (change.row.owner_type != "agent" || change.row.owner_id != caller.agent_id.0)
        {
            return Err(ApiError::of(
                Reason::NotMessageOwner,
                "Only the author of a message can change it.",
            ));
        }
        Ok(begun)
    }

    /// Replaces the text of the caller's message, keeping the previous one in
    /// its history (the newest [`MAX_EDITS_KEPT`] of them).
    pub async fn edit(
        &self,
        caller: &Caller,
        options: Option<&WriteOptions>,
        id: MessageId,
        text: String,
    ) -> Result<Message, ApiError> {
        let scope = Scope::new(caller.agent_id, Operation::EditMessage, id);
        let change = match self.begin_own_change(caller, id, &scope, options).await? {
            Ok(change) => change,
            Err(replay) => return Ok(replay),
        };
        let row = &change.row;
        validate::text(&text, row.medias != "[]")?;
        let mentions = self.mentions(caller, row.talk_id, &text).await?;
        let now = time::now();
        let txn = change.write.txn();
        edits::insert(txn, row.id, row.text.clone(), now)
            .await
            .map_err(db_error)?;
        edits::keep_newest(txn, row.id, MAX_EDITS_KEPT)
            .await
            .map_err(db_error)?;
        let message = rewrite(&change, now, |row| {
            row.text = Set(text);
            row.mentions = Set(mentions);
        })
        .await?;
        change.publish(MessageUpdated, message).await
    }

    /// Soft-deletes the caller's message: text, medias and edit history are
    /// cleared, the row (and so the thread) stays with `tm_delete` set.
    pub async fn delete(
        &self,
        caller: &Caller,
        options: Option<&WriteOptions>,
        id: MessageId,
    ) -> Result<Message, ApiError> {
        let scope = Scope::new(caller.agent_id, Operation::DeleteMessage, id);
        let change = match self.begin_own_change(caller, id, &scope, options).await? {
            Ok(change) => change,
            Err(replay) => return Ok(replay),
        };
        let now = time::now();
        edits::delete_all(change.write.txn(), change.row.id)
            .await
            .map_err(db_error)?;
        let message = rewrite(&change, now, |row| {
            row.text = Set(String::new());
            row.medias = Set("[]".to_owned());
            row.mentions = Set("[]".to_owned());
            row.tm_delete = Set(Some(now));
        })
        .await?;
        change.publish(MessageDeleted, message).await
    }
}

/// Saves the changed message with `fields` set, a new change number and
/// `tm_update` at `now` (reactions too move it, as VoIPBIN does); answers it
/// as the wire shows it.
pub(super) async fn rewrite(
    change: &Change,
    now: time::Timestamp,
    fields: impl FnOnce(&mut message::ActiveModel),
) -> Result<Message, ApiError> {
    let txn = change.write.txn();
    let change_seq = next_change(txn, &change.row).await?;
    let mut row = change.row.clone().into_active_model();
    fields(&mut row);
    row.tm_update = Set(now);
    row.change_seq = Set(change_seq);
    let row = messages::update(txn, row).await.map_err(db_error)?;
    if row.mentions != change.row.mentions {
        mentions::replace(txn, &row).await.map_err(db_error)?;
    }
    load(txn, row).await
}
