//! The `participants` table.

use sea_orm::entity::prelude::*;
use talk_types::{AgentId, CustomerId, ParticipantId, TalkId};
use uuid::Uuid;

/// Whether a participant record is current.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ParticipantState {
    /// In the talk.
    #[sea_orm(string_value = "active")]
    Active,
    /// Left or removed; re-adding makes a new record.
    #[sea_orm(string_value = "left")]
    Left,
}

impl ParticipantState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Left => "left",
        }
    }
}

/// What a participant may do in its talk (`docs/DOMAIN.md`, "Roles").
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Role {
    /// The creator (both agents of a direct talk).
    #[sea_orm(string_value = "owner")]
    Owner,
    /// Appointed by an owner or an admin.
    #[sea_orm(string_value = "moderator")]
    Moderator,
    /// Everyone else.
    #[sea_orm(string_value = "member")]
    Member,
}

impl Role {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Moderator => "moderator",
            Self::Member => "member",
        }
    }
}

/// The only owner type so far.
pub const OWNER_AGENT: &str = "agent";

/// One membership of an owner in a talk.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "participants")]
pub struct Model {
    /// The record id (what DELETE …/participants/{id} names).
    /// A bare `Uuid` because sea-orm primary keys need `TryFromU64`; see [`Model::participant_id`].
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The customer of the talk.
    pub customer_id: CustomerId,
    /// The talk.
    pub talk_id: TalkId,
    /// `agent`.
    pub owner_type: String,
    /// The agent.
    pub owner_id: AgentId,
    /// active | left.
    pub state: ParticipantState,
    /// owner | moderator | member.
    pub role: Role,
    /// Joined at.
    pub tm_joined: DateTimeUtc,
    /// Left at.
    pub tm_left: Option<DateTimeUtc>,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The typed id.
    pub fn participant_id(&self) -> ParticipantId {
        ParticipantId(self.id)
    }
}
