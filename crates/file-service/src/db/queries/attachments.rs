//! Queries on `attachments`.

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Set};
use talk_types::time::Timestamp;
use talk_types::{CustomerId, TalkId};

use crate::FileId;
use crate::db::entities::attachment::{ActiveModel, Column, Entity};

/// Records that `file` was posted in `talk` (once per talk).
pub async fn attach<C: ConnectionTrait>(
    conn: &C,
    customer: CustomerId,
    file: FileId,
    talk: TalkId,
    now: Timestamp,
) -> Result<(), DbErr> {
    let row = ActiveModel {
        file_id: Set(file),
        talk_id: Set(talk),
        customer_id: Set(customer),
        tm_create: Set(now),
    };
    Entity::insert_many([row])
        .on_conflict_do_nothing_on([Column::FileId, Column::TalkId])
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// The talks (at most `limit`) `file` of `customer` was posted in.
pub async fn talks_of<C: ConnectionTrait>(
    conn: &C,
    customer: CustomerId,
    file: FileId,
    limit: u64,
) -> Result<Vec<TalkId>, DbErr> {
    Entity::find()
        .filter(Column::CustomerId.eq(customer))
        .filter(Column::FileId.eq(file))
        .limit(limit)
        .all(conn)
        .await
        .map(|rows| rows.into_iter().map(|r| r.talk_id).collect())
}
