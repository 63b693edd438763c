//! The `direct_pairs` table: one direct talk per pair of agents.

use sea_orm::entity::prelude::*;
use talk_types::TalkId;
use uuid::Uuid;

/// The direct talk of a pair; the primary key makes creation race-safe.
/// Key columns are bare `Uuid`s because sea-orm primary keys need `TryFromU64`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "direct_pairs")]
pub struct Model {
    /// The customer.
    #[sea_orm(primary_key, auto_increment = false)]
    pub customer_id: Uuid,
    /// The smaller agent id of the pair.
    #[sea_orm(primary_key, auto_increment = false)]
    pub agent_low: Uuid,
    /// The larger agent id of the pair.
    #[sea_orm(primary_key, auto_increment = false)]
    pub agent_high: Uuid,
    /// Their direct talk.
    pub talk_id: TalkId,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
