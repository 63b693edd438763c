//! The `reactions` table.

use sea_orm::entity::prelude::*;
use talk_types::{AgentId, MessageId};

/// One agent's emoji on one message.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reactions")]
pub struct Model {
    /// Insertion order.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The message.
    pub message_id: MessageId,
    /// The agent who reacted.
    pub owner_id: AgentId,
    /// The emoji, as sent.
    pub emoji: String,
    /// When it was added.
    pub tm_create: DateTimeUtc,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
