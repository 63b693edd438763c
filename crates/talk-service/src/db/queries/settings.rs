//! Queries on `customer_settings`.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Set};
use talk_types::CustomerId;
use talk_types::time::Timestamp;
use uuid::Uuid;

use crate::db::entities::settings::{ActiveModel, Column, Entity, Model};

/// `customer`'s settings row, if it ever set any.
pub async fn find<C: ConnectionTrait>(
    conn: &C,
    customer: CustomerId,
) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(customer.0).one(conn).await
}

/// Sets `customer`'s archiving to `days` (`None`: off) at `now`; the row as
/// it now stands.
pub async fn put<C: ConnectionTrait>(
    conn: &C,
    customer: CustomerId,
    days: Option<i32>,
    now: Timestamp,
) -> Result<Model, DbErr> {
    let row = Model {
        customer_id: customer.0,
        archive_inactive_days: days,
        tm_update: now,
    };
    let active = ActiveModel {
        customer_id: Set(row.customer_id),
        archive_inactive_days: Set(row.archive_inactive_days),
        tm_update: Set(row.tm_update),
    };
    Entity::insert(active)
        .on_conflict(
            OnConflict::column(Column::CustomerId)
                .update_columns([Column::ArchiveInactiveDays, Column::TmUpdate])
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(row)
}

/// Every customer that archives, with its number of days.
pub async fn archiving<C: ConnectionTrait>(conn: &C) -> Result<Vec<(Uuid, i32)>, DbErr> {
    Entity::find()
        .select_only()
        .column(Column::CustomerId)
        .column(Column::ArchiveInactiveDays)
        .filter(Column::ArchiveInactiveDays.is_not_null())
        .into_tuple::<(Uuid, i32)>()
        .all(conn)
        .await
}
