//! The `consumer_cursors` table: where each of talk-service's bus consumers
//! resumes.

use sea_orm::entity::prelude::*;

/// One consumer's position.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "consumer_cursors")]
pub struct Model {
    /// Consumer name.
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// Bus position of the last event handled.
    pub seq: i64,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
