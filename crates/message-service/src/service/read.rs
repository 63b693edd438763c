//! Reading messages: one, a page of a talk, a thread, an edit history, and
//! what changed in a talk since a change number.

use talk_proto::{Edit, Message, MessagePage, PageRequest};
use talk_store::db_error;
use talk_types::{ApiError, CustomerId, MessageId, Reason, TalkId, time};

use super::{Caller, Messages, load, load_many, not_found, validate};
use crate::db::entities::message;
use crate::db::queries::{edits, messages};
use crate::wire;

/// Largest catch-up batch.
pub const MAX_CHANGES: u32 = 500;

/// Most ids one `DeletedAmong` call may name.
pub const MAX_DELETED_AMONG: usize = 1_000;

impl Messages {
    /// The deleted messages of `customer` among `ids`, with when they were
    /// deleted (the push-gateway redacts them in a replay).
    pub async fn deleted_among(
        &self,
        customer: CustomerId,
        ids: &[MessageId],
    ) -> Result<Vec<(MessageId, time::Timestamp)>, ApiError> {
        if ids.len() > MAX_DELETED_AMONG {
            return Err(ApiError::of(
                Reason::TooManyIds,
                format!("At most {MAX_DELETED_AMONG} message ids at once."),
            ));
        }
        messages::deleted_among(&self.db, customer, ids)
            .await
            .map_err(db_error)
    }

    /// A message the caller may read, checked with talk-service.
    pub(super) async fn readable(
        &self,
        caller: &Caller,
        id: MessageId,
    ) -> Result<message::Model, ApiError> {
        let row = messages::find(&self.db, caller.customer_id, id)
            .await
            .map_err(db_error)?
            .ok_or_else(not_found)?;
        self.access(caller, row.talk_id).await?;
        Ok(row)
    }

    /// One message.
    pub async fn get(&self, caller: &Caller, id: MessageId) -> Result<Message, ApiError> {
        let row = self.readable(caller, id).await?;
        load(&self.db, row).await
    }

    /// A page of a talk's messages, newest first (VoIPBIN paging by `tm_create`).
    pub async fn list(
        &self,
        caller: &Caller,
        talk: TalkId,
        page: Option<&PageRequest>,
    ) -> Result<MessagePage, ApiError> {
        let (size, before) = validate::page(page)?;
        self.access(caller, talk).await?;
        let rows = messages::page(&self.db, caller.customer_id, talk, before, size)
            .await
            .map_err(db_error)?;
        let next_page_token = rows
            .last()
            .map(|r| time::format(&r.tm_create))
            .unwrap_or_default();
        Ok(MessagePage {
            messages: load_many(&self.db, rows).await?,
            next_page_token,
        })
    }

    /// A message and every reply under it, at any depth, in seq order.
    pub async fn thread(&self, caller: &Caller, id: MessageId) -> Result<Vec<Message>, ApiError> {
        let root = self.readable(caller, id).await?;
        let rows = messages::thread(&self.db, &root).await.map_err(db_error)?;
        load_many(&self.db, rows).await
    }

    /// The previous texts of a message, oldest first (none once deleted).
    pub async fn history(&self, caller: &Caller, id: MessageId) -> Result<Vec<Edit>, ApiError> {
        let row = self.readable(caller, id).await?;
        let rows = edits::list(&self.db, row.id).await.map_err(db_error)?;
        Ok(rows.into_iter().map(wire::edit).collect())
    }

    /// Messages of a talk whose last change is after change number `after`, in
    /// change order; at most `limit` (0 or over 500 means 500).
    pub async fn changes(
        &self,
        caller: &Caller,
        talk: TalkId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<Message>, ApiError> {
        let limit = if limit == 0 || limit > MAX_CHANGES {
            MAX_CHANGES
        } else {
            limit
        };
        self.access(caller, talk).await?;
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let rows = messages::changes(&self.db, caller.customer_id, talk, after, u64::from(limit))
            .await
            .map_err(db_error)?;
        load_many(&self.db, rows).await
    }
}
