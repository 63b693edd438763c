//! Queries on `talk_counters`. Bumping a talk's counter takes its row lock, which
//! serialises the writes of one talk and so orders seqs and outbox events.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};
use talk_types::{CustomerId, TalkId};

use crate::db::entities::talk_counter::{ActiveModel, Column, Entity, Model};

/// Creates the talk's counters if it has none yet.
pub async fn ensure<C: ConnectionTrait>(
    db: &C,
    customer: CustomerId,
    talk: TalkId,
) -> Result<(), DbErr> {
    let row = ActiveModel {
        talk_id: Set(talk),
        customer_id: Set(customer),
        last_seq: Set(0),
        last_change: Set(0),
        last_tm_create: Set(0),
    };
    Entity::insert(row)
        .on_conflict_do_nothing()
        .exec_without_returning(db)
        .await?;
    Ok(())
}

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
/// transaction ends; returns the new values.
pub async fn bump<C: ConnectionTrait>(
    db: &C,
    customer: CustomerId,
    talk: TalkId,
    bump: Bump,
) -> Result<Model, DbErr> {
    ensure(db, customer, talk).await?;
    let mut update = Entity::update_many()
        .col_expr(
            Column::LastChange,
            Expr::col(Column::LastChange).add(bump.changes),
        )
        .filter(Column::TalkId.eq(talk))
        .filter(Column::CustomerId.eq(customer));
    if let Some(now) = bump.message_at {
        update = update
            .col_expr(Column::LastSeq, Expr::col(Column::LastSeq).add(1))
            .col_expr(
                Column::LastTmCreate,
                Expr::case(
                    Expr::col(Column::LastTmCreate).gte(now),
                    Expr::col(Column::LastTmCreate).add(1),
                )
                .finally(now)
                .into(),
            );
    }
    update
        .exec_with_returning(db)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| DbErr::RecordNotFound("talk counters of another customer".into()))
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
