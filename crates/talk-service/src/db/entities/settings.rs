//! The `customer_settings` table: each customer's talk settings.

use sea_orm::entity::prelude::*;
use uuid::Uuid;

/// One customer's settings; a customer without a row has the defaults
/// (archiving off). The key is a bare `Uuid` because sea-orm primary keys
/// need `TryFromU64`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "customer_settings")]
pub struct Model {
    /// The customer.
    #[sea_orm(primary_key, auto_increment = false)]
    pub customer_id: Uuid,
    /// Days without activity after which its group and public talks are
    /// closed; `None`: never.
    pub archive_inactive_days: Option<i32>,
    /// Last changed at.
    pub tm_update: DateTimeUtc,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
