//! Queries on `agents`. Reads skip soft-deleted rows; all but the login lookup
//! are scoped to one customer.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use talk_types::{AgentId, CustomerId, time::Timestamp};

use crate::db::entities::agent::{self, Column, Entity, Model};

/// The live agent that logs in with `username`, of any customer (usernames are global).
pub async fn find_login<C: ConnectionTrait>(
    db: &C,
    username: &str,
) -> Result<Option<Model>, DbErr> {
    Entity::find()
        .filter(Column::Username.eq(username))
        .filter(Column::TmDelete.is_null())
        .one(db)
        .await
}

/// A live agent of `customer`.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    customer: CustomerId,
    id: AgentId,
) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id.0)
        .filter(Column::CustomerId.eq(customer))
        .filter(Column::TmDelete.is_null())
        .one(db)
        .await
}

/// Like [`find`], locking the row until the transaction ends.
pub async fn find_for_update<C: ConnectionTrait>(
    db: &C,
    customer: CustomerId,
    id: AgentId,
) -> Result<Option<Model>, DbErr> {
    let query = Entity::find_by_id(id.0)
        .filter(Column::CustomerId.eq(customer))
        .filter(Column::TmDelete.is_null());
    let query = if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        query.lock_exclusive()
    } else {
        query
    };
    query.one(db).await
}

/// Live agents of `customer` among `ids`.
pub async fn find_many<C: ConnectionTrait>(
    db: &C,
    customer: CustomerId,
    ids: &[AgentId],
) -> Result<Vec<Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Entity::find()
        .filter(Column::CustomerId.eq(customer))
        .filter(Column::Id.is_in(ids.iter().copied()))
        .filter(Column::TmDelete.is_null())
        .all(db)
        .await
}

/// `(id, token_version)` of the live agents among `ids` (of any customer).
pub async fn token_versions<C: ConnectionTrait>(
    db: &C,
    ids: &[AgentId],
) -> Result<Vec<(AgentId, i64)>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(uuid::Uuid, i64)> = Entity::find()
        .select_only()
        .column(Column::Id)
        .column(Column::TokenVersion)
        .filter(Column::Id.is_in(ids.iter().copied()))
        .filter(Column::TmDelete.is_null())
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(id, v)| (AgentId(id), v)).collect())
}

/// One page of live agents of `customer`, newest first, created strictly before `before`.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    customer: CustomerId,
    before: Option<Timestamp>,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    let mut query = Entity::find()
        .filter(Column::CustomerId.eq(customer))
        .filter(Column::TmDelete.is_null());
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

/// Inserts a new agent; a taken username fails with a unique violation.
pub async fn insert<C: ConnectionTrait>(db: &C, row: Model) -> Result<Model, DbErr> {
    let active: agent::ActiveModel = row.clone().into();
    Entity::insert(active.reset_all())
        .exec_without_returning(db)
        .await?;
    Ok(row)
}

/// Changed columns of an agent; `None` leaves a column as it is.
#[derive(Default)]
pub struct Changes {
    /// New display name.
    pub name: Option<String>,
    /// New detail.
    pub detail: Option<String>,
    /// New argon2 PHC string.
    pub password_hash: Option<String>,
    /// New permission bitmask.
    pub permission: Option<u32>,
    /// New ring method.
    pub ring_method: Option<String>,
    /// New status.
    pub status: Option<String>,
    /// Revoke the agent's tokens (move its token version).
    pub revoke: bool,
}

/// Writes `changes` to an agent of `customer` and stamps `tm_update`.
pub async fn update<C: ConnectionTrait>(
    db: &C,
    customer: CustomerId,
    id: AgentId,
    changes: Changes,
    now: Timestamp,
) -> Result<(), DbErr> {
    let Changes {
        name,
        detail,
        password_hash,
        permission,
        ring_method,
        status,
        revoke,
    } = changes;
    let mut query = Entity::update_many().col_expr(Column::TmUpdate, Expr::value(now));
    if revoke {
        query = query.col_expr(Column::TokenVersion, Expr::col(Column::TokenVersion).add(1));
    }
    if let Some(name) = name {
        query = query.col_expr(Column::Name, Expr::value(name));
    }
    if let Some(detail) = detail {
        query = query.col_expr(Column::Detail, Expr::value(detail));
    }
    if let Some(hash) = password_hash {
        query = query.col_expr(Column::PasswordHash, Expr::value(hash));
    }
    if let Some(permission) = permission {
        query = query.col_expr(Column::Permission, Expr::value(i64::from(permission)));
    }
    if let Some(ring_method) = ring_method {
        query = query.col_expr(Column::RingMethod, Expr::value(ring_method));
    }
    if let Some(status) = status {
        query = query.col_expr(Column::Status, Expr::value(status));
    }
    query
        .filter(Column::Id.eq(id))
        .filter(Column::CustomerId.eq(customer))
        .exec(db)
        .await?;
    Ok(())
}

/// Soft-deletes an agent of `customer`.
pub async fn soft_delete<C: ConnectionTrait>(
    db: &C,
    customer: CustomerId,
    id: AgentId,
    now: Timestamp,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::TmDelete, Expr::value(now))
        .col_expr(Column::TmUpdate, Expr::value(now))
        .col_expr(Column::TokenVersion, Expr::col(Column::TokenVersion).add(1))
        .filter(Column::Id.eq(id))
        .filter(Column::CustomerId.eq(customer))
        .exec(db)
        .await?;
    Ok(())
}
