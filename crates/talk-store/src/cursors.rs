//! `consumer_cursors`: where each bus consumer of a service resumes (the
//! position of the last event it applied), saved in the transaction that
//! applied it. One table per service schema, one row per consumer.

use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{ColumnDef, OnConflict, Table, TableCreateStatement};
use sea_orm::{ConnectionTrait, Set};
use talk_events::{Bus, BusError, EventStream, Start};

mod entity {
    use sea_orm::entity::prelude::*;

    /// One consumer's position.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "consumer_cursors")]
    pub struct Model {
        /// The consumer's name.
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        /// Bus position of the last event applied.
        pub seq: i64,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The table, for a service's migration.
pub fn table() -> TableCreateStatement {
    Table::create()
        .table("consumer_cursors")
        .if_not_exists()
        .col(
            ColumnDef::new("name")
                .string_len(64)
                .not_null()
                .primary_key(),
        )
        .col(ColumnDef::new("seq").big_integer().not_null())
        .to_owned()
}

/// The saved position of consumer `name`.
pub async fn find<C: ConnectionTrait>(conn: &C, name: &str) -> Result<Option<u64>, DbErr> {
    Ok(entity::Entity::find_by_id(name.to_owned())
        .one(conn)
        .await?
        .and_then(|row| u64::try_from(row.seq).ok()))
}

/// Saves the position of consumer `name`.
pub async fn save<C: ConnectionTrait>(conn: &C, name: &str, seq: u64) -> Result<(), DbErr> {
    let row = entity::ActiveModel {
        name: Set(name.to_owned()),
        seq: Set(i64::try_from(seq).unwrap_or(i64::MAX)),
    };
    entity::Entity::insert(row)
        .on_conflict(
            OnConflict::column(entity::Column::Name)
                .update_column(entity::Column::Seq)
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Where a consumer starts again when its cursor is older than the bus keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expired {
    /// After the newest event: what it missed no longer matters.
    Newest,
    /// At the oldest event the bus still holds: as much as is left.
    Oldest,
}

/// Subscribes consumer `name` after its saved cursor; the first time after
/// the bus's newest event. A cursor the bus no longer keeps starts again as
/// `expired` says (the events in between are skipped, with a warning). A
/// new start is saved at once. Answers the stream and where it starts.
pub async fn subscribe<C: ConnectionTrait>(
    db: &C,
    bus: &dyn Bus,
    name: &str,
    expired: Expired,
) -> Result<(EventStream, u64), BusError> {
    let start = match find(db, name).await.map_err(unavailable)? {
        Some(seq) => seq,
        None => restart(db, name, bus.last_seq().await?).await?,
    };
    match bus.subscribe(Start::After(start)).await {
        Err(BusError::CursorExpired { cursor, first }) => {
            tracing::warn!(
                consumer = name,
                cursor,
                first,
                "consumer cursor older than the bus keeps; the events in between are skipped"
            );
            let start = match expired {
                Expired::Newest => bus.last_seq().await?,
                Expired::Oldest => first.saturating_sub(1),
            };
            let start = restart(db, name, start).await?;
            Ok((bus.subscribe(Start::After(start)).await?, start))
        }
        other => Ok((other?, start)),
    }
}

/// Saves `start` as consumer `name`'s cursor and answers it.
async fn restart<C: ConnectionTrait>(db: &C, name: &str, start: u64) -> Result<u64, BusError> {
    save(db, name, start).await.map_err(unavailable)?;
    Ok(start)
}

fn unavailable(e: DbErr) -> BusError {
    BusError::Unavailable(format!("consumer cursor: {e}"))
}
