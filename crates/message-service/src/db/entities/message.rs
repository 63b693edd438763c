//! The `messages` table.

use sea_orm::entity::prelude::*;
use talk_types::{CustomerId, MessageId, TalkId};

/// One message. Soft-deleted messages keep their row (and their place in a
/// thread) with text and medias cleared.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "messages")]
pub struct Model {
    /// Message id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: MessageId,
    /// The customer of the talk.
    pub customer_id: CustomerId,
    /// The talk it was posted in.
    pub talk_id: TalkId,
    /// The message it replies to.
    pub parent_id: Option<MessageId>,
    /// `agent`, or `system` for platform messages without an agent.
    pub owner_type: String,
    /// The author: an agent id when `owner_type` is `agent`.
    pub owner_id: Uuid,
    /// `normal` or `system`.
    #[sea_orm(column_name = "type")]
    pub kind: String,
    /// The text (empty once deleted).
    #[sea_orm(column_type = "Text")]
    pub text: String,
    /// The medias as a JSON array, stored as sent.
    #[sea_orm(column_type = "Text")]
    pub medias: String,
    /// Gapless position in the talk, in commit order.
    pub seq: i64,
    /// The talk's change counter at this message's last change.
    pub change_seq: i64,
    /// Number of direct replies.
    pub reply_count: i32,
    /// When it was posted.
    pub tm_create: DateTimeUtc,
    /// When it last changed.
    pub tm_update: DateTimeUtc,
    /// When it was deleted.
    pub tm_delete: Option<DateTimeUtc>,
    /// The mentions in its text as a JSON array of the wire's `Mention`s.
    #[sea_orm(column_type = "Text")]
    pub mentions: String,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
