//! Queries on `customers`.

use sea_orm::{ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, Set};
use talk_types::{CustomerId, time::Timestamp};

use crate::db::entities::customer;

/// How many customers exist (bootstrap runs only on an empty database).
pub async fn count<C: ConnectionTrait>(db: &C) -> Result<u64, DbErr> {
    customer::Entity::find().count(db).await
}

/// Inserts a customer.
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    id: CustomerId,
    name: &str,
    now: Timestamp,
) -> Result<(), DbErr> {
    customer::Entity::insert(customer::ActiveModel {
        id: Set(id.0),
        name: Set(name.to_owned()),
        tm_create: Set(now),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}
