//! Queries on `read_states`.

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set};
use talk_types::{AgentId, CustomerId, TalkId};

use crate::db::entities::read_state::{ActiveModel, Column, Entity, Model};

/// Moves `agent`'s read position in `talk` up to `seq`; never backwards.
pub async fn advance<C: ConnectionTrait>(
    db: &C,
    customer: CustomerId,
    talk: TalkId,
    agent: AgentId,
    seq: i64,
) -> Result<(), DbErr> {
    let row = ActiveModel {
        talk_id: Set(talk),
        agent_id: Set(agent),
        customer_id: Set(customer),
        last_read_seq: Set(seq),
    };
    let current = Expr::col((Entity, Column::LastReadSeq));
    Entity::insert(row)
        .on_conflict(
            OnConflict::columns([Column::TalkId, Column::AgentId])
                .value(
                    Column::LastReadSeq,
                    Expr::case(current.clone().gt(seq), current).finally(seq),
                )
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The read positions of `talk` at or past `seq`, by agent id.
pub async fn readers<C: ConnectionTrait>(
    db: &C,
    customer: CustomerId,
    talk: TalkId,
    seq: i64,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::CustomerId.eq(customer))
        .filter(Column::TalkId.eq(talk))
        .filter(Column::LastReadSeq.gte(seq))
        .order_by_asc(Column::AgentId)
        .all(db)
        .await
}

/// `agent`'s read positions in `talks`.
pub async fn find_many<C: ConnectionTrait>(
    db: &C,
    customer: CustomerId,
    agent: AgentId,
    talks: &[TalkId],
) -> Result<Vec<Model>, DbErr> {
    if talks.is_empty() {
        return Ok(Vec::new());
    }
    Entity::find()
        .filter(Column::CustomerId.eq(customer))
        .filter(Column::AgentId.eq(agent))
        .filter(Column::TalkId.is_in(talks.iter().copied()))
        .all(db)
        .await
}
