//! Queries of the bus consumer: consumed events (its cursor is
//! `talk_store::cursors`).

use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Set};
use talk_types::time;

use crate::db::entities::consumer::consumed_event;

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
