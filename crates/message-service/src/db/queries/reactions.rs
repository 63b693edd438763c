//! Queries on `reactions`. Callers check the message's customer first.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use talk_types::{AgentId, MessageId, time::Timestamp};

use crate::db::entities::reaction::{ActiveModel, Column, Entity, Model};

/// The reactions on `messages`, in insertion order.
pub async fn for_messages<C: ConnectionTrait>(
    db: &C,
    messages: &[MessageId],
) -> Result<Vec<Model>, DbErr> {
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    Entity::find()
        .filter(Column::MessageId.is_in(messages.iter().copied()))
        .order_by_asc(Column::Id)
        .all(db)
        .await
}

/// Whether `owner` already reacted to `message` with `emoji`.
pub async fn exists<C: ConnectionTrait>(
    db: &C,
    message: MessageId,
    owner: AgentId,
    emoji: &str,
) -> Result<bool, DbErr> {
    Ok(Entity::find()
        .filter(Column::MessageId.eq(message))
        .filter(Column::OwnerId.eq(owner))
        .filter(Column::Emoji.eq(emoji))
        .count(db)
        .await?
        > 0)
}

/// Whether `emoji` is already on `message` (by anyone), and how many distinct emoji it has.
pub async fn distinct_emoji<C: ConnectionTrait>(
    db: &C,
    message: MessageId,
) -> Result<Vec<String>, DbErr> {
    Entity::find()
        .select_only()
        .column(Column::Emoji)
        .distinct()
        .filter(Column::MessageId.eq(message))
        .into_tuple::<String>()
        .all(db)
        .await
}

/// Adds a reaction; false when it was already there.
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    message: MessageId,
    owner: AgentId,
    emoji: &str,
    at: Timestamp,
) -> Result<bool, DbErr> {
    let row = ActiveModel {
        message_id: Set(message),
        owner_id: Set(owner),
        emoji: Set(emoji.to_owned()),
        tm_create: Set(at),
        ..Default::default()
    };
    let inserted = Entity::insert(row)
        .on_conflict_do_nothing_on([Column::MessageId, Column::OwnerId, Column::Emoji])
        .exec_without_returning(db)
        .await?;
    Ok(matches!(inserted, sea_orm::TryInsertResult::Inserted(n) if n > 0))
}

/// Removes a reaction; false when there was none.
pub async fn delete<C: ConnectionTrait>(
    db: &C,
    message: MessageId,
    owner: AgentId,
    emoji: &str,
) -> Result<bool, DbErr> {
    let deleted = Entity::delete_many()
        .filter(Column::MessageId.eq(message))
        .filter(Column::OwnerId.eq(owner))
        .filter(Column::Emoji.eq(emoji))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected > 0)
}
