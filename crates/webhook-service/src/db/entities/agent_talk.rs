//! The `agent_talks` table: the talks an agent with an endpoint of its own
//! is in, as the consumer has seen them (one row per agent and talk).

use sea_orm::entity::prelude::*;
use talk_types::{AgentId, TalkId};

/// One agent in one talk.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "agent_talks")]
pub struct Model {
    /// The agent.
    #[sea_orm(primary_key, auto_increment = false)]
    pub agent_id: AgentId,
    /// A talk it is in.
    #[sea_orm(primary_key, auto_increment = false)]
    pub talk_id: TalkId,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
