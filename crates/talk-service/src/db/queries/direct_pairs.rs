//! Queries on `direct_pairs`.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect,
    TryInsertResult,
};
use talk_types::{AgentId, CustomerId, TalkId};

use crate::db::entities::direct_pair;

/// The pair's key: the two agents in a fixed order.
fn ordered(a: AgentId, b: AgentId) -> (AgentId, AgentId) {
    if a <= b { (a, b) } else { (b, a) }
}

/// Records `talk` as the pair's direct talk; false when the pair already has one.
/// Concurrent claims of one pair serialise on the primary key.
pub async fn claim<C: ConnectionTrait>(
    conn: &C,
    customer: CustomerId,
    a: AgentId,
    b: AgentId,
    talk: TalkId,
) -> Result<bool, DbErr> {
    let (low, high) = ordered(a, b);
    let row = direct_pair::Model {
        customer_id: customer.0,
        agent_low: low.0,
        agent_high: high.0,
        talk_id: talk,
    };
    let inserted = direct_pair::Entity::insert(row.into_active_model())
        .on_conflict_do_nothing()
        .exec_without_returning(conn)
        .await?;
    Ok(matches!(inserted, TryInsertResult::Inserted(n) if n > 0))
}

/// The pair's direct talk, if any.
pub async fn find<C: ConnectionTrait>(
    conn: &C,
    customer: CustomerId,
    a: AgentId,
    b: AgentId,
) -> Result<Option<TalkId>, DbErr> {
    let (low, high) = ordered(a, b);
    direct_pair::Entity::find_by_id((customer.0, low.0, high.0))
        .select_only()
        .column(direct_pair::Column::TalkId)
        .into_tuple::<TalkId>()
        .one(conn)
        .await
}

/// Points the pair at another talk (its old one is gone).
pub async fn replace<C: ConnectionTrait>(
    conn: &C,
    customer: CustomerId,
    a: AgentId,
    b: AgentId,
    talk: TalkId,
) -> Result<(), DbErr> {
    let (low, high) = ordered(a, b);
    direct_pair::Entity::update_many()
        .col_expr(
            direct_pair::Column::TalkId,
            sea_orm::sea_query::Expr::value(talk),
        )
        .filter(direct_pair::Column::CustomerId.eq(customer))
        .filter(direct_pair::Column::AgentLow.eq(low))
        .filter(direct_pair::Column::AgentHigh.eq(high))
        .exec(conn)
        .await?;
    Ok(())
}

/// Forgets the pair of a deleted direct talk, so the pair can start a new one.
pub async fn release<C: ConnectionTrait>(
    conn: &C,
    customer: CustomerId,
    talk: TalkId,
) -> Result<(), DbErr> {
    direct_pair::Entity::delete_many()
        .filter(direct_pair::Column::CustomerId.eq(customer))
        .filter(direct_pair::Column::TalkId.eq(talk))
        .exec(conn)
        .await?;
    Ok(())
}
