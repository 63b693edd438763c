//! The `read_states` table.

use sea_orm::entity::prelude::*;
use talk_types::{AgentId, CustomerId, TalkId};

/// How far one agent has read one talk.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "read_states")]
pub struct Model {
    /// The talk.
    #[sea_orm(primary_key, auto_increment = false)]
    pub talk_id: TalkId,
    /// The reader.
    #[sea_orm(primary_key, auto_increment = false)]
    pub agent_id: AgentId,
    /// The customer of both.
    pub customer_id: CustomerId,
    /// Seq of the newest message read.
    pub last_read_seq: i64,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
