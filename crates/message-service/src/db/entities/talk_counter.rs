//! The `talk_counters` table: per-talk counters whose row lock orders writes.

use sea_orm::entity::prelude::*;
use talk_types::{CustomerId, TalkId};

/// The counters of one talk.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "talk_counters")]
pub struct Model {
    /// The talk.
    #[sea_orm(primary_key, auto_increment = false)]
    pub talk_id: TalkId,
    /// The customer of the talk.
    pub customer_id: CustomerId,
    /// Seq of the newest message.
    pub last_seq: i64,
    /// Number of the newest change (post, edit, delete, reaction).
    pub last_change: i64,
    /// `tm_create` of the newest message, in microseconds; keeps `tm_create`
    /// strictly increasing with `seq` so time-based pages never tie.
    pub last_tm_create: i64,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
