//! Queries on `access_keys`. Reads skip deleted keys; all but the lookup by
//! token hash and the states the gateway asks for are scoped to one customer.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use talk_types::time::Timestamp;
use talk_types::{AgentId, CustomerId};
use uuid::Uuid;

use crate::db::entities::access_key::{self, Column, Entity, Model};

/// Stores a new key.
pub async fn insert<C: ConnectionTrait>(db: &C, row: Model) -> Result<Model, DbErr> {
    let active: access_key::ActiveModel = row.clone().into();
    Entity::insert(active.reset_all())
        .exec_without_returning(db)
        .await?;
    Ok(row)
}

/// A live key of `customer`, of `agent` only when given.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    customer: CustomerId,
    agent: Option<AgentId>,
    id: Uuid,
) -> Result<Option<Model>, DbErr> {
    let mut query = Entity::find_by_id(id)
        .filter(Column::CustomerId.eq(customer))
        .filter(Column::TmDelete.is_null());
    if let Some(agent) = agent {
        query = query.filter(Column::AgentId.eq(agent));
    }
    query.one(db).await
}

/// The live key whose token hashes to `token_hash`, of any customer.
pub async fn find_by_hash<C: ConnectionTrait>(
    db: &C,
    token_hash: &str,
) -> Result<Option<Model>, DbErr> {
    Entity::find()
        .filter(Column::TokenHash.eq(token_hash))
        .filter(Column::TmDelete.is_null())
        .one(db)
        .await
}

/// One page of live keys of `customer` (of `agent` only when given), newest
/// first, created strictly before `before`.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    customer: CustomerId,
    agent: Option<AgentId>,
    before: Option<Timestamp>,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    let mut query = Entity::find()
        .filter(Column::CustomerId.eq(customer))
        .filter(Column::TmDelete.is_null());
    if let Some(agent) = agent {
        query = query.filter(Column::AgentId.eq(agent));
    }
    if let Some(before) = before {
        query = query.filter(Column::TmCreate.lt(before));
    }
    query
        .order_by_desc(Column::TmCreate)
        .order_by_desc(Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Sets a live key's name and/or detail and stamps `tm_update`.
pub async fn update<C: ConnectionTrait>(
    db: &C,
    customer: CustomerId,
    id: Uuid,
    name: Option<String>,
    detail: Option<String>,
    now: Timestamp,
) -> Result<(), DbErr> {
    let mut query = Entity::update_many().col_expr(Column::TmUpdate, Expr::value(now));
    if let Some(name) = name {
        query = query.col_expr(Column::Name, Expr::value(name));
    }
    if let Some(detail) = detail {
        query = query.col_expr(Column::Detail, Expr::value(detail));
    }
    query
        .filter(Column::Id.eq(id))
        .filter(Column::CustomerId.eq(customer))
        .filter(Column::TmDelete.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Soft-deletes a live key of `customer`; whether this call deleted it.
pub async fn soft_delete<C: ConnectionTrait>(
    db: &C,
    customer: CustomerId,
    id: Uuid,
    now: Timestamp,
) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::TmDelete, Expr::value(now))
        .col_expr(Column::TmUpdate, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::CustomerId.eq(customer))
        .filter(Column::TmDelete.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Soft-deletes every live key of an agent of `customer` (the agent is
/// being deleted).
pub async fn delete_of_agent<C: ConnectionTrait>(
    db: &C,
    customer: CustomerId,
    agent: AgentId,
    now: Timestamp,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::TmDelete, Expr::value(now))
        .col_expr(Column::TmUpdate, Expr::value(now))
        .filter(Column::AgentId.eq(agent))
        .filter(Column::CustomerId.eq(customer))
        .filter(Column::TmDelete.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// `(id, agent_id)` of the keys among `ids` that are live and unexpired at
/// `now`, of any customer.
pub async fn live_among<C: ConnectionTrait>(
    db: &C,
    ids: &[Uuid],
    now: Timestamp,
) -> Result<Vec<(Uuid, AgentId)>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(Uuid, Uuid)> = Entity::find()
        .select_only()
        .column(Column::Id)
        .column(Column::AgentId)
        .filter(Column::Id.is_in(ids.iter().copied()))
        .filter(Column::TmDelete.is_null())
        .filter(
            Condition::any()
                .add(Column::TmExpire.is_null())
                .add(Column::TmExpire.gt(now)),
        )
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, agent)| (id, AgentId(agent)))
        .collect())
}
