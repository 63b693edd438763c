//! Queries on `edits`.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use talk_types::{MessageId, time::Timestamp};

use crate::db::entities::edit::{ActiveModel, Column, Entity, Model};

/// Keeps `text` as a previous version of `message`, replaced at `at`.
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    message: MessageId,
    text: String,
    at: Timestamp,
) -> Result<(), DbErr> {
    let row = ActiveModel {
        message_id: Set(message),
        text: Set(text),
        tm_edit: Set(at),
        ..Default::default()
    };
    Entity::insert(row).exec_without_returning(db).await?;
    Ok(())
}

/// Previous versions of `message` (already customer-checked), oldest first.
pub async fn list<C: ConnectionTrait>(db: &C, message: MessageId) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::MessageId.eq(message))
        .order_by_asc(Column::Id)
        .all(db)
        .await
}

/// Forgets all but the newest `keep` previous versions of `message`.
pub async fn keep_newest<C: ConnectionTrait>(
    db: &C,
    message: MessageId,
    keep: u64,
) -> Result<(), DbErr> {
    let oldest_kept = Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::MessageId.eq(message))
        .order_by_desc(Column::Id)
        .offset(keep.saturating_sub(1))
        .limit(1)
        .into_tuple::<i64>()
        .one(db)
        .await?;
    if let Some(oldest_kept) = oldest_kept {
        Entity::delete_many()
            .filter(Column::MessageId.eq(message))
            .filter(Column::Id.lt(oldest_kept))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Forgets the previous versions of `message` (on delete).
pub async fn delete_all<C: ConnectionTrait>(db: &C, message: MessageId) -> Result<(), DbErr> {
    Entity::delete_many()
        .filter(Column::MessageId.eq(message))
        .exec(db)
        .await?;
    Ok(())
}
