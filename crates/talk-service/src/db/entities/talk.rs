//! The `talks` table.

use sea_orm::entity::prelude::*;
use talk_types::{CustomerId, TalkId};
use uuid::Uuid;

/// What kind of talk it is; decides who may see and join it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum TalkType {
    /// One-to-one, de-duplicated per pair.
    #[sea_orm(string_value = "direct")]
    Direct,
    /// Private, invite-only.
    #[sea_orm(string_value = "group")]
    Group,
    /// A public channel of the customer.
    #[sea_orm(string_value = "talk")]
    Talk,
}

impl TalkType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Group => "group",
            Self::Talk => "talk",
        }
    }
}

/// Whether a talk accepts new messages and participants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum TalkState {
    /// Open.
    #[sea_orm(string_value = "active")]
    Active,
    /// Closed (by hand, or when the last participant left).
    #[sea_orm(string_value = "closed")]
    Closed,
}

impl TalkState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Closed => "closed",
        }
    }
}

/// Why a talk was closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum CloseReason {
    /// Closed by an owner, moderator or admin.
    #[sea_orm(string_value = "manual")]
    Manual,
    /// Its last participant left.
    #[sea_orm(string_value = "last_left")]
    LastLeft,
    /// Archived: no activity for longer than its customer's setting.
    #[sea_orm(string_value = "inactivity")]
    Inactivity,
}

impl CloseReason {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::LastLeft => "last_left",
            Self::Inactivity => "inactivity",
        }
    }
}

/// One talk ("chat").
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "talks")]
pub struct Model {
    /// Its id (a bare `Uuid`: sea-orm primary keys need `TryFromU64`; see [`Model::talk_id`]).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The customer it belongs to.
    pub customer_id: CustomerId,
    /// direct | group | talk.
    #[sea_orm(column_name = "type")]
    pub kind: TalkType,
    /// Display name (≤ 255 characters).
    pub name: String,
    /// Description (≤ 4096 characters).
    pub detail: String,
    /// active | closed.
    pub state: TalkState,
    /// Number of active participants.
    pub member_count: i32,
    /// Created at.
    pub tm_create: DateTimeUtc,
    /// Last changed at.
    pub tm_update: DateTimeUtc,
    /// Soft-deleted at.
    pub tm_delete: Option<DateTimeUtc>,
    /// Last activity: its newest message, its creation or its last reopen,
    /// whichever is latest (what archiving inactive talks goes by).
    pub tm_activity: DateTimeUtc,
    /// Why it is closed; `None` while open (and for talks closed before the
    /// reason was recorded).
    pub close_reason: Option<CloseReason>,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The typed id.
    pub fn talk_id(&self) -> TalkId {
        TalkId(self.id)
    }

    /// Closes it for `reason` at `now`.
    pub fn close(&mut self, reason: CloseReason, now: DateTimeUtc) {
        self.state = TalkState::Closed;
        self.close_reason = Some(reason);
        self.tm_update = now;
    }

    /// Reopens it at `now`, which counts as activity: a reopened talk is
    /// archived again only after as many days without activity.
    pub fn reopen(&mut self, now: DateTimeUtc) {
        self.state = TalkState::Active;
        self.close_reason = None;
        self.tm_update = now;
        self.tm_activity = self.tm_activity.max(now);
    }
}
