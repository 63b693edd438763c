//! Queries on `talk_counters`. Bumping a talk's counter takes its row lock, which
//! serialises the writes of one talk and so orders seqs and outbox events.

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};
use talk_types::{CustomerId, TalkId};

use crate::db::entities::talk_counter::{ActiveModel, Column, Entity, Model};

/// What one bump asks for.
#[derive(Clone, Copy, Debug)]
pub struct Bump {
    /// A new message: `last_seq` + 1 and `last_tm_create` moves to `now_micros`
    /// (or one microsecond past the previous message).
    pub message_at: Option<i64>,
    /// How many change numbers to take.
    pub changes: i64,
}

/// Bumps the talk's counters (creating them first), locking its row until the
/// transaction ends; returns the new values. One upsert: a talk's first bump
/// inserts what a bump of zeroed counters would give.
pub async fn bump<C: ConnectionTrait>(
    db: &C,
    customer: CustomerId,
    talk: TalkId,
    bump: Bump,
) -> Result<Model, DbErr> {
    let current = |column: Column| Expr::col((Entity, column));
    let first = ActiveModel {
        talk_id: Set(talk),
        customer_id: Set(customer),
        last_seq: Set(i64::from(bump.message_at.is_some())),
        last_change: Set(bump.changes),
        last_tm_create: Set(bump.message_at.unwrap_or(0)),
    };
    let mut next = OnConflict::column(Column::TalkId);
    next.value(
        Column::LastChange,
        current(Column::LastChange).add(bump.changes),
    )
    .action_and_where(current(Column::CustomerId).eq(customer));
    if let Some(now) = bump.message_at {
        next.value(Column::LastSeq, current(Column::LastSeq).add(1))
            .value(
                Column::LastTmCreate,
                Expr::case(
                    current(Column::LastTmCreate).gte(now),
                    current(Column::LastTmCreate).add(1),
                )
                .finally(now),
            );
    }
    Entity::insert(first)
        .on_conflict(next.to_owned())
        .exec_with_returning(db)
        .await
        .map_err(|e| match e {
            DbErr::RecordNotInserted => {
                DbErr::RecordNotFound("talk counters of another customer".into())
            }
            other => other,
        })
}

/// The counters of `talks` of `customer` (talks never written to are absent).
pub async fn find_many<C: ConnectionTrait>(
    db: &C,
    customer: CustomerId,
    talks: &[TalkId],
) -> Result<Vec<Model>, DbErr> {
    if talks.is_empty() {
        return Ok(Vec::new());
    }
    Entity::find()
        .filter(Column::CustomerId.eq(customer))
        .filter(Column::TalkId.is_in(talks.iter().copied()))
        .all(db)
        .await
}
