//! The `edits` table: previous versions of edited messages.

use sea_orm::entity::prelude::*;
use talk_types::MessageId;

/// A text a message had before an edit replaced it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "edits")]
pub struct Model {
    /// Edit order.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The message.
    pub message_id: MessageId,
    /// The replaced text.
    #[sea_orm(column_type = "Text")]
    pub text: String,
    /// When it was replaced.
    pub tm_edit: DateTimeUtc,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
