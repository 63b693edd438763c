//! The journal of the embedded default's in-process bus: its history in a
//! database of its own (`bus.db` in the data folder), so that positions and
//! the events behind them survive a crash of the process.

use async_trait::async_trait;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{ColumnDef, Table};
use sea_orm::{DatabaseConnection, QueryOrder, QuerySelect, Set, TransactionTrait};
use sea_orm_migration::SchemaManager;
use talk_events::BusError;
use talk_events::memory::{Entry, Journal};

/// The `bus_journal` table.
mod entity {
    use sea_orm::entity::prelude::*;

    /// One event at its position.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "bus_journal")]
    pub struct Model {
        /// The position (the WebSocket cursor).
        #[sea_orm(primary_key, auto_increment = false)]
        pub seq: i64,
        /// The event id.
        pub event_id: String,
        /// The encoded envelope.
        pub payload: Vec<u8>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A [`Journal`] in a database (SQLite in the embedded default).
pub struct DbJournal {
    db: DatabaseConnection,
}

fn unavailable(e: DbErr) -> BusError {
    BusError::Unavailable(format!("bus journal: {e}"))
}

impl DbJournal {
    /// Opens (and creates, if needed) the journal at `url`.
    pub async fn open(url: &str) -> Result<Self, DbErr> {
        let db = crate::connect(url, "bus", 1).await?;
        let manager = SchemaManager::new(&db);
        manager
            .create_table(
                Table::create()
                    .table(entity::Entity)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(entity::Column::Seq)
                            .big_integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(entity::Column::EventId).string().not_null())
                    .col(ColumnDef::new(entity::Column::Payload).blob().not_null())
                    .to_owned(),
            )
            .await?;
        Ok(Self { db })
    }
}

#[async_trait]
impl Journal for DbJournal {
    async fn load(&self, limit: usize) -> Result<Vec<Entry>, BusError> {
        let mut rows = entity::Entity::find()
            .order_by_desc(entity::Column::Seq)
            .limit(limit as u64)
            .all(&self.db)
            .await
            .map_err(unavailable)?;
        rows.reverse();
        Ok(rows
            .into_iter()
            .map(|row| Entry {
                seq: row.seq as u64,
                event_id: row.event_id,
                payload: row.payload.into(),
            })
            .collect())
    }

    async fn append(&self, entries: &[Entry], keep_from: u64) -> Result<(), BusError> {
        if entries.is_empty() {
            return Ok(());
        }
        let txn = self.db.begin().await.map_err(unavailable)?;
        let rows = entries.iter().map(|entry| entity::ActiveModel {
            seq: Set(entry.seq as i64),
            event_id: Set(entry.event_id.clone()),
            payload: Set(entry.payload.to_vec()),
        });
        entity::Entity::insert_many(rows)
            .exec(&txn)
            .await
            .map_err(unavailable)?;
        entity::Entity::delete_many()
            .filter(entity::Column::Seq.lt(keep_from as i64))
            .exec(&txn)
            .await
            .map_err(unavailable)?;
        txn.commit().await.map_err(unavailable)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;
    use futures_util::StreamExt;
    use prost::Message as _;
    use talk_events::memory::MemoryBus;
    use talk_events::{Bus, EventEnvelope, Start};

    use super::DbJournal;

    /// A bus started again on the same journal keeps its positions and
    /// events: a cursor from before the restart resumes, a re-published
    /// event keeps its position, and new events come after the old ones.
    #[tokio::test]
    async fn a_restarted_bus_goes_on_from_its_journal() {
        let dir = std::env::temp_dir().join(format!("talk-journal-{}", uuid::Uuid::new_v4()));
        let url = format!("sqlite://{}/bus.db?mode=rwc", dir.display());
        let payload = |n: u8| {
            let envelope = EventEnvelope {
                id: format!("e{n}"),
                ..Default::default()
            };
            Bytes::from(envelope.encode_to_vec())
        };
        let journal = Arc::new(DbJournal::open(&url).await.unwrap());
        let bus = MemoryBus::durable(3, journal).await.unwrap();
        for n in 1..=4u8 {
            assert_eq!(
                bus.publish("s", &format!("e{n}"), "", payload(n))
                    .await
                    .unwrap(),
                u64::from(n)
            );
        }
        drop(bus);

        let journal = Arc::new(DbJournal::open(&url).await.unwrap());
        let bus = MemoryBus::durable(3, journal).await.unwrap();
        assert_eq!(bus.last_seq().await.unwrap(), 4);
        assert_eq!(
            bus.publish("s", "e4", "", payload(4)).await.unwrap(),
            4,
            "same position"
        );
        assert_eq!(bus.publish("s", "e5", "", payload(5)).await.unwrap(), 5);
        let mut stream = bus.subscribe(Start::After(2)).await.unwrap();
        let mut seqs = Vec::new();
        for _ in 0..3 {
            seqs.push(stream.next().await.unwrap().map(|d| d.seq).ok());
        }
        assert_eq!(seqs, [Some(3), Some(4), Some(5)]);
        assert!(
            bus.subscribe(Start::After(1)).await.is_err(),
            "trimmed to the newest 3"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
