//! Refresh tokens: issue, find, use once.

use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use talk_types::time::Timestamp;
use uuid::Uuid;

use crate::db::entities::refresh_token::{ActiveModel, Column, Entity, Model};

/// Stores a newly issued token.
pub async fn insert<C: ConnectionTrait>(db: &C, row: Model) -> Result<(), DbErr> {
    let active = ActiveModel {
        id: ActiveValue::Set(row.id),
        agent_id: ActiveValue::Set(row.agent_id),
        customer_id: ActiveValue::Set(row.customer_id),
        secret_hash: ActiveValue::Set(row.secret_hash),
        token_version: ActiveValue::Set(row.token_version),
        tm_create: ActiveValue::Set(row.tm_create),
        tm_expire: ActiveValue::Set(row.tm_expire),
        tm_used: ActiveValue::Set(row.tm_used),
    };
    Entity::insert(active).exec_without_returning(db).await?;
    Ok(())
}

/// The token with `id`, used or not.
pub async fn find<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id).one(db).await
}

/// Marks the token used unless it was already: true when this call used it
/// (of two concurrent uses, exactly one gets true).
pub async fn use_once<C: ConnectionTrait>(db: &C, id: Uuid, now: Timestamp) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::TmUsed, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::TmUsed.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}
