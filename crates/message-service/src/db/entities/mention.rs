//! The `mentions` table: one row per (message, agent it mentions).

use sea_orm::entity::prelude::*;
use talk_types::{AgentId, CustomerId, MessageId, TalkId};

/// An agent mentioned by a live message.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mentions")]
pub struct Model {
    /// The message.
    #[sea_orm(primary_key, auto_increment = false)]
    pub message_id: MessageId,
    /// The agent mentioned.
    #[sea_orm(primary_key, auto_increment = false)]
    pub agent_id: AgentId,
    /// The customer of the talk.
    pub customer_id: CustomerId,
    /// The talk of the message.
    pub talk_id: TalkId,
    /// The message's seq (compared with the agent's read position).
    pub seq: i64,
    /// When the message was posted.
    pub tm_create: DateTimeUtc,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
