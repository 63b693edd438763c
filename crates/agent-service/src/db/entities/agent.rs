//! The `agents` table: people or bots of one customer, with their password hash.

use sea_orm::entity::prelude::*;
use talk_types::{AgentId, CustomerId};

/// One agent. `password_hash` is an argon2 PHC string and never leaves the service.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "agents")]
pub struct Model {
    /// Agent id (a bare `Uuid` because sea-orm primary keys need `TryFromU64`;
    /// read it as [`Model::agent_id`]).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The customer the agent belongs to.
    pub customer_id: CustomerId,
    /// Login name, unique among live agents of all customers.
    pub username: String,
    /// Argon2 PHC string; empty for an agent without a password (a bot).
    pub password_hash: String,
    /// Display name.
    pub name: String,
    /// Free text.
    pub detail: String,
    /// VoIPBIN ring method (`ringall`).
    pub ring_method: String,
    /// VoIPBIN agent status (`available`).
    pub status: String,
    /// VoIPBIN permission bitmask (stored wide; always fits a u32).
    pub permission: i64,
    /// When it was created.
    pub tm_create: DateTimeUtc,
    /// When it was last changed.
    pub tm_update: DateTimeUtc,
    /// When it was soft-deleted.
    pub tm_delete: Option<DateTimeUtc>,
    /// Its tokens' version: a token issued at a lower one is revoked.
    pub token_version: i64,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("id", &self.id)
            .field("customer_id", &self.customer_id)
            .field("username", &self.username)
            .field("permission", &self.permission)
            .finish_non_exhaustive()
    }
}

impl Model {
    /// The typed id.
    pub fn agent_id(&self) -> AgentId {
        AgentId(self.id)
    }

    /// The permission bitmask as the wire carries it.
    pub fn permission_bits(&self) -> u32 {
        u32::try_from(self.permission).unwrap_or(0)
    }
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
