//! The `direct_pairs` table: one direct talk per pair of agents.

use sea_orm::entity::prelude::*;
use talk_types::{AgentId, CustomerId, TalkId};

/// The direct talk of a pair; the primary key makes creation race-safe.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "direct_pairs")]
pub struct Model {
    /// The customer.
    #[sea_orm(primary_key, auto_increment = false)]
    pub customer_id: CustomerId,
    /// The smaller agent id of the pair.
    #[sea_orm(primary_key, auto_increment = false)]
    pub agent_low: AgentId,
    /// The larger agent id of the pair.
    #[sea_orm(primary_key, auto_increment = false)]
    pub agent_high: AgentId,
    /// Their direct talk.
    pub talk_id: TalkId,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
