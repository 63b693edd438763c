//! The `customer_talks` table: how many live talks each customer has.

use sea_orm::entity::prelude::*;
use uuid::Uuid;

/// A customer's live (not deleted) talks, counted as they are created and
/// deleted; its row lock orders a customer's creates, so the cap holds.
/// The key is a bare `Uuid` because sea-orm primary keys need `TryFromU64`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "customer_talks")]
pub struct Model {
    /// The customer.
    #[sea_orm(primary_key, auto_increment = false)]
    pub customer_id: Uuid,
    /// Its talks that are not deleted.
    pub live: i64,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
