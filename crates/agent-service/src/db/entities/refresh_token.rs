//! The `refresh_tokens` table: one row per refresh token issued.

use sea_orm::entity::prelude::*;
use talk_types::{AgentId, CustomerId};

/// One refresh token. The token is `<id>.<secret>`; only a SHA-256 of the
/// secret is stored, so the table cannot be replayed.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refresh_tokens")]
pub struct Model {
    /// The token's id (its part before the dot).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The agent it refreshes.
    pub agent_id: AgentId,
    /// The agent's customer.
    pub customer_id: CustomerId,
    /// Hex SHA-256 of the token's secret.
    pub secret_hash: String,
    /// The agent's token version when issued: a logout, password or
    /// permission change, or delete moves it and the token stops working.
    pub token_version: i64,
    /// When it was issued.
    pub tm_create: DateTimeUtc,
    /// When it stops working.
    pub tm_expire: DateTimeUtc,
    /// When it was traded for the next one; a token is used once.
    pub tm_used: Option<DateTimeUtc>,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
