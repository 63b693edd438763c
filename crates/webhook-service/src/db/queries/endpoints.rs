//! Queries on `endpoints`.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use talk_types::CustomerId;
use talk_types::time::Timestamp;

use crate::WebhookId;
use crate::db::entities::endpoint::{ActiveModel, Column, Entity, Model};

/// How many endpoints `customer` has.
pub async fn count<C: ConnectionTrait>(conn: &C, customer: CustomerId) -> Result<u64, DbErr> {
    Entity::find()
        .filter(Column::CustomerId.eq(customer))
        .count(conn)
        .await
}

/// Stores a new endpoint.
pub async fn insert<C: ConnectionTrait>(conn: &C, row: Model) -> Result<Model, DbErr> {
    row.into_active_model().insert(conn).await
}

/// `customer`'s endpoints, newest first.
pub async fn list<C: ConnectionTrait>(conn: &C, customer: CustomerId) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::CustomerId.eq(customer))
        .order_by_desc(Column::Id)
        .all(conn)
        .await
}

/// Endpoint `id` of `customer`.
pub async fn find<C: ConnectionTrait>(
    conn: &C,
    customer: CustomerId,
    id: WebhookId,
) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id)
        .filter(Column::CustomerId.eq(customer))
        .one(conn)
        .await
}

/// Endpoint `id` whoever's it is (the dispatcher, holding a delivery of it).
pub async fn find_by_id<C: ConnectionTrait>(
    conn: &C,
    id: WebhookId,
) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id).one(conn).await
}

/// Writes the changed columns of `row`.
pub async fn update<C: ConnectionTrait>(conn: &C, row: ActiveModel) -> Result<Model, DbErr> {
    row.update(conn).await
}

/// Deletes endpoint `id` of `customer` (its deliveries go with it).
pub async fn delete<C: ConnectionTrait>(
    conn: &C,
    customer: CustomerId,
    id: WebhookId,
) -> Result<bool, DbErr> {
    let done = Entity::delete_many()
        .filter(Column::Id.eq(id))
        .filter(Column::CustomerId.eq(customer))
        .exec(conn)
        .await?;
    Ok(done.rows_affected == 1)
}

/// The endpoints of `customers`, enabled or not.
pub async fn of_customers<C: ConnectionTrait>(
    conn: &C,
    customers: impl IntoIterator<Item = CustomerId>,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::CustomerId.is_in(customers))
        .all(conn)
        .await
}

/// An attempt to `id` succeeded: its run of failures ends.
pub async fn succeeded<C: ConnectionTrait>(conn: &C, id: WebhookId) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::ConsecutiveFailures, Expr::value(0))
        .col_expr(
            Column::TmFailingSince,
            Expr::value(Option::<Timestamp>::None),
        )
        .filter(Column::Id.eq(id))
        .filter(Column::ConsecutiveFailures.ne(0))
        .exec(conn)
        .await?;
    Ok(())
}

/// An attempt to `id` failed at `now`: the run of failures grows (and
/// starts at `now` when there was none). Answers the endpoint after.
pub async fn failed<C: ConnectionTrait>(
    conn: &C,
    id: WebhookId,
    now: Timestamp,
) -> Result<Option<Model>, DbErr> {
    Entity::update_many()
        .col_expr(
            Column::ConsecutiveFailures,
            Expr::col(Column::ConsecutiveFailures).add(1),
        )
        .filter(Column::Id.eq(id))
        .exec(conn)
        .await?;
    Entity::update_many()
        .col_expr(Column::TmFailingSince, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::TmFailingSince.is_null())
        .exec(conn)
        .await?;
    find_by_id(conn, id).await
}

/// Disables `id` for `reason` (`manual` or `failing`).
pub async fn disable<C: ConnectionTrait>(
    conn: &C,
    id: WebhookId,
    reason: &str,
    now: Timestamp,
) -> Result<(), DbErr> {
    let row = ActiveModel {
        id: Set(id),
        disabled_reason: Set(Some(reason.to_owned())),
        tm_update: Set(now),
        ..Default::default()
    };
    Entity::update(row).exec(conn).await?;
    Ok(())
}
