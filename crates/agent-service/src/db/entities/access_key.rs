//! The `access_keys` table: long-lived credentials, each acting as its agent.

use sea_orm::entity::prelude::*;
use talk_types::{AgentId, CustomerId};

/// One access key. Only a SHA-256 of its token is stored: the token is
/// shown once, when the key is created.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "access_keys")]
pub struct Model {
    /// Key id (a bare `Uuid`: sea-orm primary keys need `TryFromU64`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The customer of its agent.
    pub customer_id: CustomerId,
    /// The agent the key acts as.
    pub agent_id: AgentId,
    /// Display name.
    pub name: String,
    /// Free text.
    pub detail: String,
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    /// The token's first characters, for display.
    pub token_prefix: String,
    /// When it stops working; `None`: never.
    pub tm_expire: Option<DateTimeUtc>,
    /// When it was created.
    pub tm_create: DateTimeUtc,
    /// When its name or detail last changed.
    pub tm_update: DateTimeUtc,
    /// When it was deleted (it no longer works).
    pub tm_delete: Option<DateTimeUtc>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey")
            .field("id", &self.id)
            .field("agent_id", &self.agent_id)
            .field("token_prefix", &self.token_prefix)
            .finish_non_exhaustive()
    }
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
