//! Queries on `consumer_cursors`.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Set};

use crate::db::entities::consumer_cursor::{ActiveModel, Column, Entity};

/// The saved position of consumer `name`.
pub async fn find<C: ConnectionTrait>(conn: &C, name: &str) -> Result<Option<u64>, DbErr> {
    Ok(Entity::find_by_id(name.to_owned())
        .one(conn)
        .await?
        .and_then(|row| u64::try_from(row.seq).ok()))
}

/// Saves the position of consumer `name`.
pub async fn save<C: ConnectionTrait>(conn: &C, name: &str, seq: u64) -> Result<(), DbErr> {
    let row = ActiveModel {
        name: Set(name.to_owned()),
        seq: Set(i64::try_from(seq).unwrap_or(i64::MAX)),
    };
    Entity::insert(row)
        .on_conflict(
            OnConflict::column(Column::Name)
                .update_column(Column::Seq)
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(())
}
