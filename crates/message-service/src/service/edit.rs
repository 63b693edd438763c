//! Editing and deleting one's own messages.

use sea_orm::{DatabaseTransaction, IntoActiveModel, Set};
use talk_events::kinds::{MessageDeleted, MessageUpdated};
use talk_proto::{Message, WriteOptions};
use talk_store::db_error;
use talk_types::{ApiError, MessageId, Reason, time};

use super::{Caller, Messages, Operation, Scope, load, next_change, validate};
use crate::db::entities::message;
use crate::db::queries::{edits, messages};

impl Messages {
    /// [`Messages::begin_change`] of a message the caller must be the author of.
    async fn begin_own_change(
        &self,
        caller: &Caller,
        id: MessageId,
        scope: &Scope,
        options: Option<&WriteOptions>,
    ) -> Result<Result<(DatabaseTransaction, message::Model, Vec<String>), Message>, ApiError> {
        let begun = self
            .begin_change::<Message>(caller, id, scope, options)
            .await?;
        if let Ok((_, row, _)) = &begun
            && (row.owner_type != "agent" || row.owner_id != caller.agent_id.0)
        {
            return Err(ApiError::of(
                Reason::NotMessageOwner,
                "Only the author of a message can change it.",
            ));
        }
        Ok(begun)
    }

    /// Replaces the text of the caller's message, keeping the previous one in its history.
    pub async fn edit(
        &self,
        caller: &Caller,
        options: Option<&WriteOptions>,
        id: MessageId,
        text: String,
    ) -> Result<Message, ApiError> {
        let scope = Scope::new(caller.agent_id, Operation::EditMessage, id);
        let (txn, row, audience) = match self.begin_own_change(caller, id, &scope, options).await? {
            Ok(begun) => begun,
            Err(replay) => return Ok(replay),
        };
        validate::text(&text, row.medias != "[]")?;
        let now = time::now();
        let change_seq = next_change(&txn, &row).await?;
        edits::insert(&txn, row.id, row.text.clone(), now)
            .await
            .map_err(db_error)?;
        let mut change = row.into_active_model();
        change.text = Set(text);
        change.tm_update = Set(now);
        change.change_seq = Set(change_seq);
        let row = messages::update(&txn, change).await.map_err(db_error)?;
        let (customer, talk) = (row.customer_id, row.talk_id);
        let message = load(&txn, row).await?;
        self.announce(
            &txn,
            MessageUpdated(message.clone()),
            customer,
            talk,
            audience,
        )
        .await?;
        self.finish(txn, &scope, options, &message).await?;
        Ok(message)
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
        let (txn, row, audience) = match self.begin_own_change(caller, id, &scope, options).await? {
            Ok(begun) => begun,
            Err(replay) => return Ok(replay),
        };
        let now = time::now();
        let change_seq = next_change(&txn, &row).await?;
        edits::delete_all(&txn, row.id).await.map_err(db_error)?;
        let mut change = row.into_active_model();
        change.text = Set(String::new());
        change.medias = Set("[]".to_owned());
        change.tm_update = Set(now);
        change.tm_delete = Set(Some(now));
        change.change_seq = Set(change_seq);
        let row = messages::update(&txn, change).await.map_err(db_error)?;
        let (customer, talk) = (row.customer_id, row.talk_id);
        let message = load(&txn, row).await?;
        self.announce(
            &txn,
            MessageDeleted(message.clone()),
            customer,
            talk,
            audience,
        )
        .await?;
        self.finish(txn, &scope, options, &message).await?;
        Ok(message)
    }
}
