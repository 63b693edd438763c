//! The transactional outbox: events are staged in the same transaction as the
//! change and published to the bus by a relay after commit.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, Order, Query};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseTransaction, Set, TransactionTrait};
use talk_events::{Bus, EventEnvelope, Outgoing};
use talk_telemetry::metrics;
use talk_types::{ApiError, time};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::db_error;

/// The `outbox` table.
pub mod entity {
    use sea_orm::entity::prelude::*;

    /// One staged event.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "outbox")]
    pub struct Model {
        /// Commit order within the service (per talk, see [`super::Outbox::stage`]).
        #[sea_orm(primary_key)]
        pub id: i64,
        /// The event's id, the bus's de-duplication key.
        pub event_id: String,
        /// Subject to publish on.
        pub subject: String,
        /// W3C trace context of the request.
        pub traceparent: String,
        /// The encoded envelope.
        pub payload: Vec<u8>,
        /// When it was staged.
        pub created_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// SQL (PostgreSQL) that stages the rows of [`Outbox::rows_json`], bound as
/// parameter `$param`, in their order — for each row of `guard` (a table or
/// CTE name: one row to write them, none to write nothing).
pub fn insert_from_json(param: usize, guard: &str) -> String {
    format!(
        "INSERT INTO outbox (event_id, subject, traceparent, payload, created_at) \
         SELECT e.event_id, e.subject, e.traceparent, decode(e.payload, 'hex'), now() \
         FROM {guard}, jsonb_array_elements(${param}::jsonb) WITH ORDINALITY AS x(v, n), \
           jsonb_to_record(x.v) AS e(event_id text, subject text, traceparent text, payload text) \
         ORDER BY x.n"
    )
}

const BATCH: u64 = 512;
/// Rows the relay deletes between its own `VACUUM`s of the table.
const VACUUM_EVERY: u64 = 2048;

/// Why the relay could not publish (it retries with back-off).
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The outbox could not be read or updated.
    #[error("outbox: {0}")]
    Database(#[from] DbErr),
    /// The bus refused or did not acknowledge an event.
    #[error("bus: {0}")]
    Bus(#[from] talk_events::BusError),
}

/// Stages events and relays them to the bus.
#[derive(Clone)]
pub struct Outbox {
    db: DatabaseConnection,
    bus: Arc<dyn Bus>,
    prefix: String,
    service: &'static str,
    wake: Arc<Notify>,
    publish_delay: Duration,
}

impl Outbox {
    /// An outbox of `service` in `db`, relaying to `bus` under `prefix`.
    pub fn new(
        db: DatabaseConnection,
        bus: Arc<dyn Bus>,
        prefix: String,
        service: &'static str,
    ) -> Self {
        Self {
            db,
            bus,
            prefix,
            service,
            wake: Arc::new(Notify::new()),
            publish_delay: Duration::ZERO,
        }
    }

    /// Holds every batch taken this long before publishing it (fault
    /// injection for tests: `TALK_OUTBOX_PUBLISH_DELAY_MS`).
    #[must_use]
    pub fn with_publish_delay(mut self, delay: Duration) -> Self {
        self.publish_delay = delay;
        self
    }

    /// Stages events inside the caller's transaction. Call it after taking the
    /// row lock of the talk the events belong to, so the outbox ids of one talk
    /// are in commit order.
    pub async fn stage<C: ConnectionTrait>(
        &self,
        txn: &C,
        envelopes: Vec<EventEnvelope>,
    ) -> Result<(), ApiError> {
        if envelopes.is_empty() {
            return Ok(());
        }
        let now = time::now();
        let rows = envelopes.iter().map(|envelope| entity::ActiveModel {
            event_id: Set(envelope.id.clone()),
            subject: Set(self.subject(envelope)),
            traceparent: Set(envelope.traceparent.clone()),
            payload: Set(talk_events::kinds::encode(envelope)),
            created_at: Set(now),
            ..Default::default()
        });
        entity::Entity::insert_many(rows)
            .exec(txn)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    /// The subject `envelope` is published on.
    fn subject(&self, envelope: &EventEnvelope) -> String {
        talk_events::kinds::subject(&self.prefix, envelope)
    }

    /// Outbox rows for a service's own statement (they go in commit order
    /// like [`Outbox::stage`]'s, after the talk's row lock): a JSON array to
    /// bind as the parameter that [`insert_from_json`] names.
    pub fn rows_json(&self, envelopes: &[EventEnvelope]) -> serde_json::Value {
        envelopes
            .iter()
            .map(|envelope| {
                serde_json::json!({
                    "event_id": envelope.id,
                    "subject": self.subject(envelope),
                    "traceparent": envelope.traceparent,
                    "payload": hex::encode(talk_events::kinds::encode(envelope)),
                })
            })
            .collect()
    }

    /// Wakes the relay; call after commit.
    pub fn notify(&self) {
        self.wake.notify_one();
    }

    /// Relays until `shutdown`, publishing whatever is staged, in order.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut backoff = Duration::from_millis(50);
        let mut taken = 0;
        loop {
            match self.drain().await {
                Ok(n) => {
                    backoff = Duration::from_millis(50);
                    taken += n;
                    if taken >= VACUUM_EVERY {
                        self.vacuum().await;
                        taken = 0;
                    }
                }
                Err(e) => {
                    tracing::warn!(service = self.service, error = %e, "outbox relay failed; retrying");
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    continue;
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => {
                    // One last drain so a clean stop leaves nothing behind.
                    let _ = self.drain().await;
                    return;
                }
                () = self.wake.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// The outbox is a queue: every row is inserted once and deleted soon
    /// after, and the relay reads it from the oldest id, so the dead rows at
    /// the head of its index are what each take walks through until a vacuum
    /// removes them. Autovacuum wakes once a minute at best (and may be off),
    /// which at a few hundred events a second made every take slower by the
    /// minute; the relay vacuums the table itself after every
    /// [`VACUUM_EVERY`] rows instead (PostgreSQL only; a vacuum that autovacuum
    /// is already doing is skipped, one the role may not do only warns).
    async fn vacuum(&self) {
        if self.db.get_database_backend() != DatabaseBackend::Postgres {
            return;
        }
        if let Err(e) = self
            .db
            .execute_unprepared("VACUUM (SKIP_LOCKED) outbox")
            .await
        {
            tracing::warn!(service = self.service, error = %e, "outbox vacuum failed");
        }
    }

    /// Publishes every staged event and returns how many; Err leaves the
    /// unpublished rest staged.
    pub async fn drain(&self) -> Result<u64, RelayError> {
        let mut total = 0;
        loop {
            let txn = self.db.begin().await?;
            let mut rows = self.take(&txn).await?;
            rows.sort_unstable_by_key(|r| r.id);
            self.observe(&rows);
            if rows.is_empty() {
                return Ok(total);
            }
            let full = rows.len() as u64 == BATCH;
            if !self.publish_delay.is_zero() {
                tokio::time::sleep(self.publish_delay).await;
            }
            let batch = rows
                .iter()
                .map(|r| Outgoing {
                    subject: r.subject.clone(),
                    event_id: r.event_id.clone(),
                    traceparent: r.traceparent.clone(),
                    payload: Bytes::copy_from_slice(&r.payload),
                })
                .collect();
            let (published, failure) = match self.bus.publish_batch(batch).await {
                Ok(()) => (rows.len(), None),
                Err((done, e)) => (done, Some(e)),
            };
            for row in &rows[..published] {
                let kind = row.subject.rsplit('.').next().unwrap_or_default();
                metrics::EVENTS_PUBLISHED.with_label_values(&[kind]).inc();
            }
            if let Some(e) = failure {
                // Undo the take: the rows are back as they were (not
                // re-inserted, which a relay whose statement snapshot predates
                // this commit would not see, and so overtake). Then forget the
                // published prefix; a relay that takes it first publishes it
                // again, which the bus de-duplicates by event id.
                txn.rollback().await?;
                if published > 0 {
                    let ids = rows[..published].iter().map(|r| r.id);
                    entity::Entity::delete_many()
                        .filter(entity::Column::Id.is_in(ids))
                        .exec(&self.db)
                        .await?;
                }
                return Err(RelayError::Bus(e));
            }
            txn.commit().await?;
            total += rows.len() as u64;
            if !full {
                return Ok(total);
            }
        }
    }

    /// Deletes and returns the oldest staged rows (at most [`BATCH`]) in `txn`,
    /// which commits only what the bus acknowledged. On PostgreSQL nothing is
    /// taken unless `txn` gets the schema's relay lock: one relay per service
    /// schema at a time keeps publication in id order.
    async fn take(&self, txn: &DatabaseTransaction) -> Result<Vec<entity::Model>, DbErr> {
        let oldest = Query::select()
            .column(entity::Column::Id)
            .from(entity::Entity)
            .order_by(entity::Column::Id, Order::Asc)
            .limit(BATCH)
            .to_owned();
        let mut take = entity::Entity::delete_many().filter(entity::Column::Id.in_subquery(oldest));
        if txn.get_database_backend() == DatabaseBackend::Postgres {
            // An uncorrelated subquery runs once, before any row is deleted, so
            // the statement takes all or nothing. Its snapshot may predate the
            // lock: rows that the previous holder deleted meanwhile are skipped
            // (a read-committed DELETE passes over rows deleted concurrently).
            take = take.filter(Expr::cust(
                "(SELECT pg_try_advisory_xact_lock(hashtext(current_schema() || '.outbox')))",
            ));
        }
        take.exec_with_returning(txn).await
    }

    fn observe(&self, rows: &[entity::Model]) {
        metrics::OUTBOX_BACKLOG
            .with_label_values(&[self.service])
            .set(rows.len() as i64);
        let age = rows
            .first()
            .map_or(0, |r| (time::now() - r.created_at).num_milliseconds());
        metrics::OUTBOX_AGE_MS
            .with_label_values(&[self.service])
            .set(age);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use sea_orm::{ConnectionTrait, DatabaseBackend, Statement, TransactionTrait};
    use sea_orm_migration::{MigrationTrait, SchemaManager};
    use talk_events::kinds::{MessageCreated, envelope};
    use talk_events::memory::MemoryBus;
    use talk_types::{CustomerId, TalkId};
    use tokio_util::sync::CancellationToken;

    use super::{Outbox, VACUUM_EVERY};
    use crate::connect;
    use crate::migration::CreateOutbox;

    async fn vacuums(db: &sea_orm::DatabaseConnection) -> i64 {
        let row = db
            .query_one_raw(Statement::from_string(
                DatabaseBackend::Postgres,
                "SELECT vacuum_count FROM pg_stat_user_tables \
                 WHERE schemaname = current_schema() AND relname = 'outbox'",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "vacuum_count").unwrap()
    }

    /// The relay vacuums the queue it empties (autovacuum may be off, and
    /// wakes once a minute at best), so dead rows do not pile up at the head
    /// of the index every take starts from.
    #[tokio::test]
    async fn the_relay_vacuums_the_outbox_it_empties() {
        let url = talk_testkit::test_database_url();
        let schema = talk_testkit::fresh_schema_name("talk_store_outbox");
        let db = connect::connect(&url, &schema, 2).await.unwrap();
        CreateOutbox.up(&SchemaManager::new(&db)).await.unwrap();
        let relay = connect::relay(&url, &schema, &db).await.unwrap();
        let bus = Arc::new(MemoryBus::new(10_000));
        let outbox = Outbox::new(relay, bus.clone(), "vacuum".into(), "talk-store");
        let events = (0..VACUUM_EVERY + 10)
            .map(|_| {
                let event = MessageCreated(Default::default());
                envelope(event, CustomerId::new(), TalkId::new(), String::new())
            })
            .collect();
        let txn = db.begin().await.unwrap();
        outbox.stage(&txn, events).await.unwrap();
        txn.commit().await.unwrap();
        let before = vacuums(&db).await;

        let shutdown = CancellationToken::new();
        let relaying = tokio::spawn(outbox.clone().run(shutdown.clone()));
        outbox.notify();
        let mut after = before;
        for _ in 0..100 {
            after = vacuums(&db).await;
            if after > before {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        shutdown.cancel();
        relaying.await.unwrap();
        assert!(
            after > before,
            "no vacuum after {VACUUM_EVERY}+ rows relayed"
        );
        let left = db
            .query_one_raw(Statement::from_string(
                DatabaseBackend::Postgres,
                "SELECT count(*) AS n FROM outbox",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get::<i64>("", "n")
            .unwrap();
        assert_eq!(left, 0);
        db.execute_unprepared(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
            .await
            .unwrap();
    }
}
