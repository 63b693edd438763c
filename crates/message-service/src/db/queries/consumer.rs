//! Queries of the bus consumer: consumed events and cursors.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Set};
use talk_types::time;

use crate::db::entities::consumer::{consumed_event, consumer_cursor};

/// Records `event_id` as consumed; false when it already was.
pub async fn claim_event<C: ConnectionTrait>(db: &C, event_id: &str) -> Result<bool, DbErr> {
    let row = consumed_event::ActiveModel {
        event_id: Set(event_id.to_owned()),
        tm_consumed: Set(time::now()),
    };
    let inserted = consumed_event::Entity::insert(row)
        .on_conflict_do_nothing()
        .exec_without_returning(db)
        .await?;
    Ok(matches!(inserted, sea_orm::TryInsertResult::Inserted(n) if n > 0))
}

/// The saved position of consumer `name`.
pub async fn cursor<C: ConnectionTrait>(db: &C, name: &str) -> Result<Option<u64>, DbErr> {
    Ok(consumer_cursor::Entity::find_by_id(name.to_owned())
        .one(db)
        .await?
        .and_then(|row| u64::try_from(row.seq).ok()))
}

/// Saves the position of consumer `name`.
pub async fn save_cursor<C: ConnectionTrait>(db: &C, name: &str, seq: u64) -> Result<(), DbErr> {
    let row = consumer_cursor::ActiveModel {
        name: Set(name.to_owned()),
        seq: Set(i64::try_from(seq).unwrap_or(i64::MAX)),
    };
    consumer_cursor::Entity::insert(row)
        .on_conflict(
            OnConflict::column(consumer_cursor::Column::Name)
                .update_column(consumer_cursor::Column::Seq)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}
